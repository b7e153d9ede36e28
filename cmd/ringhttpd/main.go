// Command ringhttpd is a static-file and HTTP/1.1 server for Linux driven by
// io_uring, with an epoll fallback.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "ringhttpd: not built yet")
	os.Exit(2)
}
