package site

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

const (
	GET     = httpcore.MethodGet
	HEAD    = httpcore.MethodHead
	POST    = httpcore.MethodPost
	OPTIONS = httpcore.MethodOptions
)

// issueExample is the example of the configuration issue, verbatim but for
// the roots, which tests replace with directories of their own.
const issueExample = `listen = ["127.0.0.1:8080"]
root = "/srv/default"                 # the site for any other Host

[[site]]
hosts = ["a.test", "www.a.test"]      # Host header, port ignored, case-insensitive
root = "/srv/a"
fallback = "/index.html"              # a GET for a path with no file answers this file, 200

  [[site.rule]]
  match = "/assets/**"                # glob: * within a segment, ** across segments
  headers = { "Cache-Control" = "public, max-age=31536000, immutable" }

  [[site.rule]]
  match = "/old/*"
  redirect = { to = "/new/$1", status = 308 }

  [[site.rule]]
  match = "/**"
  headers = { "X-Frame-Options" = "DENY", "Referrer-Policy" = "no-referrer" }

[[site]]
hosts = ["b.test"]
root = "/srv/b"

[compress]
types = ["text/*", "application/javascript", "application/json", "image/svg+xml", "application/wasm"]
encodings = ["br", "zstd", "gzip"]
min_size = 256
`

