package files

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

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

// newMiss starts the lookup of key (see startMiss, which coalesces cold
// misses).
func (w *worker) newMiss(key []byte, enc uint8, v *reqView, old *entry, resp *httpcore.Response) *httpcore.Op {
	m := &miss{w: w, key: string(key), enc: enc, old: old, fd: -1}
	m.view = v.clone()
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

// clone returns a copy of v whose slices share one new allocation.
func (v *reqView) clone() reqView {
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
	return reqView{
		method:       v.method,
		hasQuery:     v.hasQuery,
		noEnc:        v.noEnc,
		solo:         v.solo,
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
			next = encZstd
		case encZstd:
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
	return n > 3 && (name[n-3:] == ".br" || name[n-3:] == ".gz") || n > 4 && name[n-4:] == ".zst"
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
		ctype:    contentType(h.mime, []byte(typeName)),
		lastMod:  m.st.mtime / 1e9,
		mappable: fd >= 0 && m.st.size <= h.cfg.MaxMappedFile,
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
	var fresh bool
	if m.enc == 0 && h.compressible(e) {
		e.pack, fresh = h.packs.get(packKeyOf(m.st))
	}
	e.buildHeads(h.cfg.CacheControl)
	e.refs.Store(1)
	m.insert(e)
	if fresh {
		// The forms are made on a helper; until they are ready the
		// identity is served.
		enqueuePack(packJob{p: e.pack, src: e.acquire(), produce: h.produce, cc: h.cfg.CacheControl})
	}
	return m.w.answer(e, &m.view, resp, m.w.h.now())
}

// compressible reports whether the identity entry e gets in-memory
// compressed forms: compression is on, its type matches and its size is
// within bounds.
func (h *Handler) compressible(e *entry) bool {
	c := &h.cfg.Compress
	return h.produce[0] != 0 && e.st.size >= c.MinSize && e.st.size <= c.MaxSize && mediaMatch(c.Types, e.ctype)
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
	if e.enc != 0 || e.variants != 0 || e.pack != nil {
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
	if e.pack != nil {
		// The compressed forms, shared with other workers, are not made
		// yet: count the identity size, a bound on their sum for text.
		e.cost += e.st.size
	}
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
		if m.enc == 0 {
			if op, ok := m.w.fallBack(m.key, &m.view, resp); ok {
				return op
			}
		}
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
