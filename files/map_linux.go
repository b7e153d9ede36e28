package files

import "golang.org/x/sys/unix"

// Mapped files: an engine that sends a file's bytes from memory (the
// engines' HTTP/2 frames over h2c) asks the file's entry for a mapping
// (httpcore.MappedFile) instead of reading the bytes into its buffers. The
// first ask queues the entry for a helper goroutine, which maps the whole
// file read-only and makes its pages resident there (MAP_POPULATE: the
// disk reads, if any, block the helper, never a loop); until the mapping
// is published the engine reads as before. The mapping lives as long as
// the descriptor: until the entry's last reference is released.

// mapping is a published mapping of an entry's file.
type mapping struct{ b []byte }

// Mapped implements httpcore.MappedFile: the entry's whole file mapped, or
// nil while it is not (yet), or never (not a mappable file, or the helper
// failed). The caller holds a reference. Any goroutine; never blocks.
func (e *entry) Mapped() []byte {
	if m := e.mapped.Load(); m != nil {
		return m.b
	}
	if e.mappable && e.mapAsked.CompareAndSwap(false, true) {
		enqueueMap(e.acquire())
	}
	return nil
}

// mapNow maps e's file on a helper and publishes the mapping, unless the
// file's size changed since its statx (the entry is stale: a later request
// revalidates it and gets a new entry), then drops the job's reference.
func (e *entry) mapNow() {
	defer e.Release()
	b, err := unix.Mmap(e.fd, 0, int(e.st.size), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return // the engine goes on reading
	}
	var st unix.Stat_t
	if unix.Fstat(e.fd, &st) != nil || st.Size != e.st.size {
		unix.Munmap(b)
		return
	}
	e.mapped.Store(&mapping{b: b})
}

// unmap ends e's mapping, if it has one. Called with the last reference.
func (e *entry) unmap() {
	if m := e.mapped.Load(); m != nil {
		unix.Munmap(m.b)
	}
}

// mapper runs map jobs off the loops (one per mappable entry, once).
var mapper = jobQueue[*entry]{max: maxHelpers, run: (*entry).mapNow}

// enqueueMap queues the mapping of e, whose reference the job holds.
func enqueueMap(e *entry) { mapper.enqueue(e) }
