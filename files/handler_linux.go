package files

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// Handler serves the files under one root directory. See the package
// documentation for the cache and sharing design.
//
// Handler itself is safe for concurrent use: its Serve goes through a shared
// cache under a mutex. Engines that know PerWorker call ForWorker once per
// worker instead and get lock-free per-worker handlers.
type Handler struct {
	cfg      Config
	rootFd   int
	mime     map[string]string
	boundary string
	epoch    time.Time
	reval    int64

	// pref orders every coding for pickEncoding (configured ones first);
	// produce lists the codings compressed in memory, 0-terminated.
	pref, produce [nCodings]uint8
	fallbackKey   []byte // Config.Fallback, or nil
	packs         *packRegistry

	mu      sync.Mutex // guards workers and shared's cache
	workers []*worker
	shared  *worker
	res     *resources
}

// resources is what Close (or, for a Handler dropped without Close, a
// cleanup once it is unreachable) releases: every cache's descriptors and
// the root. It holds no reference to the Handler, so a Handler that an
// engine stopped using after a configuration reload can be collected.
type resources struct {
	mu     sync.Mutex
	rootFd int
	caches []*lru
	closed bool
}

func (r *resources) add(c *lru) {
	r.mu.Lock()
	r.caches = append(r.caches, c)
	r.mu.Unlock()
}

func (r *resources) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	for _, c := range r.caches {
		c.purge()
	}
	return os.NewSyscallError("close", unix.Close(r.rootFd))
}

// worker is a per-worker handler: its own cache and scratch memory, the
// Handler's root descriptor and configuration.
//
// Invariant: a worker is used by one goroutine at a time: the engine thread
// that owns it (Serve and every Then run there), or any goroutine holding mu
// when mu is non-nil (the Handler's shared worker).
type worker struct {
	h      *Handler
	mu     *sync.Mutex
	cache  *lru
	path   []byte      // cleaned path scratch
	vkey   []byte      // variant key scratch
	ranges []byteRange // parsed ranges scratch

	inflight map[string]*pending // cold misses in flight, by key (see startMiss)

	// hits counts lookups answered from a fresh entry (no system call);
	// misses lookups that found no entry or a stale one (an Op chain).
	hits, misses int64
}

// Flags of the opens a lookup makes.
const (
	openFlags  = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY
	probeFlags = unix.O_PATH | unix.O_CLOEXEC
	dirFlags   = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_DIRECTORY | unix.O_NONBLOCK
	resolve    = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS
	statxMask  = unix.STATX_TYPE | unix.STATX_MODE | unix.STATX_INO | unix.STATX_SIZE |
		unix.STATX_MTIME | unix.STATX_CTIME
)

// New opens cfg.Root (O_PATH|O_DIRECTORY) and returns a Handler serving it.
func New(cfg Config) (*Handler, error) {
	if cfg.Root == "" {
		return nil, ErrNoRoot
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	fd, err := unix.Open(cfg.Root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("files: root %q: %w", cfg.Root, os.NewSyscallError("open", err))
	}
	// Probe openat2 once, so a kernel without it (before 5.6) or a seccomp
	// filter that forbids it fails here, clearly, and not on every request.
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: resolve}
	if pfd, err := unix.Openat2(fd, ".", &how); err != nil {
		unix.Close(fd)
		serr := os.NewSyscallError("openat2", err)
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) {
			// Before Linux 5.6, or forbidden by a seccomp filter.
			return nil, fmt.Errorf("files: openat2 (Linux 5.6+) unavailable for root confinement: %w: %w", errors.ErrUnsupported, serr)
		}
		return nil, fmt.Errorf("files: openat2 unusable for root confinement: %w", serr)
	} else {
		unix.Close(pfd)
	}
	var b [12]byte
	rand.Read(b[:])
	h := &Handler{
		cfg:      cfg,
		rootFd:   fd,
		mime:     mimeTable(cfg.MIME),
		boundary: hex.EncodeToString(b[:]),
		epoch:    time.Now(),
		reval:    int64(cfg.Revalidate),
		packs:    &packRegistry{},
		res:      &resources{rootFd: fd},
	}
	if cfg.Fallback != "" {
		h.fallbackKey = []byte(cfg.Fallback)
	}
	n := 0
	for _, name := range cfg.Compress.Encodings {
		if enc := codingByName(name); enc != 0 && !slices.Contains(h.pref[:n], enc) {
			h.pref[n], h.produce[n] = enc, enc
			n++
		}
	}
	for _, enc := range defaultPref {
		if !slices.Contains(h.pref[:n], enc) {
			h.pref[n] = enc
			n++
		}
	}
	h.shared = h.newWorker()
	h.shared.mu = &h.mu
	runtime.AddCleanup(h, func(r *resources) { r.close() }, h.res)
	return h, nil
}

