// Command ringlibd is ringhttpd used as a Go library in the benchmark:
// server.New with the dynamic handler of internal/dyn (a constant 13-byte
// text answer and a small JSON answer encoded per request) in front of a
// files.Handler for everything else, the way an application puts its routes
// beside static files. fasthttpd and nethttpd serve the same routes.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/ringhttpd/ringhttpd/bench/internal/dyn"
	"github.com/ringhttpd/ringhttpd/files"
	"github.com/ringhttpd/ringhttpd/httpcore"
	"github.com/ringhttpd/ringhttpd/server"
)

var text = []byte(dyn.Text)

// app answers the dynamic routes and hands everything else to static.
type app struct{ static httpcore.Handler }

func (a app) Serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	switch string(req.Path) {
	case dyn.TextPath:
		resp.Reply(200, dyn.TextType, text)
		return nil
	case dyn.JSONPath:
		// A fresh slice: the engine sends Body by reference, after Serve
		// has returned.
		resp.Reply(200, dyn.JSONType, dyn.AppendJSON(make([]byte, 0, 32)))
		return nil
	}
	return a.static.Serve(req, resp)
}

// ForWorker gives every worker the files handler's per-worker cache.
func (a app) ForWorker(id int) httpcore.Handler {
	return app{static: a.static.(httpcore.PerWorker).ForWorker(id)}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:18110", "address to listen on")
	root := flag.String("root", ".", "document root")
	backend := flag.String("backend", server.BackendAuto, "engine: auto, uring or epoll")
	workers := flag.Int("workers", 0, "event loops (0: one per CPU)")
	maxConns := flag.Int("max-conns", 20000, "connections per worker")
	flag.Parse()

	fh, err := files.New(files.Config{Root: *root})
	if err != nil {
		log.Fatal(err)
	}
	defer fh.Close()
	s, err := server.New(server.Config{
		Listen:            []string{*listen},
		Backend:           *backend,
		Workers:           *workers,
		MaxConnsPerWorker: *maxConns,
	}, app{static: fh})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Start(); err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	if err := s.Shutdown(context.Background()); err != nil {
		log.Print(err)
	}
}
