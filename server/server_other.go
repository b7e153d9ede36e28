//go:build !linux

package server

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"time"

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

// Inherited returns nothing: socket activation is Linux-only here.
func Inherited() ([]InheritedSocket, error) { return nil, nil }

func (s *Server) bind() ([][]int, [][]bool, []net.Addr, []bool, error) {
	return nil, nil, nil, nil, errNotLinux
}

// Notify does nothing off Linux.
func Notify(string) error { return nil }

// NotifyReloading does nothing off Linux.
func NotifyReloading() error { return nil }

// WatchdogInterval reports no watchdog off Linux.
func WatchdogInterval() (time.Duration, bool) { return 0, false }

// LookupCredentials is Linux-only here.
func LookupCredentials(userName, groupName string) (Credentials, error) {
	return Credentials{}, errNotLinux
}

// DropPrivileges is Linux-only here.
func DropPrivileges(Credentials) error { return errNotLinux }

// Upgrade is Linux-only here.
func (s *Server) Upgrade(UpgradeConfig) (int, error) {
	return 0, fmt.Errorf("%w: %w", ErrUpgrade, errNotLinux)
}

// UpgradeReady does nothing off Linux.
func UpgradeReady() error { return nil }

// CheckUringRings reports that io_uring is Linux-only.
func CheckUringRings(int) error { return errNotLinux }
