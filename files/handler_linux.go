package files

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

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

	mu      sync.Mutex // guards workers, closed and shared's cache
	workers []*worker
	shared  *worker
	closed  bool
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
		return nil, fmt.Errorf("files: openat2 unusable for root confinement: %w", os.NewSyscallError("openat2", err))
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
	}
	h.shared = h.newWorker()
	h.shared.mu = &h.mu
	return h, nil
}

func (h *Handler) newWorker() *worker {
	return &worker{
		h:      h,
		cache:  newLRU(h.cfg.CacheEntries, h.cfg.CacheBytes),
		path:   make([]byte, 0, 256),
		vkey:   make([]byte, 0, 256),
		ranges: make([]byteRange, 0, 8),
	}
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

// Serve answers req from the shared cache (under a mutex). See worker.Serve.
func (h *Handler) Serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	return h.shared.Serve(req, resp)
}

// Close drops every cache's reference to its descriptors and closes the
// root. It must be called only once no Serve or Op of this Handler or its
// workers is in flight; descriptors lent to responses close on Release.
func (h *Handler) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	h.shared.cache.purge()
	for _, w := range h.workers {
		w.cache.purge()
	}
	return os.NewSyscallError("close", unix.Close(h.rootFd))
}

// now is a monotonic clock in nanoseconds (time.Now reads the vDSO: no
// system call).
func (h *Handler) now() int64 { return int64(time.Since(h.epoch)) }

// fresh reports whether e may be used without revalidation at now.
func (h *Handler) fresh(e *entry, now int64) bool {
	return h.reval > 0 && now-e.checked < h.reval
}

// reqView is what a file answer needs of a request. On the Serve path it
// aliases the request; a miss copies it (see miss.copyView).
type reqView struct {
	method                                                  httpcore.Method
	hasQuery, noEnc                                         bool
	query                                                   []byte
	ifMatch, ifNoneMatch, ifModSince, ifUnmodSince, ifRange []byte
	rng, ae                                                 []byte
}

// Serve answers req. A cache hit fills resp without a system call or an
// allocation; a miss or a revalidation returns the Op chain that finds the
// file (see miss).
func (w *worker) Serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	if w.mu != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
	}
	key, status := cleanPath(w.path, req.Path, w.h.cfg.Dotfiles)
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
		ifMatch:      req.IfMatch,
		ifNoneMatch:  req.IfNoneMatch,
		ifModSince:   req.IfModifiedSince,
		ifUnmodSince: req.IfUnmodifiedSince,
		ifRange:      req.IfRange,
		rng:          req.Range,
		ae:           req.AcceptEncoding,
	}
	return w.lookup(key, &v, resp)
}

// lookup answers from the entry for key, or starts its (re)validation.
func (w *worker) lookup(key []byte, v *reqView, resp *httpcore.Response) *httpcore.Op {
	e := w.cache.get(key)
	if e == nil {
		return w.startMiss(key, 0, v, nil, resp)
	}
	now := w.h.now()
	if !w.h.fresh(e, now) {
		// Later requests use e until this revalidation replaces it.
		e.checked = now
		return w.startMiss(key, 0, v, e, resp)
	}
	return w.answer(e, v, resp, now)
}

