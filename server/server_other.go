//go:build !linux

package server

import (
	"errors"
	"fmt"
	"net"
	"runtime"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// errNotLinux is returned by Start on platforms without epoll or io_uring.
var errNotLinux = fmt.Errorf("server: engines need Linux: %w", errors.ErrUnsupported)

func parseListen(s string) (struct{}, error) {
	if _, _, err := net.SplitHostPort(s); err != nil {
		return struct{}{}, fmt.Errorf("%w: listen address %q: %v", ErrBadConfig, s, err)
	}
	return struct{}{}, nil
}

func listenAll(addrs []string, workers int) ([][]int, []net.Addr, error) {
	return nil, nil, errNotLinux
}

func closeListeners(fds []int) {}
func closeFd(fd int)           {}
func pinThread(id int) error   { return errNotLinux }
func numCPU() int              { return runtime.NumCPU() }

func runOp(op *httpcore.Op) { op.Res = -38 } // ENOSYS
