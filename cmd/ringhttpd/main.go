// Command ringhttpd is a static-file and HTTP/1.1 server for Linux driven by
// io_uring, with an epoll fallback.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args, os.Stdout, os.Stderr))
}
