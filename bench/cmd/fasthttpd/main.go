// Command fasthttpd is the fasthttp baseline of the benchmark: a static-file
// server built on fasthttp.FS with its defaults (in-memory cache of small files,
// sendfile for large ones), no compression, no logging; in front of it, the
// dynamic routes of internal/dyn, as ringlibd and nethttpd serve them.
package main

import (
	"flag"
	"log"

	"github.com/ringhttpd/ringhttpd/bench/internal/dyn"
	"github.com/valyala/fasthttp"
)

// handler answers the dynamic routes and hands everything else to static.
func handler(static fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case dyn.TextPath:
			ctx.SetContentType(dyn.TextType)
			ctx.SetBodyString(dyn.Text)
		case dyn.JSONPath:
			var a [64]byte
			ctx.SetContentType(dyn.JSONType)
			ctx.SetBody(dyn.AppendJSON(a[:0])) // copied into the pooled response
		default:
			static(ctx)
		}
	}
}

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
		Handler:                       handler(fs.NewRequestHandler()),
		Name:                          "fasthttpd",
		NoDefaultDate:                 false,
		DisableHeaderNamesNormalizing: false,
		Concurrency:                   1 << 20,
	}
	log.Fatal(s.ListenAndServe(*listen))
}
