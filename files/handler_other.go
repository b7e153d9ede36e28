//go:build !linux

package files

import (
	"errors"
	"fmt"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// Handler serves the files under one root directory; it needs Linux
// (openat2).
type Handler struct{}

// New returns an error wrapping errors.ErrUnsupported off Linux.
func New(cfg Config) (*Handler, error) {
	return nil, fmt.Errorf("files: openat2 root confinement needs Linux: %w", errors.ErrUnsupported)
}

// ForWorker returns h.
func (h *Handler) ForWorker(id int) httpcore.Handler { return h }

// Serve answers 500.
func (h *Handler) Serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	writeError(resp, 500)
	return nil
}

// Close does nothing.
func (h *Handler) Close() error { return nil }
