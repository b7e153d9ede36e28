// Command fasthttpd is the fasthttp baseline of the benchmark: a static-file
// server built on fasthttp.FS with its defaults (in-memory cache of small files,
// sendfile for large ones), no compression, no logging.
package main

import (
	"flag"
	"log"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18106", "address to listen on")
	root := flag.String("root", ".", "document root")
	flag.Parse()

	fs := &fasthttp.FS{
		Root:               *root,
		IndexNames:         []string{"index.html"},
		GenerateIndexPages: false,
		Compress:           false,
		AcceptByteRange:    true,
	}
	s := &fasthttp.Server{
		Handler:                       fs.NewRequestHandler(),
		Name:                          "fasthttpd",
		NoDefaultDate:                 false,
		DisableHeaderNamesNormalizing: false,
		Concurrency:                   1 << 20,
	}
	log.Fatal(s.ListenAndServe(*listen))
}
