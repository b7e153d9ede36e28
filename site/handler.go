package site

import (
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/ringhttpd/ringhttpd/files"
	"github.com/ringhttpd/ringhttpd/httpcore"
)

// Reloadable is the site layer's httpcore.Handler: it picks the site by
// Host and answers through that site's rules and files handler. Its
// configuration is an immutable snapshot; Swap builds a new one off the
// loops and publishes it with one atomic store, and each worker takes it at
// its next request. A bad configuration never replaces a good one.
//
// Reloadable implements httpcore.PerWorker: engines call ForWorker once per
// worker, and the returned handler is used on that worker's thread only.
// Serve itself serves through one shared worker under a mutex.
type Reloadable struct {
	cur atomic.Pointer[snapshot]

	mu     sync.Mutex // serializes Swap and Close; guards shared
	shared *worker
}

// snapshot is one configuration, built and opened. Invariant: never
// modified after it is published.
type snapshot struct {
	sites []*siteConf      // [0] is the default site
	hosts map[string]int32 // lower-case host -> index in sites
}

// siteConf is one site of a snapshot.
type siteConf struct {
	key   string
	files *files.Handler
	rules []rule
	fkey  filesKey
	// cand[b] lists, in rule order, the rules that can match a path whose
	// second byte is b (the first after '/'; 0 for the path "/"): a rule
	// whose literal prefix fixes that byte is in one list, the others in
	// all. Most requests then try a few rules, not all.
	cand [256][]uint16
}

// index fills sc.cand.
func (sc *siteConf) index() {
	for i := range sc.rules {
		g := sc.rules[i].g
		switch {
		case len(g.prefix) >= 2:
			sc.cand[g.prefix[1]] = append(sc.cand[g.prefix[1]], uint16(i))
		case g.shape == shapeExact: // "/"
			sc.cand[0] = append(sc.cand[0], uint16(i))
		default:
			for b := range sc.cand {
				sc.cand[b] = append(sc.cand[b], uint16(i))
			}
		}
	}
}

// filesKey identifies a files handler's configuration and root, so that a
// reload keeps (with its warm caches and compressed forms) the handler of a
// site whose root and options did not change.
type filesKey struct {
	root                   string
	dev, ino               uint64
	index                  string
	noIndex, listing, dots bool
	hideWellKnown          bool
	fallback, compress     string
	minSize, maxSize       int64
}

// New builds and opens cfg and returns a Reloadable serving it.
func New(cfg *Config) (*Reloadable, error) {
	s, err := build(cfg, nil)
	if err != nil {
		return nil, err
	}
	r := &Reloadable{}
	r.cur.Store(s)
	return r, nil
}

// Swap builds and opens cfg off the loops and, when that succeeds, makes it
// the configuration every worker uses from its next request on. On error
// the current configuration stays. A site whose root (the same directory)
// and options are unchanged keeps its files handler and caches.
func (r *Reloadable) Swap(cfg *Config) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := build(cfg, r.cur.Load())
	if err != nil {
		return err
	}
	r.cur.Store(s)
	return nil
}

// Close closes the current configuration's files handlers. It must be
// called only once no request is in flight (after the server stopped).
// Handlers of earlier configurations close when unreachable.
func (r *Reloadable) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, sc := range r.cur.Load().sites {
		errs = append(errs, sc.files.Close())
	}
	return errors.Join(errs...)
}

// build opens cfg, reusing old's files handlers where nothing changed.
func build(cfg *Config, old *snapshot) (*snapshot, error) {
	reuse := map[filesKey]*files.Handler{}
	if old != nil {
		for _, sc := range old.sites {
			reuse[sc.fkey] = sc.files
		}
	}
	s := &snapshot{hosts: map[string]int32{}}
	all := append([]*Site{&cfg.Default}, nil...)
	for i := range cfg.Sites {
		all = append(all, &cfg.Sites[i])
	}
	authID := 0
	for i, site := range all {
		sc, err := buildSite(cfg, site, reuse, &authID)
		if err != nil {
			return nil, err
		}
		s.sites = append(s.sites, sc)
		for _, h := range site.Hosts {
			s.hosts[h] = int32(i)
		}
	}
	return s, nil
}

