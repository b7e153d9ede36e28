//go:build !unix

package site

import "os"

// fileID returns zeros where there are no inodes: a reload then keeps a
// files handler whose root path and options are unchanged.
func fileID(st os.FileInfo) (dev, ino uint64) { return 0, 0 }