// answer fills resp from e; it returns an Op only when a precompressed
// variant must be looked up first.
func (w *worker) answer(e *entry, v *reqView, resp *httpcore.Response, now int64) *httpcore.Op {
	switch e.kind {
	case kindNotFound:
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
		if e.variants != 0 && !v.noEnc && len(v.ae) > 0 {
			if enc := pickEncoding(v.ae, e.variants); enc != 0 {
				ve := e.linked[enc-1]
				if ve != nil && ve.cached {
					w.cache.touch(ve)
				} else {
					w.vkey = append(append(w.vkey[:0], e.key...), 0, enc)
					if ve = w.cache.get(w.vkey); ve == nil {
						return w.startMiss(w.vkey, enc, v, nil, resp)
					}
					e.linked[enc-1] = ve
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
		}
		w.serveFile(e, v, resp)
	}
	return nil
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

// miss is the state of one lookup that needs the file system: the Op chain
// open -> statx -> [probe .br, .gz] -> [read], or, for a directory form,
// open index | open dir -> listing. Every Then runs on the worker's thread.
// It holds copies of everything it needs from the request.
//
// Invariant: fd is the descriptor this chain owns (-1 when none): the one
// from the main open until it is handed to an entry or closed.
type miss struct {
	w        *worker
	key      string // cache key
	enc      uint8  // coding of the variant looked up (0: identity)
	old      *entry // entry being revalidated, or nil
	view     reqView
	trailing bool   // key names a directory form ("/dir/")
	dirRel   string // for a directory form: the directory, relative to root
	fileRel  string // the file opened, relative to root
	relz     []byte // fileRel NUL-terminated
	fd       int
	st       stat
	stx      unix.Statx_t
	variants uint8
	dir      stat // the directory's, before the probes
	hasDir   bool
	retries  int
	buf      []byte // a small file's content being read
	listing  []byte
	listErr  error
}

func (w *worker) startMiss(key []byte, enc uint8, v *reqView, old *entry, resp *httpcore.Response) *httpcore.Op {
	m := &miss{w: w, key: string(key), enc: enc, old: old, fd: -1}
	m.copyView(v)
	base := m.key
	if enc != 0 {
		base = base[:len(base)-2]
	}
	if base[len(base)-1] == '/' {
		m.trailing = true
		m.dirRel = "."
		if len(base) > 1 {
			m.dirRel = base[1 : len(base)-1]
		}
		if w.h.cfg.Index == "" {
			return m.openDir(resp)
		}
		if m.dirRel == "." {
			m.fileRel = w.h.cfg.Index
		} else {
			m.fileRel = m.dirRel + "/" + w.h.cfg.Index
		}
	} else {
		m.fileRel = base[1:]
	}
	rel := m.fileRel
	if enc != 0 {
		rel += encodingSuffix(enc)
	}
	m.relz = append([]byte(rel), 0)
	if old != nil && old.kind == kindFile {
		return m.quickStat()
	}
	return m.openFile()
}

// copyView copies v's slices into one allocation.
func (m *miss) copyView(v *reqView) {
	n := len(v.query) + len(v.ifMatch) + len(v.ifNoneMatch) + len(v.ifModSince) +
		len(v.ifUnmodSince) + len(v.ifRange) + len(v.rng) + len(v.ae)
	buf := make([]byte, 0, n)
	cp := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		s := len(buf)
		buf = append(buf, b...)
		return buf[s:len(buf):len(buf)]
	}
	m.view = reqView{
		method:       v.method,
		hasQuery:     v.hasQuery,
		noEnc:        v.noEnc,
		query:        cp(v.query),
		ifMatch:      cp(v.ifMatch),
		ifNoneMatch:  cp(v.ifNoneMatch),
		ifModSince:   cp(v.ifModSince),
		ifUnmodSince: cp(v.ifUnmodSince),
		ifRange:      cp(v.ifRange),
		rng:          cp(v.rng),
		ae:           cp(v.ae),
	}
}

// lock takes the shared worker's mutex in a Then (a per-worker handler has
// none); it returns the unlock.
func (m *miss) lock() func() {
	if mu := m.w.mu; mu != nil {
		mu.Lock()
		return mu.Unlock
	}
	return func() {}
}

// notRun is the Res an open op starts with, so that Abandon of an op the
// engine never ran (Res not overwritten) closes no descriptor.
const notRun = -int32(unix.ECANCELED)

// abandon releases what the chain holds when the engine drops op without
// calling Then: the chain's descriptor and a descriptor op itself opened.
func (m *miss) abandon(op *httpcore.Op) {
	if op.Kind == httpcore.OpOpenat2 && op.Res >= 0 {
		unix.Close(int(op.Res))
	}
	m.closeFd()
}

func (m *miss) closeFd() {
	if m.fd >= 0 {
		unix.Close(m.fd)
		m.fd = -1
	}
}

func (m *miss) openFile() *httpcore.Op {
	return &httpcore.Op{
		Kind: httpcore.OpOpenat2, Res: notRun, Fd: int32(m.w.h.rootFd), Path: m.relz,
		Flags: openFlags, Resolve: resolve,
		Then: m.afterOpen, Abandon: m.abandon,
	}
}

// isNotFound reports whether an open error means "no such file here":
// missing, not a directory, or a path the kernel refused to resolve beneath
// the root (EXDEV: a symlink leaving the root; ELOOP: a magic link or a loop).
func isNotFound(errno syscall.Errno) bool {
	switch errno {
	case unix.ENOENT, unix.ENOTDIR, unix.EXDEV, unix.ELOOP, unix.ENAMETOOLONG:
		return true
	}
	return false
}

// errStatus maps an open error to the answer.
func errStatus(errno syscall.Errno) int {
	switch {
	case isNotFound(errno):
		return 404
	case errno == unix.EACCES || errno == unix.EPERM:
		return 403
	case errno == unix.EMFILE || errno == unix.ENFILE || errno == unix.ENOMEM || errno == unix.EAGAIN:
		return 503
	}
	return 500
}

func (m *miss) afterOpen(op *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
	defer m.lock()()
	if op.Res < 0 {
		errno := syscall.Errno(-op.Res)
		switch {
		case m.enc != 0:
			return m.fallback(resp)
		case m.trailing && isNotFound(errno):
			return m.openDir(resp)
		}
		return m.fail(errStatus(errno), resp)
	}
	m.fd = int(op.Res)
	return &httpcore.Op{
		Kind: httpcore.OpStatx, Fd: int32(m.fd), Path: emptyPath,
		Flags: statxMask, Mode: unix.AT_EMPTY_PATH,
		Buf:  unsafe.Slice((*byte)(unsafe.Pointer(&m.stx)), unsafe.Sizeof(m.stx)),
		Then: m.afterStatx, Abandon: m.abandon,
	}
}

// statOf extracts what the cache keeps of a statx result.
func statOf(x *unix.Statx_t) stat {
	return stat{
		dev:   uint64(x.Dev_major)<<32 | uint64(x.Dev_minor),
		ino:   x.Ino,
		size:  int64(x.Size),
		mtime: x.Mtime.Sec*1e9 + int64(x.Mtime.Nsec),
		ctime: x.Ctime.Sec*1e9 + int64(x.Ctime.Nsec),
		mode:  uint32(x.Mode),
	}
}

// emptyPath is the NUL-terminated empty path of a statx on a descriptor.
var emptyPath = []byte{0}

func (m *miss) afterStatx(op *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
	defer m.lock()()
	if op.Res < 0 {
		m.closeFd()
		return m.fail(500, resp)
	}
	x := &m.stx
	m.st = statOf(x)
	switch m.st.mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		m.closeFd()
		switch {
		case m.enc != 0:
			return m.fallback(resp)
		case m.trailing: // the index is a directory: no index
			return m.openDir(resp)
		}
		e := &entry{key: m.key, kind: kindDir, fd: -1, checked: m.w.h.now()}
		m.insert(e)
		return m.w.answer(e, &m.view, resp, m.w.h.now())
	default: // FIFO, device, socket: never opened for reading
		m.closeFd()
		if m.enc != 0 {
			return m.fallback(resp)
		}
		return m.fail(403, resp)
	}
	// The open was non-blocking so that a FIFO could not hang it; reads of
	// the regular file must block normally (io_uring would return EAGAIN).
	if _, err := unix.FcntlInt(uintptr(m.fd), unix.F_SETFL, 0); err != nil {
		m.closeFd()
		return m.fail(500, resp)
	}
	m.variants = 0
	if !m.probes() {
		return m.afterProbes(resp)
	}
	// The directory's identity and times, taken before the probes: a
	// sibling created or removed later changes them, which is how a quick
	// revalidation notices it (see quickStat).
	return m.statx(m.dirOf(), m.afterDirStatx)
}

// probes reports whether this lookup looks for precompressed siblings.
func (m *miss) probes() bool {
	return m.enc == 0 && !m.w.h.cfg.NoPrecompressed && !hasCodingSuffix(m.fileRel)
}

// dirOf returns the NUL-terminated directory of fileRel, relative to root.
func (m *miss) dirOf() []byte {
	i := strings.LastIndexByte(m.fileRel, '/')
	if i < 0 {
		return []byte(".\x00")
	}
	return append([]byte(m.fileRel[:i]), 0)
}

// statx returns an OpStatx of path (NUL-terminated, relative to the root,
// symlinks followed) into m.stx. It holds no descriptor: it only compares
// metadata with what an openat2 beneath the root found before; it never
// decides what is served.
func (m *miss) statx(path []byte, then func(*httpcore.Op, *httpcore.Response) *httpcore.Op) *httpcore.Op {
	return &httpcore.Op{
		Kind: httpcore.OpStatx, Fd: int32(m.w.h.rootFd), Path: path,
		Flags: statxMask,
		Buf:   unsafe.Slice((*byte)(unsafe.Pointer(&m.stx)), unsafe.Sizeof(m.stx)),
		Then:  then, Abandon: m.abandon,
	}
}

func (m *miss) afterDirStatx(op *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
	defer m.lock()()
	if op.Res == 0 {
		m.dir, m.hasDir = statOf(&m.stx), true
	}
	return m.probeNext(0, resp)
}

// quickStat starts the revalidation of a file entry: a statx of its path,
// and of its directory when it may have siblings. When both match the entry
// it is kept: no descriptor is opened. Otherwise the full lookup runs.
func (m *miss) quickStat() *httpcore.Op {
	return m.statx(m.relz, m.afterQuickStat)
}

func (m *miss) afterQuickStat(op *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
	defer m.lock()()
	o := m.old
	if op.Res != 0 || statOf(&m.stx) != o.st {
		return m.openFile()
	}
	if !m.probes() {
		return m.keepOld(resp)
	}
	if !o.hasDir {
		return m.openFile()
	}
	return m.statx(m.dirOf(), m.afterQuickDir)
}

func (m *miss) afterQuickDir(op *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
	defer m.lock()()
	if op.Res != 0 || statOf(&m.stx) != m.old.dir {
		return m.openFile()
	}
	return m.keepOld(resp)
}

// keepOld answers from the revalidated entry when it is still cached, and
// looks the file up again otherwise.
func (m *miss) keepOld(resp *httpcore.Response) *httpcore.Op {
	w := m.w
	if o := m.old; w.cache.m[m.key] == o {
		o.checked = w.h.now()
		return w.answer(o, &m.view, resp, w.h.now())
	}
	return m.openFile()
}

// probeNext looks for the precompressed sibling after coding prev (0: start),
// then continues with afterProbes.
func (m *miss) probeNext(prev uint8, resp *httpcore.Response) *httpcore.Op {
	if m.probes() {
		var next uint8
		switch prev {
		case 0:
			next = encBr
		case encBr:
			next = encGzip
		}
		if next != 0 {
			return &httpcore.Op{
				Kind: httpcore.OpOpenat2, Res: notRun, Fd: int32(m.w.h.rootFd),
				Path:  append([]byte(m.fileRel+encodingSuffix(next)), 0),
				Flags: probeFlags, Resolve: resolve,
				Then: func(op *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
					defer m.lock()()
					if op.Res >= 0 {
						unix.Close(int(op.Res))
						m.variants |= next
					}
					return m.probeNext(next, resp)
				},
				Abandon: m.abandon,
			}
		}
	}
	return m.afterProbes(resp)
}

func hasCodingSuffix(name string) bool {
	n := len(name)
	return n > 3 && (name[n-3:] == ".br" || name[n-3:] == ".gz")
}

// afterProbes keeps the old entry when nothing changed, else reads a small
// file or caches the descriptor of a large one.
func (m *miss) afterProbes(resp *httpcore.Response) *httpcore.Op {
	w := m.w
	if o := m.old; o != nil && o.kind == kindFile && o.st == m.st && o.variants == m.variants &&
		w.cache.m[m.key] == o {
		m.closeFd()
		o.checked = w.h.now()
		o.dir, o.hasDir = m.dir, m.hasDir
		return w.answer(o, &m.view, resp, w.h.now())
	}
	if m.st.size > w.h.cfg.MaxCachedFile {
		fd := m.fd
		m.fd = -1
		return m.finish(fd, nil, resp)
	}
	if m.st.size == 0 {
		m.closeFd()
		return m.finish(-1, []byte{}, resp)
	}
	m.buf = make([]byte, m.st.size+1)
	return m.read(0)
}

// read reads the small file into m.buf from off: one read of size+1 bytes
// normally; a short one continues where it stopped, and a read returning 0
// marks the end of the file.
func (m *miss) read(off int64) *httpcore.Op {
	return &httpcore.Op{
		Kind: httpcore.OpRead, Fd: int32(m.fd), Buf: m.buf[off:], Off: off,
		Then: m.afterRead, Abandon: m.abandon,
	}
}

func (m *miss) afterRead(op *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
	defer m.lock()()
	if op.Res < 0 {
		m.closeFd()
		return m.fail(500, resp)
	}
	n := op.Off + int64(op.Res)
	if op.Res > 0 && n < m.st.size {
		return m.read(n)
	}
	m.closeFd()
	if n != m.st.size {
		// The file changed between statx and read (it shrank, or grew past
		// its size): start over.
		if m.retries++; m.retries > 3 {
			return m.fail(503, resp)
		}
		return m.openFile()
	}
	return m.finish(-1, m.buf[:n:n], resp)
}

// finish builds the file entry (fd >= 0 for one served from disk, data
// otherwise), caches it and answers.
func (m *miss) finish(fd int, data []byte, resp *httpcore.Response) *httpcore.Op {
	h := m.w.h
	typeName := m.fileRel
	e := &entry{
		key: m.key, kind: kindFile, enc: m.enc, variants: m.variants,
		fd: fd, st: m.st, checked: h.now(), data: data, closeFd: closeFd,
		dir: m.dir, hasDir: m.hasDir,
		ctype:   contentType(h.mime, []byte(typeName)),
		lastMod: m.st.mtime / 1e9,
	}
	if m.st.mtime < 0 && m.st.mtime%1e9 != 0 {
		e.lastMod--
	}
	// RFC 9110 8.8.2.1: a modification time in the future is replaced by
	// the time of the answer, so Last-Modified is never later than Date.
	if now := time.Now().Unix(); e.lastMod > now {
		e.lastMod = now
	}
	e.etag = fmt.Appendf(nil, "\"%x-%x-%x\"", m.st.ino, m.st.size, m.st.mtime)
	e.buildHeads(h.cfg.CacheControl)
	e.refs.Store(1)
	m.insert(e)
	return m.w.answer(e, &m.view, resp, m.w.h.now())
}

func closeFd(fd int) { unix.Close(fd) }

// buildHeads prebuilds the head bytes of a file entry.
func (e *entry) buildHeads(cacheControl string) {
	var lm []byte
	lm = appendHTTPDate(append(lm, "Last-Modified: "...), time.Unix(e.lastMod, 0))
	lm = append(lm, "\r\n"...)
	etag := append(append(append([]byte(nil), "ETag: "...), e.etag...), "\r\n"...)
	var cc, vary []byte
	if cacheControl != "" {
		cc = []byte("Cache-Control: " + cacheControl + "\r\n")
	}
	if e.enc != 0 || e.variants != 0 {
		vary = []byte("Vary: Accept-Encoding\r\n")
	}
	e.ctLine = []byte("Content-Type: " + e.ctype + "\r\n")
	c := append(etag, lm...)
	c = append(c, "X-Content-Type-Options: nosniff\r\nAccept-Ranges: bytes\r\n"...)
	if e.enc != 0 {
		c = append(c, "Content-Encoding: "+encodingName(e.enc)+"\r\n"...)
	}
	c = append(append(c, vary...), cc...)
	e.common = c

	h := appendStatusLine(nil, 200)
	h = append(h, e.ctLine...)
	h = append(h, "Content-Length: "...)
	h = appendUint(h, uint64(e.st.size))
	h = append(h, "\r\n"...)
	e.head200 = append(h, c...)

	n := appendStatusLine(nil, 304)
	n = append(append(append(append(n, etag...), lm...), cc...), vary...)
	e.head304 = n
	e.cost = int64(len(e.data)+len(e.head200)+len(e.head304)+len(e.common)+len(e.key)) + 256
}

// insert caches e (refs 1: the cache's), replacing the entry it revalidated.
// Negative entries enter at the cold end of the LRU (see lru.putCold).
func (m *miss) insert(e *entry) {
	if e.closeFd == nil {
		e.closeFd = closeFd
	}
	if e.cost == 0 {
		e.cost = int64(len(e.data)+len(e.head200)+len(e.key)) + 256
	}
	e.refs.Store(1)
	if e.kind == kindNotFound {
		m.w.cache.putCold(e)
	} else {
		m.w.cache.put(e)
	}
}

// fail answers status; a "not found" result is cached as a negative entry.
func (m *miss) fail(status int, resp *httpcore.Response) *httpcore.Op {
	if status == 404 {
		m.insert(&entry{key: m.key, kind: kindNotFound, fd: -1, checked: m.w.h.now()})
	} else if m.old != nil {
		m.w.cache.remove(m.old)
	}
	writeError(resp, status)
	return nil
}

// fallback answers with the identity representation after a precompressed
// variant turned out missing (cached as a negative variant entry).
func (m *miss) fallback(resp *httpcore.Response) *httpcore.Op {
	m.insert(&entry{key: m.key, kind: kindNotFound, fd: -1, checked: m.w.h.now()})
	m.view.noEnc = true
	w := m.w
	w.vkey = append(w.vkey[:0], m.key[:len(m.key)-2]...)
	return w.lookup(w.vkey, &m.view, resp)
}

// openDir opens the directory of a directory form for its listing (404 when
// listings are off).
func (m *miss) openDir(resp *httpcore.Response) *httpcore.Op {
	if !m.w.h.cfg.Listing || m.enc != 0 {
		return m.fail(404, resp)
	}
	return &httpcore.Op{
		Kind: httpcore.OpOpenat2, Res: notRun, Fd: int32(m.w.h.rootFd), Path: append([]byte(m.dirRel), 0),
		Flags: dirFlags, Resolve: resolve,
		Then: m.afterDirOpen, Abandon: m.abandon,
	}
}

func (m *miss) afterDirOpen(op *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
	defer m.lock()()
	if op.Res < 0 {
		return m.fail(errStatus(syscall.Errno(-op.Res)), resp)
	}
	fd := int(op.Res) // owned by Func from here on
	title := m.key
	dotfiles := m.w.h.cfg.Dotfiles
	return &httpcore.Op{
		Kind: httpcore.OpFunc,
		Func: func() {
			m.listing, m.listErr = buildListing(fd, title, dotfiles)
			unix.Close(fd)
		},
		Then: m.afterListing,
	}
}

func (m *miss) afterListing(op *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
	defer m.lock()()
	if m.listErr != nil {
		var errno syscall.Errno
		if errors.As(m.listErr, &errno) {
			return m.fail(errStatus(errno), resp)
		}
		return m.fail(500, resp)
	}
	h := appendStatusLine(nil, 200)
	h = append(h, "Content-Type: text/html; charset=utf-8\r\nContent-Length: "...)
	h = appendUint(h, uint64(len(m.listing)))
	h = append(h, "\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-cache\r\n"...)
	e := &entry{key: m.key, kind: kindListing, fd: -1, checked: m.w.h.now(), data: m.listing, head200: h}
	m.insert(e)
	return m.w.answer(e, &m.view, resp, m.w.h.now())
}
