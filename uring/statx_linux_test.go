package uring

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestStatx(t *testing.T) {
	r := newTestRing(t, 8, nil)
	requireOps(t, r, OpStatx)
	content := []byte("twelve bytes")
	path, fd := tempFile(t, content)
	fi, err := os.Stat(path)
	must(t, err)
	tests := []struct {
		name  string
		dfd   int
		path  string
		flags int
		errno unix.Errno
	}{
		{"by-path", unix.AT_FDCWD, path, 0, 0},
		{"by-fd", fd, "", unix.AT_EMPTY_PATH, 0},
		{"missing", unix.AT_FDCWD, path + ".missing", 0, unix.ENOENT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := new(unix.Statx_t) // heap, reachable until the CQE
			p := append([]byte(tt.path), 0)
			s := mustSQE(t, r)
			s.PrepStatx(tt.dfd, p, tt.flags, unix.STATX_SIZE|unix.STATX_MTIME|unix.STATX_INO, st)
			c := reap(t, r, 1)[0]
			runtime.KeepAlive(p)
			if tt.errno != 0 {
				if c.Res != -int32(tt.errno) {
					t.Fatalf("res %d, want -%v", c.Res, tt.errno)
				}
				return
			}
			if c.Res != 0 {
				t.Fatalf("statx: %v", unix.Errno(-c.Res))
			}
			if st.Size != uint64(len(content)) || st.Mask&unix.STATX_SIZE == 0 {
				t.Errorf("size %d (mask %#x), want %d", st.Size, st.Mask, len(content))
			}
			if st.Mtime.Sec != fi.ModTime().Unix() {
				t.Errorf("mtime %d, want %d", st.Mtime.Sec, fi.ModTime().Unix())
			}
			runtime.KeepAlive(st)
		})
	}
}
