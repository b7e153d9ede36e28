package files

import (
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestUnreachableHandlerCloses: a Handler dropped without Close (replaced by
// a configuration reload) closes its root and its cached descriptors once
// the garbage collector finds it unreachable.
func TestUnreachableHandlerCloses(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "big.bin"), string(make([]byte, 10000)))
	rootFd, fileFd := func() (int, int) {
		h := newHandlerNoClose(t, Config{Root: root, MaxCachedFile: 1000})
		w := h.ForWorker(0).(*worker)
		if r := serve(t, w, newRequest(GET, "/big.bin")); r.status != 200 {
			t.Fatalf("status %d", r.status)
		}
		return h.rootFd, w.cache.m["/big.bin"].fd
	}()
	if !fdOpen(rootFd) || !fdOpen(fileFd) {
		t.Fatal("descriptors closed while the handler was reachable")
	}
	deadline := time.Now().Add(5 * time.Second)
	for fdOpen(rootFd) || fdOpen(fileFd) {
		if time.Now().After(deadline) {
			t.Fatalf("root fd open %v, file fd open %v after 5 s of GC", fdOpen(rootFd), fdOpen(fileFd))
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

func newHandlerNoClose(t *testing.T, cfg Config) *Handler {
	h, err := New(cfg)
	if err != nil {
		t.Skipf("New: %v", err)
	}
	return h
}
