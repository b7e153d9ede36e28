package site

import (
	"encoding/base64"
	"runtime"

	"golang.org/x/crypto/bcrypt"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// Basic authentication (RFC 7617) with bcrypt hashes.
//
// A bcrypt comparison costs tens of milliseconds by design, so it never runs
// on a loop: it is an httpcore.OpFunc, and its result is cached per worker,
// keyed by the rule and the exact Authorization value. The brief asked for a
// cache per connection; a Handler does not see connections (the same
// Request reaches it over HTTP/1.1 and HTTP/2, where one connection carries
// many users' streams through a proxy), and a browser sends the same
// Authorization value on every request of every connection, so a per-worker
// cache gives the same hits, survives reconnects, and needs no hook in the
// engine. It is bounded (authCacheMax entries; emptied when full) and holds
// failures too, so repeating a wrong password costs one comparison. A new
// configuration starts with an empty cache (users may have changed).
//
// Comparisons run on the engine's bounded helper pool, which also serves
// file ops; at most maxBcrypt run at once, and a request finding them all
// busy gets 503 with Retry-After rather than tying up more helpers.

// authCacheMax bounds a worker's cache of checked credentials.
const authCacheMax = 1024

// maxBcrypt bounds concurrent comparisons, process-wide.
var maxBcrypt = max(1, min(4, runtime.NumCPU()/2))

var bcryptSem = make(chan struct{}, maxBcrypt)

// dummyHash is compared for unknown users, so that an unknown name takes as
// long as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("ringhttpd: no such user"), bcrypt.DefaultCost)

// authRule is a compiled BasicAuth.
type authRule struct {
	id        uint16
	users     map[string][]byte
	challenge []byte // the WWW-Authenticate field line
}

func newAuthRule(b *BasicAuth, id int) *authRule {
	a := &authRule{id: uint16(id), users: make(map[string][]byte, len(b.Users))}
	for u, h := range b.Users {
		a.users[u] = []byte(h)
	}
	a.challenge = []byte("WWW-Authenticate: Basic realm=\"" + b.Realm + "\", charset=\"UTF-8\"\r\n")
	return a
}

// authorization returns the Authorization field of req (httpcore rejects a
// request with two), or nil.
func authorization(req *httpcore.Request) []byte {
	v, _ := req.Field("authorization")
	return v
}

// Results of a credentials check on the loop.
const (
	authOK = iota
	authDenied
	authCheck // unknown yet: compare off the loop
)

// check looks up the credentials value v (the Authorization field) for rule
// a in w's cache. On authCheck it leaves the decoded user and password in
// w.cred and the cache key in w.akey.
func (w *worker) check(a *authRule, v []byte) int {
	if len(v) < 6 || !equalFoldLower(v[:6], "basic ") {
		return authDenied
	}
	tok := v[6:]
	for len(tok) > 0 && tok[0] == ' ' {
		tok = tok[1:]
	}
	w.akey = append(append(w.akey[:0], byte(a.id), byte(a.id>>8)), tok...)
	if ok, hit := w.auth[string(w.akey)]; hit {
		if ok {
			return authOK
		}
		return authDenied
	}
	n := base64.StdEncoding.DecodedLen(len(tok))
	if cap(w.cred) < n {
		w.cred = make([]byte, n)
	}
	n, err := base64.StdEncoding.Decode(w.cred[:n], tok)
	if err != nil {
		return authDenied
	}
	w.cred = w.cred[:n]
	if indexByte(w.cred, ':') < 0 {
		return authDenied
	}
	return authCheck
}

// remember caches the result for key.
func (w *worker) remember(key string, ok bool) {
	if len(w.auth) >= authCacheMax {
		clear(w.auth)
	}
	w.auth[key] = ok
}

// compareOp returns the OpFunc that compares the credentials in w.cred for
// rule a; then runs on the loop with the result (busy: no comparison slot).
func (w *worker) compareOp(a *authRule, then func(ok, busy bool, resp *httpcore.Response) *httpcore.Op) *httpcore.Op {
	c := indexByte(w.cred, ':')
	user, pass := string(w.cred[:c]), append([]byte(nil), w.cred[c+1:]...)
	key := string(w.akey)
	hash, known := a.users[user]
	if !known {
		hash = dummyHash
	}
	var ok, busy bool
	snap := w.snap
	op := &httpcore.Op{Kind: httpcore.OpFunc}
	op.Func = func() {
		select {
		case bcryptSem <- struct{}{}:
		default:
			busy = true
			return
		}
		ok = bcrypt.CompareHashAndPassword(hash, pass) == nil && known
		<-bcryptSem
	}
	op.Then = func(_ *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
		if !busy && w.snap == snap { // a reload empties the cache: users may differ
			w.remember(key, ok)
		}
		return then(ok, busy, resp)
	}
	return op
}

// deny answers 401 with a's challenge.
func deny(a *authRule, resp *httpcore.Response) {
	httpcore.WriteError(resp, 401)
	resp.Head = append(resp.Head, a.challenge...)
}

// busy answers 503: every comparison slot is taken.
func busy(resp *httpcore.Response) {
	httpcore.WriteError(resp, 503)
	resp.Head = append(resp.Head, "Retry-After: 1\r\n"...)
}