func buildSite(cfg *Config, site *Site, reuse map[filesKey]*files.Handler, authID *int) (*siteConf, error) {
	def := &cfg.Default
	rootKey := "root"
	if site.key != "" {
		rootKey = site.key + ".root"
	}
	root := site.Root
	if root == "" {
		root = def.Root
	}
	if root == "" {
		return nil, cfg.err(rootKey, "no root directory")
	}
	st, err := os.Stat(root)
	if err != nil {
		msg := err
		var pe *os.PathError
		if errors.As(err, &pe) {
			msg = pe.Err
		}
		e := cfg.err(rootKey, "%s: %v", root, msg).(*Error)
		e.Err = err
		return nil, e
	}
	if !st.IsDir() {
		return nil, cfg.err(rootKey, "%s: not a directory", root)
	}
	fc := files.Config{Root: root, Fallback: site.Fallback}
	pick := func(own, d *string) *string {
		if own != nil {
			return own
		}
		return d
	}
	pickB := func(own, d *bool) bool {
		if own != nil {
			return *own
		}
		return d != nil && *d
	}
	if idx := pick(site.Index, def.Index); idx != nil {
		fc.Index, fc.NoIndex = *idx, *idx == ""
	}
	fc.Listing = pickB(site.Listing, def.Listing)
	fc.Dotfiles = pickB(site.Dotfiles, def.Dotfiles)
	fc.HideWellKnown = pickB(site.HideWellKnown, def.HideWellKnown)
	if c := cfg.Compress; c.Enabled {
		fc.Compress = files.Compression{Encodings: c.Encodings, Types: c.Types, MinSize: c.MinSize, MaxSize: c.MaxSize}
	}
	k := filesKey{root: root, index: fc.Index, noIndex: fc.NoIndex, listing: fc.Listing, dots: fc.Dotfiles, hideWellKnown: fc.HideWellKnown,
		fallback: fc.Fallback, compress: strings.Join(fc.Compress.Encodings, ",") + ";" + strings.Join(fc.Compress.Types, ","),
		minSize: fc.Compress.MinSize, maxSize: fc.Compress.MaxSize}
	k.dev, k.ino = fileID(st)
	sc := &siteConf{key: site.key, fkey: k}
	if h := reuse[k]; h != nil {
		sc.files = h
	} else {
		h, err := files.New(fc)
		if err != nil {
			e := cfg.err(rootKey, "%v", err).(*Error)
			e.Err = err
			return nil, e
		}
		sc.files = h
		reuse[k] = h
	}
	for i := range site.Rules {
		r := &site.Rules[i]
		c, err := compileRule(r, *authID)
		if err != nil {
			return nil, cfg.err(r.key+".match", "%v", err)
		}
		if c.auth != nil {
			*authID++
		}
		sc.rules = append(sc.rules, c)
	}
	if len(sc.rules) > 1<<16 {
		return nil, cfg.err(site.key, "more than 65536 rules")
	}
	sc.index()
	return sc, nil
}

// IgnoresBodies reports that no site reads request bodies
// (httpcore.BodyIgnorer): files answers them 405, rules need only the
// head.
func (r *Reloadable) IgnoresBodies() bool { return true }

// ForWorker returns the handler for one engine worker.
func (r *Reloadable) ForWorker(id int) httpcore.Handler {
	return newWorker(r, id)
}

// Serve answers req through a shared worker under a mutex (for engines that
// do not use ForWorker).
func (r *Reloadable) Serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.shared == nil {
		r.shared = newWorker(r, -1)
		r.shared.mu = &r.mu
	}
	return lockOps(r.shared.serve(req, resp), &r.mu)
}

// lockOps makes every Then of the chain starting at op run under mu, as the
// shared worker's state (and its files handlers' caches) requires.
func lockOps(op *httpcore.Op, mu *sync.Mutex) *httpcore.Op {
	if op == nil {
		return nil
	}
	then := op.Then
	op.Then = func(o *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
		mu.Lock()
		next := then(o, resp)
		mu.Unlock()
		return lockOps(next, mu)
	}
	return op
}