func (h *Handler) newWorker() *worker {
	w := &worker{
		h:      h,
		cache:  newLRU(h.cfg.CacheEntries, h.cfg.CacheBytes),
		path:   make([]byte, 0, 256),
		vkey:   make([]byte, 0, 256),
		ranges: make([]byteRange, 0, 8),
	}
	h.res.add(w.cache)
	return w
}

// ForWorker returns a handler with its own cache for one engine worker. It
// implements httpcore.PerWorker: the engine calls it once per worker and uses
// the result only on that worker's thread, so the result takes no lock.
func (h *Handler) ForWorker(id int) httpcore.Handler {
	w := h.newWorker()
	h.mu.Lock()
	h.workers = append(h.workers, w)
	h.mu.Unlock()
	return w
}

// CacheStats returns the worker's lookups answered from a fresh cache entry
// (hits) and those that needed a lookup or revalidation (misses), and the
// entries and bytes its cache holds. Like Serve, it is called on the
// worker's own thread (the engine's metrics scrape runs there).
func (w *worker) CacheStats() (hits, misses, entries, bytes int64) {
	if w.mu != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
	}
	return w.hits, w.misses, int64(len(w.cache.m)), w.cache.bytes
}

// Serve answers req from the shared cache (under a mutex). See worker.Serve.
func (h *Handler) Serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	return h.shared.Serve(req, resp)
}

// Close drops every cache's reference to its descriptors and closes the
// root. It must be called only once no Serve or Op of this Handler or its
// workers is in flight; descriptors lent to responses close on Release. A
// Handler that becomes unreachable without Close is closed by a cleanup
// (runtime.AddCleanup): nothing can be in flight then, since every Op
// references its Handler.
func (h *Handler) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.res.close()
}

// now is a monotonic clock in nanoseconds (time.Now reads the vDSO: no
// system call).
func (h *Handler) now() int64 { return int64(time.Since(h.epoch)) }

// at is t on now's clock (a server's Request.Now: no clock read), or now
// when t is zero.
func (h *Handler) at(t time.Time) int64 {
	if t.IsZero() {
		return h.now()
	}
	return int64(t.Sub(h.epoch))
}

// fresh reports whether e may be used without revalidation at now.
func (h *Handler) fresh(e *entry, now int64) bool {
	return h.reval > 0 && now-e.checked < h.reval
}

// reqView is what a file answer needs of a request, read through
// httpcore's accessors so that a field sent on several lines (or as several
// HTTP/2 entries) is one list. On the Serve path it aliases the request; a
// miss copies it (see reqView.clone).
type reqView struct {
	method                                                  httpcore.Method
	hasQuery, noEnc                                         bool
	solo                                                    bool // never wait for another request's miss (see startMiss)
	query                                                   []byte
	ifMatch, ifNoneMatch, ifModSince, ifUnmodSince, ifRange []byte
	rng, ae                                                 []byte
	// now is the request's time on the Serve path (Request.Now, on
	// h.now's clock); 0 in a clone, whose answer waited: it reads the clock.
	now int64
}

// Serve answers req. A cache hit fills resp without a system call or an
// allocation; a miss or a revalidation returns the Op chain that finds the
// file (see miss).
func (w *worker) Serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	if w.mu != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
	}
	key, status := cleanPath(w.path, req.Path, w.h.cfg.dotPolicy())
	w.path = key
	if status != 0 {
		writeError(resp, status)
		return nil
	}
	switch req.Method {
	case httpcore.MethodGet, httpcore.MethodHead:
	case httpcore.MethodOptions:
		resp.Status = 200
		resp.Head = appendStatusLine(resp.Head, 200)
		resp.Head = append(resp.Head, "Allow: "+httpcore.AllowedMethods+"\r\nContent-Length: 0\r\n"...)
		return nil
	default:
		writeError(resp, 405)
		return nil
	}
	v := reqView{
		method:       req.Method,
		hasQuery:     req.Query != nil,
		query:        req.Query,
		ifMatch:      req.IfMatch(),
		ifNoneMatch:  req.IfNoneMatch(),
		ifModSince:   req.IfModifiedSince(),
		ifUnmodSince: req.IfUnmodifiedSince(),
		ifRange:      req.IfRange(),
		rng:          req.Range(),
		ae:           req.AcceptEncoding(),
		now:          w.h.at(req.Now),
	}
	return w.lookup(key, &v, resp)
}

