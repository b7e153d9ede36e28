// Command nethttpd is the net/http baseline of the benchmark: http.FileServer
// over the document root with the standard library's defaults (sendfile for
// large bodies), no logging.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18107", "address to listen on")
	root := flag.String("root", ".", "document root")
	flag.Parse()

	s := &http.Server{
		Addr:    *listen,
		Handler: http.FileServer(http.Dir(*root)),
	}
	log.Fatal(s.ListenAndServe())
}