// worker is the per-worker handler. Invariant: used by one goroutine at a
// time (its engine thread, or any holder of mu for the shared worker).
type worker struct {
	r     *Reloadable
	id    int
	mu    *sync.Mutex // the Reloadable's, for the shared worker; else nil
	snap  *snapshot
	views []view
	// fw keeps this worker's files handlers across reloads, so a site
	// whose files handler a reload kept also keeps this worker's cache.
	fw map[*files.Handler]httpcore.Handler

	path []byte          // clean path scratch
	host []byte          // lower-case host scratch
	hkey []byte          // header-rule set scratch
	hidx []uint16        // header-rule indices scratch
	loc  []byte          // Location scratch
	akey []byte          // auth cache key scratch
	cred []byte          // decoded credentials scratch
	auth map[string]bool // checked credentials (see auth.go)
}

// view is a worker's state for one site of its snapshot.
type view struct {
	conf   *siteConf
	files  httpcore.Handler
	blocks map[string]*headerBlock // merged header rules by matched set
}

// maxBlocks bounds a view's cache of merged header sets.
const maxBlocks = 256

func newWorker(r *Reloadable, id int) *worker {
	return &worker{
		r: r, id: id,
		fw:   map[*files.Handler]httpcore.Handler{},
		path: make([]byte, 0, 256),
		host: make([]byte, 0, 64),
		hkey: make([]byte, 0, 32),
		akey: make([]byte, 0, 64),
		auth: map[string]bool{},
	}
}

// Serve answers req. Per-worker handlers take no lock.
func (w *worker) Serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	return w.serve(req, resp)
}

// take makes s the worker's snapshot: per-site views (files handlers from
// ForWorker, reused when the files handler is the same) and an empty
// credentials cache.
func (w *worker) take(s *snapshot) {
	fw := make(map[*files.Handler]httpcore.Handler, len(s.sites))
	views := make([]view, len(s.sites))
	for i, sc := range s.sites {
		h := w.fw[sc.files]
		if h == nil {
			h = fw[sc.files]
		}
		if h == nil {
			if w.mu != nil {
				h = sc.files.ForWorker(-1)
			} else {
				h = sc.files.ForWorker(w.id)
			}
		}
		fw[sc.files] = h
		views[i] = view{conf: sc, files: h}
	}
	w.snap, w.views, w.fw = s, views, fw
	w.auth = map[string]bool{}
}

// bstr views b as a string without copying; b must not change while the
// string is in use.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// pick returns the index of the site for the Host value h: the port is
// ignored, and so are case and a trailing dot; an unknown or absent host is
// the default site (0).
func (w *worker) pick(h []byte) int {
	s := w.snap
	if len(s.hosts) == 0 || len(h) == 0 {
		return 0
	}
	end := len(h)
	if h[0] == '[' {
		if i := indexByte(h, ']'); i > 0 {
			end = i + 1
		}
	} else if i := indexByte(h, ':'); i >= 0 {
		end = i
	}
	if end > 0 && h[end-1] == '.' {
		end--
	}
	b := w.host[:0]
	for _, c := range h[:end] {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	w.host = b
	if i, ok := s.hosts[bstr(b)]; ok {
		return int(i)
	}
	return 0
}

// serve is Serve: site by Host, then rules, then the site's files.
func (w *worker) serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	if s := w.r.cur.Load(); s != w.snap {
		w.take(s)
	}
	v := &w.views[w.pick(req.Host)]
	rules := v.conf.rules
	if len(rules) == 0 {
		return v.files.Serve(req, resp)
	}
	p, st := files.CleanPath(w.path[:0], req.Path)
	w.path = p
	if st != 0 {
		return v.files.Serve(req, resp) // it answers the same status
	}
	path := bstr(p)
	var caps captures
	term, auth := -1, -1
	w.hidx = w.hidx[:0]
	var b byte
	if len(p) > 1 {
		b = p[1]
	}
	for _, i := range v.conf.cand[b] {
		r := &rules[i]
		cp := (*captures)(nil)
		if term < 0 && r.needsCaps {
			cp = &caps
		}
		if !r.g.match(path, cp) {
			continue
		}
		if r.headers != nil {
			w.hidx = append(w.hidx, i)
		}
		if term < 0 && r.terminal {
			term = int(i)
		}
		if auth < 0 && r.auth != nil {
			auth = int(i)
		}
	}
	blk := w.block(v)
	if auth >= 0 {
		a := rules[auth].auth
		switch w.check(a, authorization(req)) {
		case authDenied:
			deny(a, resp)
			return nil
		case authCheck:
			// Answer once the comparison is done, from a copy of the
			// request (its memory is gone when Serve returns).
			rq := cloneRequest(req)
			loc := ""
			if term >= 0 && rules[term].redirect != nil {
				loc = string(w.location(&rules[term], path, &caps, req.Query))
			}
			files := v.files
			return w.compareOp(a, func(ok, isBusy bool, resp *httpcore.Response) *httpcore.Op {
				switch {
				case isBusy:
					busy(resp)
					return nil
				case !ok:
					deny(a, resp)
					return nil
				}
				return w.answer(files, rules, term, loc, rq, blk, resp)
			})
		}
	}
	loc := ""
	if term >= 0 && rules[term].redirect != nil {
		w.loc = w.location(&rules[term], path, &caps, req.Query)
		loc = bstr(w.loc)
	}
	return w.answer(v.files, rules, term, loc, req, blk, resp)
}