// lookup answers from the entry for key, or starts its (re)validation.
func (w *worker) lookup(key []byte, v *reqView, resp *httpcore.Response) *httpcore.Op {
	e := w.cache.get(key)
	if e == nil {
		w.misses++
		return w.startMiss(key, 0, v, nil, resp)
	}
	now := v.now
	if now == 0 {
		now = w.h.now()
	}
	if !w.h.fresh(e, now) {
		// Later requests use e until this revalidation replaces it.
		e.checked = now
		w.misses++
		return w.startMiss(key, 0, v, e, resp)
	}
	w.hits++
	return w.answer(e, v, resp, now)
}

// answer fills resp from e; it returns an Op only when a precompressed
// variant must be looked up first.
func (w *worker) answer(e *entry, v *reqView, resp *httpcore.Response, now int64) *httpcore.Op {
	switch e.kind {
	case kindNotFound:
		if op, ok := w.fallBack(e.key, v, resp); ok {
			return op
		}
		writeError(resp, 404)
	case kindDir:
		resp.Status = 301
		resp.Head = appendStatusLine(resp.Head, 301)
		resp.Head = append(resp.Head, "Location: "...)
		resp.Head = appendEscapedPath(resp.Head, e.key)
		resp.Head = append(resp.Head, '/')
		if v.hasQuery {
			resp.Head = append(resp.Head, '?')
			resp.Head = appendEscapedQuery(resp.Head, v.query)
		}
		resp.Head = append(resp.Head, "\r\nContent-Length: 0\r\n"...)
	case kindListing:
		resp.Status = 200
		resp.Head = append(resp.Head, e.head200...)
		resp.Body = e.data
	case kindFile:
		if len(v.ae) == 0 || v.noEnc {
			break
		}
		avail := e.variants
		p := e.pack
		// The in-memory forms are offered once made, and never for a
		// Range request: ranges are answered from the identity bytes.
		if p != nil && len(v.rng) == 0 && p.ready.Load() {
			avail |= p.avail
		}
		if avail == 0 {
			break
		}
		enc := pickEncoding(v.ae, avail, &w.h.pref)
		if enc == 0 {
			break
		}
		if e.variants&enc == 0 {
			e = p.vars[codingIndex(enc)]
			break
		}
		// A precompressed sibling on disk.
		ve := e.linked[codingIndex(enc)]
		if ve != nil && ve.cached {
			w.cache.touch(ve)
		} else {
			w.vkey = append(append(w.vkey[:0], e.key...), 0, enc)
			if ve = w.cache.get(w.vkey); ve == nil {
				return w.startMiss(w.vkey, enc, v, nil, resp)
			}
			e.linked[codingIndex(enc)] = ve
		}
		if !w.h.fresh(ve, now) {
			ve.checked = now
			w.vkey = append(append(w.vkey[:0], e.key...), 0, enc)
			return w.startMiss(w.vkey, enc, v, ve, resp)
		}
		if ve.kind == kindFile {
			e = ve
		}
	}
	if e.kind == kindFile {
		w.serveFile(e, v, resp)
	}
	return nil
}

// fallBack answers a GET or HEAD for key, which names no file, with the
// configured fallback file (ok false when there is none, or key is it).
func (w *worker) fallBack(key string, v *reqView, resp *httpcore.Response) (*httpcore.Op, bool) {
	fb := w.h.fallbackKey
	if fb == nil || key == string(fb) {
		return nil, false
	}
	return w.lookup(fb, v, resp), true
}

// serveFile answers GET or HEAD of a file entry: preconditions in RFC 9110
// 13.2.2 order, then Range, then the whole file.
func (w *worker) serveFile(e *entry, v *reqView, resp *httpcore.Response) {
	if len(v.ifMatch) > 0 {
		if !matchETag(v.ifMatch, e.etag, false) {
			writeError(resp, 412)
			return
		}
	} else if len(v.ifUnmodSince) > 0 {
		if t, ok := parseHTTPDate(v.ifUnmodSince); ok && e.lastMod > t.Unix() {
			writeError(resp, 412)
			return
		}
	}
	if len(v.ifNoneMatch) > 0 {
		if matchETag(v.ifNoneMatch, e.etag, true) {
			resp.Status = 304
			resp.Head = append(resp.Head, e.head304...)
			return
		}
	} else if len(v.ifModSince) > 0 {
		if t, ok := parseHTTPDate(v.ifModSince); ok && e.lastMod <= t.Unix() {
			resp.Status = 304
			resp.Head = append(resp.Head, e.head304...)
			return
		}
	}
	if len(v.rng) > 0 && v.method == httpcore.MethodGet && ifRangeHolds(v.ifRange, e) {
		var kind int
		w.ranges, kind = parseRange(w.ranges, v.rng, e.st.size)
		switch kind {
		case rangeUnsatisfiable:
			writeError(resp, 416)
			resp.Head = append(resp.Head, "Content-Range: bytes */"...)
			resp.Head = appendUint(resp.Head, uint64(e.st.size))
			resp.Head = append(resp.Head, "\r\n"...)
			return
		case rangeOK:
			if len(w.ranges) == 1 {
				w.serveRange(e, w.ranges[0], resp)
			} else {
				w.serveMultipart(e, w.ranges, resp)
			}
			return
		}
	}
	resp.Status = 200
	resp.Head = append(resp.Head, e.head200...)
	if v.method == httpcore.MethodGet {
		if e.data != nil {
			resp.Body = e.data
		} else {
			resp.File, resp.Off, resp.Len = e.acquire(), 0, e.st.size
		}
	}
}

