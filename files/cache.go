package files

import "sync/atomic"

// Kinds of cache entries.
const (
	kindFile     uint8 = iota + 1 // a regular file (or a directory's index file)
	kindDir                       // a directory asked for without its slash: 301
	kindListing                   // a generated directory listing
	kindNotFound                  // a negative entry: 404
)

// stat is the part of a statx result the cache keeps and compares.
type stat struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // Unix nanoseconds
	mode         uint32
}

// entry is one cached answer source, keyed by a cleaned path (plus a coding
// for a precompressed variant).
//
// Invariant: every field but the LRU links, cached, checked, dir, hasDir and
// linked (which only the owning worker touches) is written
// before the entry is inserted and never after, so a response may alias data
// and the head bytes for as long as it likes. The descriptor (fd >= 0 for
// files larger than the in-memory limit, -1 otherwise) is closed when refs
// drops to 0: the cache holds one reference while the entry is cached and
// every response body that uses fd holds one more (see FileRef).
type entry struct {
	key  string
	kind uint8
	enc  uint8 // content coding of this variant (0: identity)
	// variants is the set of precompressed siblings seen at the last
	// validation (identity entries only).
	variants uint8
	// pack holds the in-memory compressed forms of this version of the
	// file (identity entries of compressible files only; nil otherwise).
	// Its forms appear, all at once, when a helper has made them.
	pack *pack

	refs atomic.Int32
	fd   int
	st   stat
	// mappable: fd's file may be lent mapped (Config.MaxMappedFile);
	// mapAsked: a helper was asked to; mapped: its mapping, once made,
	// unmapped with the descriptor (map_linux.go).
	mappable bool
	mapAsked atomic.Bool
	mapped   atomic.Pointer[mapping]

	checked int64 // nanotime of the last validation
	// dir is the stat of the file's directory taken before its siblings
	// were probed (hasDir: taken); a quick revalidation compares it.
	dir    stat
	hasDir bool
	// linked caches the variant entries of an identity entry (index
	// codingIndex(enc)), so a hit on a precompressed variant skips a map
	// lookup; a linked entry is used only while its cached flag is set.
	linked [nCodings]*entry
	cached bool

	ctype   string // Content-Type value
	etag    []byte // quoted strong ETag
	lastMod int64  // Last-Modified as Unix seconds
	ctLine  []byte // "Content-Type: ...\r\n"
	common  []byte // ETag, Last-Modified, nosniff, Accept-Ranges, Content-Encoding, Vary, Cache-Control lines
	head200 []byte // status line + ctLine + Content-Length + common
	head304 []byte // status line + ETag, Last-Modified, Cache-Control, Vary
	data    []byte // the whole content, or nil when served from fd

	prev, next *entry // LRU list; nil when not cached
	cost       int64
	closeFd    func(int) // how fd is closed
}

// Fd returns the open descriptor of a file entry served from disk.
func (e *entry) Fd() int { return e.fd }

// Release drops one reference; the last one closes the descriptor.
// Release is safe from any goroutine.
func (e *entry) Release() {
	if e.refs.Add(-1) == 0 && e.fd >= 0 {
		e.unmap()
		e.closeFd(e.fd)
		e.fd = -1
	}
}

// acquire adds a reference for a response (or a helper's job). It is called
// only on entries the calling worker's cache holds, or that the caller holds
// a reference to, so refs is at least 1 and the descriptor open.
func (e *entry) acquire() *entry {
	e.refs.Add(1)
	return e
}

// lru is a map plus a doubly linked recency list, bounded by entries and
// bytes. Invariant: it is used by one goroutine at a time (a worker's
// thread, or under Handler.mu for the shared cache), so it has no locks.
type lru struct {
	m          map[string]*entry
	head, tail *entry // head is the most recently used
	bytes      int64
	maxEntries int
	maxBytes   int64
}

func newLRU(maxEntries int, maxBytes int64) *lru {
	return &lru{m: make(map[string]*entry), maxEntries: maxEntries, maxBytes: maxBytes}
}

// get returns the entry for key and marks it most recently used.
func (c *lru) get(key []byte) *entry {
	e := c.m[string(key)]
	if e != nil {
		c.touch(e)
	}
	return e
}

// touch marks the cached entry e most recently used.
func (c *lru) touch(e *entry) {
	if e != c.head {
		c.unlink(e)
		c.pushFront(e)
	}
}

// put inserts e (refs already 1: the cache's reference), replacing and
// releasing any entry with the same key, then evicts least recently used
// entries other than e until the bounds hold.
func (c *lru) put(e *entry) {
	if old := c.m[e.key]; old != nil {
		c.remove(old)
	}
	c.m[e.key] = e
	e.cached = true
	c.pushFront(e)
	c.bytes += e.cost
	for (len(c.m) > c.maxEntries || c.bytes > c.maxBytes) && c.tail != nil && c.tail != e {
		c.remove(c.tail)
	}
}

// putCold inserts e (refs 1) as the least recently used entry, after making
// room for it. Negative entries go in this way: a flood of requests for
// missing paths then only churns among the cold end and never pushes out the
// files in use, while a 404 asked for again (favicon.ico) is promoted by get
// like any hit.
func (c *lru) putCold(e *entry) {
	if old := c.m[e.key]; old != nil {
		c.remove(old)
	}
	for (len(c.m)+1 > c.maxEntries || c.bytes+e.cost > c.maxBytes) && c.tail != nil {
		c.remove(c.tail)
	}
	c.m[e.key] = e
	e.cached = true
	e.next, e.prev = nil, c.tail
	if c.tail != nil {
		c.tail.next = e
	}
	c.tail = e
	if c.head == nil {
		c.head = e
	}
	c.bytes += e.cost
}

// remove drops e from the cache and releases the cache's reference.
func (c *lru) remove(e *entry) {
	if c.m[e.key] != e {
		return
	}
	delete(c.m, e.key)
	e.cached = false
	c.unlink(e)
	c.bytes -= e.cost
	e.Release()
}

// purge removes every entry.
func (c *lru) purge() {
	for c.head != nil {
		c.remove(c.head)
	}
}

func (c *lru) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (c *lru) pushFront(e *entry) {
	e.prev, e.next = nil, c.head
	if c.head != nil {
		c.head.prev = e
	}
	c.head = e
	if c.tail == nil {
		c.tail = e
	}
}
