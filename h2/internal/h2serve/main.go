// Command h2serve serves h2c (prior knowledge) on a loopback port with the
// package h2 state machine and a trivial handler, for h2spec, h2load and
// curl. It is a test driver, not the server.
//
//	go run ./h2/internal/h2serve -addr 127.0.0.1:8443
//	h2spec --strict -h 127.0.0.1 -p 8443
package main

import (
	"flag"
	"log"
	"net"

	"github.com/ringhttpd/ringhttpd/h2"
	"github.com/ringhttpd/ringhttpd/h2/internal/loopback"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8443", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("h2serve: h2c on %s", ln.Addr())
	log.Fatal(loopback.Serve(ln, &h2.Config{}, loopback.Handler(nil)))
}