// exampleRoots writes the three sites' files and returns the example with
// its roots pointing at them.
func exampleRoots(t testing.TB) (string, map[string]string) {
	base := t.TempDir()
	roots := map[string]string{"default": base + "/default", "a": base + "/a", "b": base + "/b"}
	for path, body := range map[string]string{
		"default/index.html":     "default site",
		"default/who.txt":        "default",
		"a/index.html":           "<app>a</app>",
		"a/who.txt":              "a",
		"a/assets/app.js":        strings.Repeat("console.log('a');\n", 100),
		"a/assets/css/style.css": "body{}",
		"a/old.txt":              "not a redirect",
		"b/index.html":           "b site",
		"b/who.txt":              "b",
	} {
		p := filepath.Join(base, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := strings.NewReplacer(`"/srv/default"`, `"`+roots["default"]+`"`, `"/srv/a"`, `"`+roots["a"]+`"`,
		`"/srv/b"`, `"`+roots["b"]+`"`).Replace(issueExample)
	return cfg, roots
}

func newSite(t testing.TB, toml string) (*Reloadable, *Config) {
	t.Helper()
	cfg, err := Parse("site.toml", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg)
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("kernel lacks openat2: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, cfg
}

// TestIssueExample: the issue's example loads and behaves as its comments
// say.
func TestIssueExample(t *testing.T) {
	text, _ := exampleRoots(t)
	r, cfg := newSite(t, text)
	if len(cfg.Settings) != 1 || cfg.Settings[0].Key != "listen" || cfg.Settings[0].Line != 1 {
		t.Errorf("settings %+v, want listen on line 1", cfg.Settings)
	}
	if !cfg.Compress.Enabled || cfg.Compress.MinSize != 256 || len(cfg.Compress.Types) != 5 {
		t.Errorf("compress %+v", cfg.Compress)
	}
	w := r.ForWorker(0)
	for _, c := range []struct {
		name, target string
		hdrs         []string
		status       int
		body         string
		want         map[string]string
	}{
		// "the site for any other Host"
		{"unknown host", "/who.txt", []string{"Host: c.test"}, 200, "default", nil},
		{"no host", "/who.txt", nil, 200, "default", nil},
		{"IP host", "/who.txt", []string{"Host: 127.0.0.1:8080"}, 200, "default", nil},
		// "Host header, port ignored, case-insensitive"
		{"a", "/who.txt", []string{"Host: a.test"}, 200, "a", nil},
		{"www.a", "/who.txt", []string{"Host: www.a.test"}, 200, "a", nil},
		{"a with port", "/who.txt", []string{"Host: a.test:8080"}, 200, "a", nil},
		{"a upper case", "/who.txt", []string{"Host: A.TeSt"}, 200, "a", nil},
		{"a upper case with port", "/who.txt", []string{"Host: WWW.A.TEST:443"}, 200, "a", nil},
		{"a trailing dot", "/who.txt", []string{"Host: a.test."}, 200, "a", nil},
		{"b", "/who.txt", []string{"Host: b.test"}, 200, "b", nil},
		{"b port", "/who.txt", []string{"Host: b.test:1"}, 200, "b", nil},
		{"sub of a is not a", "/who.txt", []string{"Host: x.a.test"}, 200, "default", nil},
		// "a GET for a path with no file answers this file, 200"
		{"fallback", "/some/route", []string{"Host: a.test"}, 200, "<app>a</app>", nil},
		{"fallback HEAD", "/some/route", []string{"Host: a.test"}, 200, "<app>a</app>", nil},
		{"no fallback on b", "/some/route", []string{"Host: b.test"}, 404, "", nil},
		{"no fallback on default", "/some/route", nil, 404, "", nil},
		// "glob: * within a segment, ** across segments"
		{"assets cache", "/assets/app.js", []string{"Host: a.test"}, 200, "", map[string]string{
			"Cache-Control": "public, max-age=31536000, immutable", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}},
		{"assets deep", "/assets/css/style.css", []string{"Host: a.test"}, 200, "body{}", map[string]string{
			"Cache-Control": "public, max-age=31536000, immutable"}},
		{"not assets", "/who.txt", []string{"Host: a.test"}, 200, "a", map[string]string{
			"Cache-Control": "", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}},
		{"encoded assets", "/%61ssets/app.js", []string{"Host: a.test"}, 200, "", map[string]string{
			"Cache-Control": "public, max-age=31536000, immutable"}},
		{"rules only on a", "/who.txt", []string{"Host: b.test"}, 200, "b", map[string]string{"X-Frame-Options": ""}},
		// redirect = { to = "/new/$1", status = 308 }
		{"redirect", "/old/page", []string{"Host: a.test"}, 308, "", map[string]string{
			"Location": "/new/page", "X-Frame-Options": "DENY", "Content-Length": "0"}},
		{"redirect keeps query", "/old/page?x=1&y=%20", []string{"Host: a.test"}, 308, "", map[string]string{"Location": "/new/page?x=1&y=%20"}},
		{"redirect escapes capture", "/old/a%20b", []string{"Host: a.test"}, 308, "", map[string]string{"Location": "/new/a%20b"}},
		{"redirect dot segments", "/x/../old/p", []string{"Host: a.test"}, 308, "", map[string]string{"Location": "/new/p"}},
		{"* stays in its segment", "/old/a/b", []string{"Host: a.test"}, 200, "<app>a</app>", nil},
		{"old.txt is no redirect", "/old.txt", []string{"Host: a.test"}, 200, "not a redirect", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := GET
			if strings.HasSuffix(c.name, "HEAD") {
				m = HEAD
			}
			for pass := range 2 { // cold, then cached
				res := serve(t, w, newRequest(m, c.target, c.hdrs...))
				if res.status != c.status {
					t.Fatalf("pass %d: status %d, want %d\n%s", pass, res.status, c.status, res.head)
				}
				if c.body != "" && m == GET && string(res.body) != c.body {
					t.Errorf("pass %d: body %q, want %q", pass, res.body, c.body)
				}
				for k, v := range c.want {
					if got := res.hdr.Get(k); got != v {
						t.Errorf("pass %d: %s = %q, want %q\n%s", pass, k, got, v, res.head)
					}
					if v != "" && len(res.hdr.Values(k)) != 1 {
						t.Errorf("pass %d: %s sent %d times", pass, k, len(res.hdr.Values(k)))
					}
				}
			}
		})
	}
}

// TestRuleHeaders: later rules override earlier fields of the same name,
// rule fields replace the file answer's own, headers go on successful and
// redirect answers only, and a miss's Op chain gets them too.
func TestRuleHeaders(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "a.txt"), []byte("a"), 0o644)
	os.Mkdir(filepath.Join(root, "dir"), 0o755)
	r, _ := newSite(t, `root = "`+root+`"
[[rule]]
match = "/**"
headers = { "X-A" = "1", "Cache-Control" = "no-cache", "X-Both" = "first" }
[[rule]]
match = "/*.txt"
headers = { "x-both" = "second", "Content-Type" = "text/x-special", "Vary" = "Origin" }
[[rule]]
match = "/gone"
status = 410
`)
	w := r.ForWorker(0)
	for pass := range 2 {
		res := serve(t, w, newRequest(GET, "/a.txt"))
		if pass == 0 && len(res.ops) == 0 {
			t.Fatal("first request was no miss")
		}
		if res.hdr.Get("X-A") != "1" || res.hdr.Get("Cache-Control") != "no-cache" {
			t.Errorf("pass %d: %q", pass, res.head)
		}
		if v := res.hdr.Values("X-Both"); len(v) != 1 || v[0] != "second" {
			t.Errorf("pass %d: X-Both %q, want the later rule's alone", pass, v)
		}
		if v := res.hdr.Values("Content-Type"); len(v) != 1 || v[0] != "text/x-special" {
			t.Errorf("pass %d: Content-Type %q, want the rule's alone", pass, v)
		}
		if string(res.body) != "a" || res.hdr.Get("Content-Length") != "1" {
			t.Errorf("pass %d: body %q", pass, res.body)
		}
		// 304 gets them; 404 and a fixed 410 do not; a 301 does.
		if res := serve(t, w, newRequest(GET, "/a.txt", "If-None-Match: *")); res.status != 304 || res.hdr.Get("X-A") != "1" {
			t.Errorf("304: %q", res.head)
		}
		if res := serve(t, w, newRequest(GET, "/missing")); res.status != 404 || res.hdr.Get("X-A") != "" || res.hdr.Get("Cache-Control") != "" {
			t.Errorf("404: %q", res.head)
		}
		if res := serve(t, w, newRequest(GET, "/gone")); res.status != 410 || res.hdr.Get("X-A") != "" {
			t.Errorf("410: %q", res.head)
		}
		if res := serve(t, w, newRequest(POST, "/gone")); res.status != 410 {
			t.Errorf("POST 410: %d", res.status)
		}
		if res := serve(t, w, newRequest(GET, "/dir")); res.status != 301 || res.hdr.Get("X-A") != "1" || res.hdr.Get("Location") != "/dir/" {
			t.Errorf("301: %q", res.head)
		}
	}
}

