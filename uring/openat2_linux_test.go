package uring

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

func TestOpenat2ResolveBeneath(t *testing.T) {
	r := newTestRing(t, 8, nil)
	requireOps(t, r, OpOpenat2, OpRead)
	top := t.TempDir()
	root := filepath.Join(top, "root")
	must(t, os.MkdirAll(filepath.Join(root, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(top, "secret"), []byte("outside"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "sub", "in.txt"), []byte("inside"), 0o644))
	must(t, os.Symlink("../secret", filepath.Join(root, "escape")))
	must(t, os.Symlink("sub/in.txt", filepath.Join(root, "alias")))
	must(t, os.Symlink("/proc/self/root/etc/hostname", filepath.Join(root, "abs")))
	dfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(dfd)

	tests := []struct {
		path    string
		resolve uint64
		want    string     // file content when the open succeeds
		errno   unix.Errno // expected failure
	}{
		{"sub/in.txt", unix.RESOLVE_BENEATH, "inside", 0},
		{"alias", unix.RESOLVE_BENEATH, "inside", 0},
		{"sub/../sub/in.txt", unix.RESOLVE_BENEATH, "inside", 0},
		{"../secret", unix.RESOLVE_BENEATH, "", unix.EXDEV},
		{"sub/../../secret", unix.RESOLVE_BENEATH, "", unix.EXDEV},
		{"escape", unix.RESOLVE_BENEATH, "", unix.EXDEV},
		{"abs", unix.RESOLVE_BENEATH, "", unix.EXDEV},
		{top + "/secret", unix.RESOLVE_BENEATH, "", unix.EXDEV},
		{"missing", unix.RESOLVE_BENEATH, "", unix.ENOENT},
		{"../secret", 0, "outside", 0}, // the flag, not the path, is what refuses
	}
	mem := mapped(t, 64)
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			path := append([]byte(tt.path), 0)
			how := &OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: tt.resolve}
			s := mustSQE(t, r)
			s.PrepOpenat2(dfd, path, how)
			s.SetData(1)
			c := reap(t, r, 1)[0]
			runtime.KeepAlive(path)
			runtime.KeepAlive(how)
			if tt.errno != 0 {
				if c.Res >= 0 {
					unix.Close(int(c.Res))
				}
				if c.Res != -int32(tt.errno) {
					t.Fatalf("openat2(%q) res %d, want -%v", tt.path, c.Res, tt.errno)
				}
				return
			}
			if c.Res < 0 {
				t.Fatalf("openat2(%q): %v", tt.path, unix.Errno(-c.Res))
			}
			fd := int(c.Res)
			defer unix.Close(fd)
			s = mustSQE(t, r)
			s.PrepRead(fd, mem, 0)
			if c := reap(t, r, 1)[0]; string(mem[:max(c.Res, 0)]) != tt.want {
				t.Fatalf("read %q (res %d), want %q", mem[:max(c.Res, 0)], c.Res, tt.want)
			}
		})
	}
}

func TestOpenat2Direct(t *testing.T) {
	requireKernel(t, 5, 19, "OPENAT2 into an allocated direct descriptor")
	r := newTestRing(t, 8, nil)
	requireOps(t, r, OpOpenat2, OpRead, OpClose)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "f"), []byte("direct"), 0o644))
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	must(t, err)
	defer unix.Close(dfd)
	must(t, r.RegisterFilesSparse(4))
	path := []byte("f\x00")
	how := &OpenHow{Flags: unix.O_RDONLY, Resolve: unix.RESOLVE_BENEATH}
	s := mustSQE(t, r)
	s.PrepOpenat2Direct(dfd, path, how, FileIndexAlloc)
	c := reap(t, r, 1)[0]
	if c.Res < 0 || c.Res >= 4 {
		t.Fatalf("direct open: %+v", c)
	}
	slot := c.Res
	mem := mapped(t, 64)
	s = mustSQE(t, r)
	s.PrepRead(int(slot), mem[:6], 0) // exact: a short read would break the link
	s.SetFlags(SQEFixedFile | SQEIOLink)
	s = mustSQE(t, r)
	s.PrepCloseDirect(uint32(slot))
	cqes := reap(t, r, 2)
	if cqes[0].Res != 6 || string(mem[:6]) != "direct" || cqes[1].Res != 0 {
		t.Fatalf("read+close direct: %+v data %q", cqes, mem[:6])
	}
	runtime.KeepAlive(path)
	runtime.KeepAlive(how)
}

func TestPathMustBeNULTerminated(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("PrepOpenat2 accepted a path without NUL")
		}
	}()
	var s SQE
	s.PrepOpenat2(unix.AT_FDCWD, []byte("no-nul"), &OpenHow{})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
