package server

import (
	"errors"
	"net"
	"os"
	"time"
)

// The process-level operations' types, on every platform (the operations
// themselves are Linux-only: activation_linux.go, upgrade_linux.go,
// privdrop_linux.go, notify_linux.go; server_other.go has their stubs).

// Listener names in LISTEN_FDNAMES (FileDescriptorName= in a socket unit).
const (
	ListenerHTTP    = "http"
	ListenerHTTPS   = "https"
	ListenerMetrics = "metrics"
)

// InheritedSocket is a listening socket this process was started with.
type InheritedSocket struct {
	Fd   int
	Name string // its LISTEN_FDNAMES entry; "" when none was given
	Addr net.Addr
}

// Credentials are the ids a process switches to with DropPrivileges.
type Credentials struct {
	UID, GID int
	Groups   []int // supplementary groups
	Name     string
}

// NamedFile is an extra listening socket to hand to the new process (the
// metrics listener).
type NamedFile struct {
	Name string
	File *os.File
}

// UpgradeConfig says how to start the new process.
type UpgradeConfig struct {
	// Path is the binary; Args its arguments, Args[0] included; Env the
	// environment (LISTEN_* and the upgrade variables are replaced).
	Path string
	Args []string
	Env  []string
	// Extra sockets are passed after the server's listeners.
	Extra []NamedFile
	// Timeout bounds the wait for the new process to be ready.
	Timeout time.Duration
}

// ErrUpgrade is wrapped by every error of Upgrade.
var ErrUpgrade = errors.New("server: upgrade failed")
