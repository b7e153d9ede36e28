package files

import (
	"strings"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// inFlight is one request whose Op chain a test drives step by step.
type inFlight struct {
	r    *request
	resp httpcore.Response
	op   *httpcore.Op
	res  result
}

// start serves r on h and keeps the first Op (nil when answered at once).
func start(h httpcore.Handler, r *request) *inFlight {
	f := &inFlight{r: r}
	f.resp.Head = make([]byte, 0, 512)
	f.resp.Reset()
	f.op = h.Serve(&r.req, &f.resp)
	return f
}

// step performs the pending Op and calls its Then.
func (f *inFlight) step(t *testing.T) {
	t.Helper()
	f.res.ops = append(f.res.ops, f.op.Kind)
	runOp(t, f.op)
	f.op = f.op.Then(f.op, &f.resp)
}

// finish runs the chain to its end and renders the answer.
func (f *inFlight) finish(t *testing.T) result {
	t.Helper()
	for f.op != nil {
		if len(f.res.ops) > 50 {
			t.Fatalf("op chain too long: %v", f.res.ops)
		}
		f.step(t)
	}
	return render(t, &f.r.req, &f.resp, f.res)
}

// countOpens counts the opens for reading (not O_PATH probes) of path
// (relative to the root) that runOp performs until restore.
func countOpens(path string) (n *int, restore func()) {
	n = new(int)
	old := beforeOp
	beforeOp = func(op *httpcore.Op) {
		if op.Kind == httpcore.OpOpenat2 && op.Flags != probeFlags && strings.TrimSuffix(string(op.Path), "\x00") == path {
			*n++
		}
		if old != nil {
			old(op)
		}
	}
	return n, func() { beforeOp = old }
}

// TestCoalesceColdMisses: requests for the same cold file on one worker while
// the first one's lookup runs do not open it again: they wait for it and
// answer from its entry.
func TestCoalesceColdMisses(t *testing.T) {
	root := makeTree(t)
	for _, shared := range []bool{false, true} {
		h := newHandler(t, Config{Root: root})
		var hh httpcore.Handler = h.ForWorker(0)
		if shared {
			hh = h
		}
		opens, restore := countOpens("hello.txt")
		leader := start(hh, newRequest(GET, "/hello.txt"))
		if leader.op == nil || leader.op.Kind != httpcore.OpOpenat2 {
			t.Fatalf("leader: first op %+v, want an open", leader.op)
		}
		var waiters []*inFlight
		for i := range 5 {
			hdrs := []string{}
			if i%2 == 1 {
				hdrs = append(hdrs, "Range: bytes=0-4")
			}
			w := start(hh, newRequest(GET, "/hello.txt", hdrs...))
			if w.op == nil || w.op.Kind != httpcore.OpFunc {
				t.Fatalf("waiter %d: op %+v, want a wait (OpFunc)", i, w.op)
			}
			waiters = append(waiters, w)
		}
		// A waiter's Func blocks until the leader's next step.
		released := make(chan struct{})
		go func() { waiters[0].op.Func(); close(released) }()
		leader.step(t) // open -> statx
		select {
		case <-released:
		case <-time.After(time.Second):
			t.Fatal("the leader's step did not wake its waiter")
		}
		waiters[0].op = waiters[0].op.Then(waiters[0].op, &waiters[0].resp)
		if waiters[0].op == nil || waiters[0].op.Kind != httpcore.OpFunc {
			t.Fatalf("waiter after a step: %+v, want another wait", waiters[0].op)
		}
		if r := leader.finish(t); r.status != 200 || string(r.body) != "hello, world\n" {
			t.Fatalf("leader: %d %q", r.status, r.body)
		}
		for i, w := range waiters {
			r := w.finish(t)
			want, body := 200, "hello, world\n"
			if i%2 == 1 {
				want, body = 206, "hello"
			}
			if r.status != want || string(r.body) != body {
				t.Fatalf("waiter %d: %d %q", i, r.status, r.body)
			}
			for _, k := range r.ops {
				if k != httpcore.OpFunc {
					t.Fatalf("waiter %d ran %v", i, r.ops)
				}
			}
		}
		restore()
		if *opens != 1 {
			t.Fatalf("shared=%v: %d opens of hello.txt, want 1", shared, *opens)
		}
		// The next request is a plain hit.
		if r := serve(t, hh, newRequest(GET, "/hello.txt")); r.status != 200 || len(r.ops) != 0 {
			t.Fatalf("after: %d ops %v", r.status, r.ops)
		}
	}
}

// TestCoalesceOutcomes: waiters answer what the leader found, whatever it
// was, and look the file up themselves when the leader is gone.
func TestCoalesceOutcomes(t *testing.T) {
	root := makeTree(t)
	t.Run("not found", func(t *testing.T) {
		w := newHandler(t, Config{Root: root}).ForWorker(0)
		l, x := start(w, newRequest(GET, "/nope")), start(w, newRequest(GET, "/nope"))
		if l.finish(t).status != 404 {
			t.Fatal("leader")
		}
		if r := x.finish(t); r.status != 404 || len(r.ops) != 1 {
			t.Fatalf("waiter: %d %v", r.status, r.ops)
		}
	})
	t.Run("error not cached", func(t *testing.T) {
		w := newHandler(t, Config{Root: root}).ForWorker(0)
		l, x := start(w, newRequest(GET, "/fifo")), start(w, newRequest(GET, "/fifo"))
		if l.finish(t).status != 403 {
			t.Fatal("leader")
		}
		if r := x.finish(t); r.status != 403 || len(r.ops) != 1 {
			t.Fatalf("waiter: %d %v", r.status, r.ops)
		}
	})
	t.Run("directory redirect", func(t *testing.T) {
		w := newHandler(t, Config{Root: root}).ForWorker(0)
		l, x := start(w, newRequest(GET, "/dir")), start(w, newRequest(GET, "/dir?q=1"))
		if l.finish(t).status != 301 {
			t.Fatal("leader")
		}
		if r := x.finish(t); r.status != 301 || r.hdr.Get("Location") != "/dir/?q=1" || len(r.ops) != 1 {
			t.Fatalf("waiter: %d %q %v", r.status, r.hdr.Get("Location"), r.ops)
		}
	})
	t.Run("precompressed variant", func(t *testing.T) {
		w := newHandler(t, Config{Root: root}).ForWorker(0)
		opens, restore := countOpens("style.css.gz")
		defer restore()
		ae := "Accept-Encoding: gzip"
		l, x, y := start(w, newRequest(GET, "/style.css", ae)), start(w, newRequest(GET, "/style.css", ae)), start(w, newRequest(GET, "/style.css"))
		if r := l.finish(t); r.status != 200 || string(r.body) != "GZDATA" {
			t.Fatalf("leader %d %q", r.status, r.body)
		}
		if r := x.finish(t); r.status != 200 || string(r.body) != "GZDATA" || len(r.ops) != 1 {
			t.Fatalf("waiter: %d %q %v", r.status, r.body, r.ops)
		}
		if r := y.finish(t); r.status != 200 || string(r.body) != "body{color:red}" || len(r.ops) != 1 {
			t.Fatalf("identity waiter: %d %q %v", r.status, r.body, r.ops)
		}
		if *opens != 1 {
			t.Fatalf("%d opens of the .gz, want 1", *opens)
		}
	})
	t.Run("leader abandoned", func(t *testing.T) {
		w := newHandler(t, Config{Root: root}).ForWorker(0)
		l, x := start(w, newRequest(GET, "/hello.txt")), start(w, newRequest(GET, "/hello.txt"))
		l.step(t)
		runOp(t, l.op)
		l.op.Abandon(l.op) // the leader's connection died
		r := x.finish(t)
		if r.status != 200 || string(r.body) != "hello, world\n" || len(r.ops) < 3 || r.ops[1] != httpcore.OpOpenat2 {
			t.Fatalf("waiter: %d %q %v: want its own lookup", r.status, r.body, r.ops)
		}
	})
	t.Run("waiter abandoned", func(t *testing.T) {
		w := newHandler(t, Config{Root: root}).ForWorker(0).(*worker)
		l, x := start(w, newRequest(GET, "/hello.txt")), start(w, newRequest(GET, "/hello.txt"))
		runOp(t, x.op)
		x.op.Abandon(x.op)
		if p := w.inflight["/hello.txt"]; p == nil || p.waiters != 0 {
			t.Fatalf("pending %+v", p)
		}
		if l.finish(t).status != 200 || len(w.inflight) != 0 {
			t.Fatal("leader")
		}
	})
	t.Run("bounded waiters", func(t *testing.T) {
		w := newHandler(t, Config{Root: root}).ForWorker(0)
		l := start(w, newRequest(GET, "/hello.txt"))
		var fs []*inFlight
		for i := range maxWaiters + 3 {
			f := start(w, newRequest(GET, "/hello.txt"))
			want := httpcore.OpFunc
			if i >= maxWaiters {
				want = httpcore.OpOpenat2
			}
			if f.op.Kind != want {
				t.Fatalf("request %d: op %v, want %v", i, f.op.Kind, want)
			}
			fs = append(fs, f)
		}
		l.finish(t)
		for _, f := range fs {
			if r := f.finish(t); r.status != 200 {
				t.Fatalf("%d", r.status)
			}
		}
	})
	t.Run("bounded wait", func(t *testing.T) {
		old := maxWait
		maxWait = 20 * time.Millisecond
		defer func() { maxWait = old }()
		w := newHandler(t, Config{Root: root}).ForWorker(0)
		l, x := start(w, newRequest(GET, "/hello.txt")), start(w, newRequest(GET, "/hello.txt"))
		t0 := time.Now()
		r := x.finish(t) // the leader never moves
		if r.status != 200 || time.Since(t0) > 2*time.Second {
			t.Fatalf("waiter: %d after %v", r.status, time.Since(t0))
		}
		if k := r.ops[len(r.ops)-1]; k == httpcore.OpFunc || r.ops[0] != httpcore.OpFunc {
			t.Fatalf("ops %v: want waits, then its own lookup", r.ops)
		}
		l.finish(t)
	})
	t.Run("revalidation not coalesced", func(t *testing.T) {
		w := newHandler(t, Config{Root: root, Revalidate: -1}).ForWorker(0)
		serve(t, w, newRequest(GET, "/hello.txt"))
		l, x := start(w, newRequest(GET, "/hello.txt")), start(w, newRequest(GET, "/hello.txt"))
		if l.op.Kind != httpcore.OpStatx || x.op.Kind != httpcore.OpStatx {
			t.Fatalf("ops %v %v, want two quick revalidations", l.op.Kind, x.op.Kind)
		}
		l.finish(t)
		x.finish(t)
	})
}
