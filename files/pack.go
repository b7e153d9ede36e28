package files

import (
	"runtime"
	"sync"
	"sync/atomic"
	"weak"
)

// pack holds the in-memory compressed forms of one version of a file. Every
// worker's identity entry for that version points to the same pack (see
// packRegistry), so a file is compressed once per coding, not once per
// worker.
//
// Invariant: avail and vars are written by the helper that makes them,
// before ready is set, and never after; readers load ready first. The
// variant entries are never cached in an LRU: they live as long as an
// identity entry (or a response) references the pack.
type pack struct {
	key   packKey
	ready atomic.Bool
	avail uint8 // codings with a form in vars
	vars  [nCodings]*entry
}

// packKey identifies a version of a file: what a revalidation compares.
type packKey struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

func packKeyOf(st stat) packKey {
	return packKey{dev: st.dev, ino: st.ino, size: st.size, mtime: st.mtime, ctime: st.ctime}
}

// packRegistry finds the pack of a file version that another worker's entry
// already made. It holds packs weakly: a pack lives while an entry uses it,
// and its registry slot goes with it.
type packRegistry struct {
	mu sync.Mutex
	m  map[packKey]weak.Pointer[pack]
}

// get returns the live pack for k and false, or a new registered pack and
// true (the caller then queues its compression).
func (r *packRegistry) get(k packKey) (*pack, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[packKey]weak.Pointer[pack])
	}
	if wp, ok := r.m[k]; ok {
		if p := wp.Value(); p != nil {
			return p, false
		}
	}
	p := &pack{key: k}
	r.m[k] = weak.Make(p)
	runtime.AddCleanup(p, r.drop, k)
	return p, true
}

// drop removes k's slot once its pack is gone.
func (r *packRegistry) drop(k packKey) {
	r.mu.Lock()
	if wp, ok := r.m[k]; ok && wp.Value() == nil {
		delete(r.m, k)
	}
	r.mu.Unlock()
}

// len returns the number of registered packs (for tests).
func (r *packRegistry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}