// location builds rule r's Location for path into w.loc.
func (w *worker) location(r *rule, path string, caps *captures, q []byte) []byte {
	return r.redirect.appendLocation(w.loc[:0], path, caps, q)
}

// answer answers with the terminal rule term (a redirect to loc, or a
// status), or else through files; then the header block.
func (w *worker) answer(fh httpcore.Handler, rules []rule, term int, loc string, req *httpcore.Request,
	blk *headerBlock, resp *httpcore.Response) *httpcore.Op {
	if term >= 0 {
		r := &rules[term]
		if r.redirect != nil {
			resp.Status = r.redirSt
			resp.Head = httpcore.AppendStatusLine(resp.Head, r.redirSt)
			resp.Head = append(resp.Head, "Location: "...)
			resp.Head = append(resp.Head, loc...)
			resp.Head = append(resp.Head, "\r\nContent-Length: 0\r\n"...)
		} else {
			httpcore.WriteError(resp, r.status)
		}
		blk.apply(resp)
		return nil
	}
	op := fh.Serve(req, resp)
	if blk == nil {
		return op
	}
	if op == nil {
		blk.apply(resp)
		return nil
	}
	return w.wrap(op, blk)
}

// wrap makes the Op chain starting at op apply blk to its final answer. It
// allocates one closure per Op (a miss's chain allocates anyway).
func (w *worker) wrap(op *httpcore.Op, blk *headerBlock) *httpcore.Op {
	then := op.Then
	op.Then = func(o *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
		next := then(o, resp)
		if next != nil {
			return w.wrap(next, blk)
		}
		blk.apply(resp)
		return nil
	}
	return op
}

// block returns the merged header block of the rules in w.hidx (nil when
// none), cached per view.
func (w *worker) block(v *view) *headerBlock {
	if len(w.hidx) == 0 {
		return nil
	}
	k := w.hkey[:0]
	for _, i := range w.hidx {
		k = append(k, byte(i), byte(i>>8))
	}
	w.hkey = k
	if b, ok := v.blocks[bstr(k)]; ok {
		return b
	}
	b := newHeaderBlock(v.conf.rules, w.hidx)
	if v.blocks == nil || len(v.blocks) >= maxBlocks {
		v.blocks = make(map[string]*headerBlock)
	}
	v.blocks[string(k)] = b
	return b
}

// cloneRequest copies what an answer needs of req into memory that outlives
// Serve (one allocation for the bytes, one for the Request).
func cloneRequest(req *httpcore.Request) *httpcore.Request {
	n := len(req.MethodName) + len(req.Target) + len(req.Path) + len(req.Query) + len(req.Host)
	for _, h := range req.Headers {
		n += len(h.Name) + len(h.Value)
	}
	buf := make([]byte, 0, n)
	cp := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		s := len(buf)
		buf = append(buf, b...)
		return buf[s:len(buf):len(buf)]
	}
	c := &httpcore.Request{
		Method: req.Method, Major: req.Major, Minor: req.Minor, KeepAlive: req.KeepAlive,
		MethodName: cp(req.MethodName),
		Target:     cp(req.Target),
		Path:       cp(req.Path),
		Query:      cp(req.Query),
		Host:       cp(req.Host),
	}
	for _, h := range req.Headers {
		// The fields were accepted once: the copy gets the same meaning.
		c.AddField(cp(h.Name), cp(h.Value))
	}
	return c
}
