package server

import (
	"runtime/debug"
	"sync/atomic"
	"time"
)

// Giving memory back after a load.
//
// A worker pools what a load needs (held input, exchanges, output chunks
// and segment arrays, and the engine's buffers and transfer states) so that
// a busy loop allocates nothing. Once it has been quiet for trimAfter (no
// I/O event at all) it empties those pools, lets its engine trim what it
// holds (the uring engine's provided buffers, by madvise), and asks the Go
// runtime to return freed memory to the kernel, at most once per
// freeOSEvery for the whole process: debug.FreeOSMemory is a full
// collection plus a scavenge, about a millisecond for this server's heap,
// cheap once per load but not per loop turn.

const (
	trimAfter   = 200 * time.Millisecond
	freeOSEvery = time.Second
)

// lastFreeOS is the time (UnixNano) of the process's last FreeOSMemory.
var lastFreeOS atomic.Int64

// trimmer is implemented by engine loops that hold pooled memory.
type trimmer interface {
	// trim gives back what the loop pooled. Worker thread.
	trim()
}

// busy records I/O activity. Engines call it on every loop turn that
// handled events.
func (w *worker) busy() {
	w.lastBusy = w.now
	w.trimmed = false
}

// maybeTrim trims the worker's pools once it has been quiet for trimAfter.
// Engines call it once per loop turn, after handling events: for the
// uring engine, when no CQE is pending and every provided buffer is back.
func (w *worker) maybeTrim() {
	if w.freeOS {
		// Another worker returned memory less than freeOSEvery ago:
		// retried every turn (a quiet loop turns at least once a second).
		w.freeOSMemory()
	}
	if w.trimmed || w.now-w.lastBusy < trimAfter.Milliseconds() {
		return
	}
	w.trimmed = true
	w.freeOS = true
	w.holdFree.trim()
	w.exFree.trim()
	w.tlsFree.trim()
	w.h2Free.trim()
	w.readFree.trim()
	w.chunks.trim()
	if t, ok := w.io.(trimmer); ok {
		t.trim()
	}
	w.freeOSMemory()
}

// freeOSMemory returns freed memory to the kernel unless the process did
// less than freeOSEvery ago; w.freeOS stays set until it is done.
func (w *worker) freeOSMemory() {
	now := time.Now().UnixNano()
	if last := lastFreeOS.Load(); now-last >= int64(freeOSEvery) && lastFreeOS.CompareAndSwap(last, now) {
		debug.FreeOSMemory()
		w.freeOS = false
	}
}

// trimWait bounds waitTimeout so that a quiet worker wakes to trim.
func (w *worker) trimWait(d int64) int64 {
	if !w.trimmed {
		d = min(d, w.lastBusy+trimAfter.Milliseconds()-w.now)
	}
	return d
}

// trim empties the pool's free lists.
func (p *chunkPool) trim() {
	clear(p.free)
	p.free = p.free[:0:0]
	clear(p.segs)
	p.segs = p.segs[:0:0]
}
