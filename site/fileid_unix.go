//go:build unix

package site

import (
	"os"
	"syscall"
)

// fileID returns the device and inode of st: a root directory replaced at
// the same path (a deploy's rename) is a new directory.
func fileID(st os.FileInfo) (dev, ino uint64) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return uint64(sys.Dev), uint64(sys.Ino)
	}
	return 0, 0
}
