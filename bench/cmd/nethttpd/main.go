// Command nethttpd is the net/http baseline of the benchmark: http.FileServer
// over the document root with the standard library's defaults (sendfile for
// large bodies), no logging; in front of it, the dynamic routes of
// internal/dyn, as ringlibd and fasthttpd serve them.
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"

	"github.com/ringhttpd/ringhttpd/bench/internal/dyn"
)

// Header values set by map assignment (no canonicalization, no allocation).
var (
	textType = []string{dyn.TextType}
	jsonType = []string{dyn.JSONType}
	textLen  = []string{strconv.Itoa(len(dyn.Text))}
	text     = []byte(dyn.Text)
)

// app answers the dynamic routes and hands everything else to static.
type app struct{ static http.Handler }

func (a app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case dyn.TextPath:
		h := w.Header()
		h["Content-Type"] = textType
		h["Content-Length"] = textLen
		w.Write(text)
	case dyn.JSONPath:
		var a [64]byte
		b := dyn.AppendJSON(a[:0])
		h := w.Header()
		h["Content-Type"] = jsonType
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
		w.Write(b)
	default:
		a.static.ServeHTTP(w, r)
	}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:18107", "address to listen on")
	root := flag.String("root", ".", "document root")
	flag.Parse()

	s := &http.Server{
		Addr:    *listen,
		Handler: app{static: http.FileServer(http.Dir(*root))},
	}
	log.Fatal(s.ListenAndServe())
}