func hash(t testing.TB, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func basic(user, pw string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

// TestBasicAuth: credentials are compared off the loop (an OpFunc), cached
// per worker; wrong, unknown and malformed credentials get 401 with the
// challenge; the guard covers redirects and fixed statuses below it, and
// every method.
func TestBasicAuth(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "admin"), 0o755)
	os.WriteFile(filepath.Join(root, "admin/secret.txt"), []byte("secret"), 0o644)
	os.WriteFile(filepath.Join(root, "public.txt"), []byte("public"), 0o644)
	r, _ := newSite(t, `root = "`+root+`"
[[rule]]
match = "/admin/**"
basic_auth = { realm = "Admin area", users = { alice = "`+hash(t, "wonderland")+`", bob = "`+hash(t, "builder")+`" } }
headers = { "X-Admin" = "yes" }
[[rule]]
match = "/admin/old/*"
redirect = { to = "/admin/new/$1", status = 301 }
`)
	w := r.ForWorker(0)
	good := basic("alice", "wonderland")
	for _, c := range []struct {
		name, target string
		hdrs         []string
		status       int
		ops          bool // needs a comparison
	}{
		{"public", "/public.txt", nil, 200, false},
		{"no credentials", "/admin/secret.txt", nil, 401, false},
		{"dir itself", "/admin", nil, 401, false},
		{"encoded", "/%61dmin/secret.txt", nil, 401, false},
		{"dot segments", "/public/../admin/secret.txt", nil, 401, false},
		{"good", "/admin/secret.txt", []string{good}, 200, true},
		{"good cached", "/admin/secret.txt", []string{good}, 200, false},
		{"good other path cached", "/admin/old/x", []string{good}, 301, false},
		{"bob", "/admin/secret.txt", []string{basic("bob", "builder")}, 200, true},
		{"wrong password", "/admin/secret.txt", []string{basic("alice", "nope")}, 401, true},
		{"wrong password cached", "/admin/secret.txt", []string{basic("alice", "nope")}, 401, false},
		{"unknown user", "/admin/secret.txt", []string{basic("mallory", "wonderland")}, 401, true},
		{"other scheme", "/admin/secret.txt", []string{"Authorization: Bearer abc"}, 401, false},
		{"bad base64", "/admin/secret.txt", []string{"Authorization: Basic !!!"}, 401, false},
		{"no colon", "/admin/secret.txt", []string{"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("alice"))}, 401, false},
		{"redirect guarded", "/admin/old/x", nil, 401, false},
		{"lower-case scheme", "/admin/secret.txt", []string{strings.Replace(good, "Basic", "basic", 1)}, 200, false},
	} {
		res := serve(t, w, newRequest(GET, c.target, c.hdrs...))
		if res.status != c.status {
			t.Errorf("%s: %d, want %d\n%s", c.name, res.status, c.status, res.head)
			continue
		}
		if c.ops != (len(res.ops) > 0 && res.ops[0] == httpcore.OpFunc) {
			t.Errorf("%s: ops %v, comparison expected %v", c.name, res.ops, c.ops)
		}
		switch res.status {
		case 401:
			if got := res.hdr.Get("WWW-Authenticate"); got != `Basic realm="Admin area", charset="UTF-8"` {
				t.Errorf("%s: challenge %q", c.name, got)
			}
			if res.hdr.Get("X-Admin") != "" {
				t.Errorf("%s: rule headers on a 401", c.name)
			}
		case 200:
			if strings.HasPrefix(c.target, "/admin") && (string(res.body) != "secret" || res.hdr.Get("X-Admin") != "yes") {
				t.Errorf("%s: %q %q", c.name, res.body, res.head)
			}
		case 301:
			if res.hdr.Get("Location") != "/admin/new/x" {
				t.Errorf("%s: Location %q", c.name, res.hdr.Get("Location"))
			}
		}
	}
	// Another worker has its own cache: it compares again.
	if res := serve(t, r.ForWorker(1), newRequest(GET, "/admin/secret.txt", good)); res.status != 200 || len(res.ops) == 0 {
		t.Errorf("second worker: %d %v", res.status, res.ops)
	}
	// POST is guarded too (and then answered 405 by files).
	if res := serve(t, w, newRequest(POST, "/admin/secret.txt")); res.status != 401 {
		t.Errorf("POST: %d", res.status)
	}
}

// TestReload: Swap publishes a new configuration at the workers' next
// request, keeps the files handler (and its cache) of an unchanged site,
// and a configuration that fails to build leaves the old one running.
func TestReload(t *testing.T) {
	text, roots := exampleRoots(t)
	r, cfg := newSite(t, text)
	w := r.ForWorker(0)
	if res := serve(t, w, newRequest(GET, "/old/x", "Host: a.test")); res.status != 308 {
		t.Fatalf("before: %d", res.status)
	}
	serve(t, w, newRequest(GET, "/who.txt", "Host: b.test"))
	bFiles := r.cur.Load().sites[2].files

	text2 := strings.Replace(text, `redirect = { to = "/new/$1", status = 308 }`, `redirect = { to = "/newer/$1", status = 301 }`, 1)
	cfg2, err := Parse("site.toml", []byte(text2))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Swap(cfg2); err != nil {
		t.Fatal(err)
	}
	if res := serve(t, w, newRequest(GET, "/old/x", "Host: a.test")); res.status != 301 || res.hdr.Get("Location") != "/newer/x" {
		t.Errorf("after: %d %q", res.status, res.hdr.Get("Location"))
	}
	if got := r.cur.Load().sites[2].files; got != bFiles {
		t.Errorf("b's files handler replaced though nothing changed")
	}
	if res := serve(t, w, newRequest(GET, "/who.txt", "Host: b.test")); res.status != 200 || len(res.ops) != 0 {
		t.Errorf("b after reload: %d, ops %v (cache lost)", res.status, res.ops)
	}

	// A missing root: the error names the key and line; the old config stays.
	bad := *cfg
	bad.Sites = append([]Site(nil), cfg.Sites...)
	bad.Sites[1].Root = roots["b"] + "-missing"
	err = r.Swap(&bad)
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, os.ErrNotExist) || ce.Key != "site[1].root" || ce.Line != 23 || !strings.Contains(err.Error(), "site.toml:23: site[1].root: ") {
		t.Fatalf("missing root: %v", err)
	}
	if res := serve(t, w, newRequest(GET, "/old/x", "Host: a.test")); res.status != 301 {
		t.Errorf("after a failed swap: %d", res.status)
	}
	// A new root directory at the same path is a new handler.
	os.Rename(roots["b"], roots["b"]+"-old")
	os.MkdirAll(roots["b"], 0o755)
	os.WriteFile(filepath.Join(roots["b"], "who.txt"), []byte("b2"), 0o644)
	if err := r.Swap(cfg2); err != nil {
		t.Fatal(err)
	}
	if res := serve(t, w, newRequest(GET, "/who.txt", "Host: b.test")); string(res.body) != "b2" {
		t.Errorf("new root directory: %q", res.body)
	}
}

// TestCompressionThroughSite: the [compress] table reaches the files
// handlers.
func TestCompressionThroughSite(t *testing.T) {
	text, _ := exampleRoots(t)
	r, _ := newSite(t, text)
	w := r.ForWorker(0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := serve(t, w, newRequest(GET, "/assets/app.js", "Host: a.test", "Accept-Encoding: gzip"))
		if res.hdr.Get("Content-Encoding") == "gzip" {
			if res.hdr.Get("Vary") != "Accept-Encoding" || res.hdr.Get("X-Frame-Options") != "DENY" {
				t.Errorf("%q", res.head)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never compressed: %q", res.head)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if res := serve(t, w, newRequest(GET, "/assets/app.js", "Host: a.test")); res.hdr.Get("Content-Encoding") != "" {
		t.Errorf("compressed without Accept-Encoding")
	}
}

// TestServeAllocs: a cache hit through the site layer (host pick, 20 rules,
// a merged header block) allocates nothing.
func TestServeAllocs(t *testing.T) {
	r, req := benchSetup(t)
	w := r.ForWorker(0)
	resp := &httpcore.Response{Head: make([]byte, 0, 1024)}
	serve(t, w, newRequest(GET, "/assets/js/app.js", "Host: a.test"))
	allocs := testing.AllocsPerRun(1000, func() {
		resp.Reset()
		if op := w.Serve(req, resp); op != nil {
			t.Fatal("op on a hit")
		}
		if resp.File != nil {
			resp.File.Release()
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per hit", allocs)
	}
	if !strings.Contains(string(resp.Head), "Cache-Control: public, max-age=31536000, immutable\r\n") {
		t.Errorf("head %q", resp.Head)
	}
}

// benchRules is a 20-rule site: the matching benchmark's.
const benchRules = `
[[site]]
hosts = ["a.test"]
root = "ROOT"
  [[site.rule]]
  match = "/api/*/users"
  status = 404
  [[site.rule]]
  match = "/old/*"
  redirect = { to = "/new/$1", status = 308 }
  [[site.rule]]
  match = "/blog/*/*.html"
  headers = { "X-Blog" = "1" }
  [[site.rule]]
  match = "/docs/**"
  headers = { "X-Docs" = "1" }
  [[site.rule]]
  match = "/images/**/*.png"
  headers = { "Cache-Control" = "max-age=86400" }
  [[site.rule]]
  match = "/fonts/**"
  headers = { "Access-Control-Allow-Origin" = "*" }
  [[site.rule]]
  match = "/download/*"
  headers = { "Content-Disposition" = "attachment" }
  [[site.rule]]
  match = "/robots.txt"
  headers = { "X-Robots" = "1" }
  [[site.rule]]
  match = "/favicon.ico"
  headers = { "Cache-Control" = "max-age=604800" }
  [[site.rule]]
  match = "/legacy/**"
  redirect = { to = "https://old.example/$1", status = 301 }
  [[site.rule]]
  match = "/v1/**"
  status = 410
  [[site.rule]]
  match = "/feed.xml"
  redirect = { to = "/rss.xml" }
  [[site.rule]]
  match = "/u/*/p/*"
  headers = { "X-Profile" = "1" }
  [[site.rule]]
  match = "/**/*.map"
  status = 404
  [[site.rule]]
  match = "/private/**"
  status = 403
  [[site.rule]]
  match = "/assets/**"
  headers = { "Cache-Control" = "public, max-age=31536000, immutable" }
  [[site.rule]]
  match = "/*.html"
  headers = { "Cache-Control" = "no-cache" }
  [[site.rule]]
  match = "/sw.js"
  headers = { "Service-Worker-Allowed" = "/" }
  [[site.rule]]
  match = "/.well-known/**"
  headers = { "X-Well-Known" = "1" }
  [[site.rule]]
  match = "/**"
  headers = { "X-Frame-Options" = "DENY", "Referrer-Policy" = "no-referrer" }
`

func benchSetup(tb testing.TB) (*Reloadable, *httpcore.Request) {
	root := tb.TempDir()
	os.MkdirAll(filepath.Join(root, "assets/js"), 0o755)
	os.WriteFile(filepath.Join(root, "assets/js/app.js"), []byte("app()"), 0o644)
	r, _ := newSite(tb, `root = "`+root+`"`+strings.Replace(benchRules, "ROOT", root, 1))
	if n := len(r.cur.Load().sites[1].rules); n != 20 {
		tb.Fatalf("%d rules", n)
	}
	req := newRequest(GET, "/assets/js/app.js", "Host: a.test").req
	return r, &req
}

// BenchmarkMatch20 measures matching one path against 20 rules, the cost a
// request pays in the site layer besides the files answer (goal: < 100 ns).
func BenchmarkMatch20(b *testing.B) {
	r, _ := benchSetup(b)
	sc := r.cur.Load().sites[1]
	rules := sc.rules
	for _, p := range []string{"/assets/js/app.js", "/index.html", "/blog/2024/post.html", "/u/42/p/7"} {
		b.Run(strings.ReplaceAll(p[1:], "/", "_"), func(b *testing.B) {
			b.ReportAllocs()
			var caps captures
			n := 0
			for b.Loop() {
				for _, i := range sc.cand[p[1]] {
					cp := (*captures)(nil)
					if rules[i].needsCaps {
						cp = &caps
					}
					if rules[i].g.match(p, cp) {
						n++
					}
				}
			}
			if n == 0 {
				b.Fatal("nothing matched")
			}
		})
	}
}

// BenchmarkServeSite measures a whole cache hit through the site layer:
// host, clean path, 20 rules, header block, files answer.
func BenchmarkServeSite(b *testing.B) {
	r, req := benchSetup(b)
	w := r.ForWorker(0)
	serve(b, w, newRequest(GET, "/assets/js/app.js", "Host: a.test"))
	resp := &httpcore.Response{Head: make([]byte, 0, 1024)}
	b.ReportAllocs()
	for b.Loop() {
		resp.Reset()
		w.Serve(req, resp)
	}
}

// TestSharedServe: Reloadable.Serve (for engines without ForWorker) is safe
// for concurrent use, Op chains included.
func TestSharedServe(t *testing.T) {
	text, _ := exampleRoots(t)
	r, _ := newSite(t, text)
	done := make(chan bool)
	for g := range 4 {
		go func() {
			ok := true
			for i := range 50 {
				target := []string{"/who.txt", "/assets/app.js", "/route", "/old/x"}[(g+i)%4]
				res := serve(t, r, newRequest(GET, target, "Host: a.test", "Accept-Encoding: gzip"))
				if res.status != 200 && res.status != 308 {
					ok = false
				}
			}
			done <- ok
		}()
	}
	for range 4 {
		if !<-done {
			t.Error("a request failed")
		}
	}
}
