//go:build !linux

package files

// mapping exists only on Linux (map_linux.go), where files serves.
type mapping struct{}

func (e *entry) unmap() {}