// ifRangeHolds reports whether a Range may be honoured given If-Range h
// (absent: yes): a strong ETag equal to e's, or a date equal to its
// Last-Modified.
func ifRangeHolds(h []byte, e *entry) bool {
	if len(h) == 0 {
		return true
	}
	if h[0] == '"' || (len(h) > 1 && h[0] == 'W' && h[1] == '/') {
		return string(h) == string(e.etag)
	}
	t, ok := parseHTTPDate(h)
	return ok && t.Unix() == e.lastMod
}

func appendContentRange(dst []byte, r byteRange, size int64) []byte {
	dst = append(dst, "Content-Range: bytes "...)
	dst = appendUint(dst, uint64(r.Off))
	dst = append(dst, '-')
	dst = appendUint(dst, uint64(r.Off+r.Len-1))
	dst = append(dst, '/')
	dst = appendUint(dst, uint64(size))
	return append(dst, "\r\n"...)
}

// serveRange answers one range: 206 with Content-Range.
func (w *worker) serveRange(e *entry, r byteRange, resp *httpcore.Response) {
	resp.Status = 206
	resp.Head = appendStatusLine(resp.Head, 206)
	resp.Head = append(resp.Head, e.ctLine...)
	resp.Head = appendContentRange(resp.Head, r, e.st.size)
	resp.Head = append(resp.Head, "Content-Length: "...)
	resp.Head = appendUint(resp.Head, uint64(r.Len))
	resp.Head = append(resp.Head, "\r\n"...)
	resp.Head = append(resp.Head, e.common...)
	if e.data != nil {
		resp.Body = e.data[r.Off : r.Off+r.Len]
	} else {
		resp.File, resp.Off, resp.Len = e.acquire(), r.Off, r.Len
	}
}

// serveMultipart answers several ranges: 206 multipart/byteranges. The part
// headers are built in one new buffer per answer (the engine may still be
// sending it while the worker serves the next request).
func (w *worker) serveMultipart(e *entry, rs []byteRange, resp *httpcore.Response) {
	b := w.h.boundary
	hdrs := make([]byte, 0, len(rs)*(len(b)+len(e.ctype)+80)+len(b)+8)
	ends := make([]int, 0, len(rs)+1)
	var total int64
	for i, r := range rs {
		if i > 0 {
			hdrs = append(hdrs, "\r\n"...)
		}
		hdrs = append(hdrs, "--"...)
		hdrs = append(hdrs, b...)
		hdrs = append(hdrs, "\r\nContent-Type: "...)
		hdrs = append(hdrs, e.ctype...)
		hdrs = append(hdrs, "\r\n"...)
		hdrs = appendContentRange(hdrs, r, e.st.size)
		hdrs = append(hdrs, "\r\n"...)
		ends = append(ends, len(hdrs))
		total += r.Len
	}
	hdrs = append(hdrs, "\r\n--"...)
	hdrs = append(hdrs, b...)
	hdrs = append(hdrs, "--\r\n"...)
	ends = append(ends, len(hdrs))
	total += int64(len(hdrs))

	resp.Status = 206
	resp.Head = appendStatusLine(resp.Head, 206)
	resp.Head = append(resp.Head, "Content-Type: multipart/byteranges; boundary="...)
	resp.Head = append(resp.Head, b...)
	resp.Head = append(resp.Head, "\r\nContent-Length: "...)
	resp.Head = appendUint(resp.Head, uint64(total))
	resp.Head = append(resp.Head, "\r\n"...)
	resp.Head = append(resp.Head, e.common...)
	if e.data == nil {
		resp.File = e.acquire()
	}
	start := 0
	for i, r := range rs {
		resp.Parts = append(resp.Parts, httpcore.Part{Bytes: hdrs[start:ends[i]:ends[i]]})
		start = ends[i]
		if e.data != nil {
			resp.Parts = append(resp.Parts, httpcore.Part{Bytes: e.data[r.Off : r.Off+r.Len]})
		} else {
			resp.Parts = append(resp.Parts, httpcore.Part{Off: r.Off, Len: r.Len})
		}
	}
	resp.Parts = append(resp.Parts, httpcore.Part{Bytes: hdrs[start:]})
}
