package files

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTraversal is the battery of HTTP.md "Never served": every spelling of
// "..", encoded slashes and backslashes, NUL, double encoding, overlong
// UTF-8, "dir..", symlinks out of the root (absolute, relative, directory)
// and magic links, dot files. The answer is always 400, 403 or 404, never
// content from outside the root, never a redirect.
func TestTraversal(t *testing.T) { testTraversal(t) }

func testTraversal(t *testing.T) {
	parent := t.TempDir()
	secret := "TOPSECRET-" + filepath.Base(parent)
	if err := os.WriteFile(filepath.Join(parent, "secret.txt"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(parent, "root")
	for _, d := range []string{"root/dir", "root/.git", "root/sub"} {
		if err := os.MkdirAll(filepath.Join(parent, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{
		"root/hello.txt": "hello", "root/.env": "DOT-" + secret, "root/.git/config": "DOT-" + secret,
		"root/dir/.hidden": "DOT-" + secret, "root/sub/index.html": "sub",
	} {
		if err := os.WriteFile(filepath.Join(parent, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pid := os.Getpid()
	links := map[string]string{
		"abs":        filepath.Join(parent, "secret.txt"),
		"rel":        "../secret.txt",
		"deeprel":    "dir/../../secret.txt",
		"updir":      "..",
		"absdir":     parent,
		"rootlink":   "/",
		"magic":      "/proc/self/root" + parent + "/secret.txt",
		"magicdir":   "/proc/self/root" + parent,
		"magicpid":   "/proc/" + itoa(pid) + "/root" + parent + "/secret.txt",
		"cwd":        "/proc/self/cwd",
		"dir/escape": "../../secret.txt",
		"sub/up":     "../../",
		"loop":       "loop",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	nul := []string{"/hello.txt%00", "/hello.txt%00.html", "/%00", "/hello.txt\x00", "/secret.txt%00.txt"}
	targets := append([]string{
		"/../secret.txt", "/../../secret.txt", "/../root/../secret.txt",
		"/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/.%2e/secret.txt", "/%2e./secret.txt", "/.%2E/secret.txt",
		"/..%2fsecret.txt", "/..%2Fsecret.txt", "/%2e%2e%2fsecret.txt", "/%2fsecret.txt", "/dir%2f..%2f..%2fsecret.txt",
		"/..%5csecret.txt", "/..%5Csecret.txt", "/..\\secret.txt", "/dir\\..\\..\\secret.txt", "/%5c..%5csecret.txt",
		"/%c0%ae%c0%ae/secret.txt", "/%c0%ae./secret.txt", "/.%c0%ae/secret.txt", "/%c0%2e%c0%2e/secret.txt",
		"/%e0%80%ae%e0%80%ae/secret.txt", "/%252e%252e/secret.txt", "/%252e%252e%252fsecret.txt", "/%25%32%65%25%32%65/secret.txt",
		"/dir/../../secret.txt", "/dir/%2e%2e/%2e%2e/secret.txt", "/dir/./../.././secret.txt", "////../secret.txt",
		"/./../secret.txt", "/dir../", "/dir../../secret.txt", "/dir..%2f..%2fsecret.txt",
		"/abs", "/rel", "/deeprel", "/updir/secret.txt", "/updir/", "/updir", "/absdir/secret.txt", "/absdir/",
		"/rootlink/etc/passwd", "/rootlink/", "/magic", "/magicdir/secret.txt", "/magicpid", "/cwd/secret.txt",
		"/dir/escape", "/sub/up/secret.txt", "/sub/up/", "/loop",
		"/../../../../../../etc/passwd", "/.%2e/.%2e/.%2e/.%2e/etc/passwd", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"/.env", "/.git/config", "/.git/", "/.git", "/dir/.hidden", "/%2eenv", "/%2Egit/config", "/dir/%2ehidden",
		"/sub/../.env", "/hello.txt/../.env",
		"/%", "/%2", "/%zz", "/hello%2", "/ab%g0",
	}, nul...)
	secretBytes := []byte(secret)
	passwd := []byte("root:x:0:0")
	for _, cfg := range []Config{
		{Root: root},
		{Root: root, Listing: true, Index: "nothing.html"},
		{Root: root, Listing: true, MaxCachedFile: 1},
	} {
		h := newHandler(t, cfg)
		w := h.ForWorker(0)
		for _, target := range targets {
			for pass := range 2 {
				for _, m := range []struct {
					name string
					r    *request
				}{{"GET", newRequest(GET, target)}, {"HEAD", newRequest(HEAD, target)}, {"ranged", newRequest(GET, target, "Range: bytes=0-3,5-")}} {
					r := serve(t, w, m.r)
					if r.status != 400 && r.status != 403 && r.status != 404 {
						t.Errorf("%q %s (pass %d, listing %v): status %d\n%s", target, m.name, pass, cfg.Listing, r.status, r)
					}
					if bytes.Contains(r.body, secretBytes) || bytes.Contains(r.body, passwd) ||
						bytes.Contains(r.body, []byte(filepath.Base(parent))) {
						t.Errorf("%q %s: outside content served:\n%s", target, m.name, r)
					}
					if loc := r.hdr.Get("Location"); loc != "" {
						t.Errorf("%q %s: redirect to %q", target, m.name, loc)
					}
					if strings.Contains(target, "%00") || strings.Contains(target, "\x00") {
						if r.status != 400 {
							t.Errorf("%q: NUL answered %d, want 400", target, r.status)
						}
					}
				}
			}
		}
	}

	// Dot files are served only when the operator asks, and asking does not
	// open any way out.
	h := newHandler(t, Config{Root: root, Dotfiles: true, Listing: true})
	if r := serve(t, h, newRequest(GET, "/.env")); r.status != 200 || !bytes.Contains(r.body, secretBytes) {
		t.Errorf("dotfiles enabled: /.env answered %d", r.status)
	}
	for _, target := range targets {
		if strings.Contains(target, "env") || strings.Contains(target, "git") || strings.Contains(target, "hidden") {
			continue
		}
		r := serve(t, h, newRequest(GET, target))
		if r.status != 400 && r.status != 403 && r.status != 404 {
			t.Errorf("dotfiles enabled: %q answered %d\n%s", target, r.status, r)
		}
		if bytes.Contains(r.body, secretBytes) {
			t.Errorf("dotfiles enabled: %q served outside content", target)
		}
	}

	// The same symlinks that stay inside the root work.
	if r := serve(t, h, newRequest(GET, "/sub/")); r.status != 200 || string(r.body) != "sub" {
		t.Errorf("/sub/ answered %d %q", r.status, r.body)
	}
}

func itoa(n int) string {
	var b []byte
	return string(appendUint(b, uint64(n)))
}

// TestCleanPath pins the decoding and normalization rules.
func TestCleanPath(t *testing.T) {
	for _, c := range []struct {
		raw, want string
		dot       dotPolicy
		status    int
	}{
		{raw: "/", want: "/"},
		{raw: "/a", want: "/a"},
		{raw: "/a/", want: "/a/"},
		{raw: "//a//b//", want: "/a/b/"},
		{raw: "/a/./b", want: "/a/b"},
		{raw: "/a/.", want: "/a/"},
		{raw: "/a/b/..", want: "/a/"},
		{raw: "/a/b/../c", want: "/a/c"},
		{raw: "/a/..", want: "/"},
		{raw: "/%61%62", want: "/ab"},
		{raw: "/%2561", want: "/%61"},
		{raw: "/a%20b", want: "/a b"},
		{raw: "/%c0%ae", want: "/\xc0\xae"},
		{raw: "/dir..", want: "/dir.."},
		{raw: "/...", status: 404},
		{raw: "/...", dot: dotServe, want: "/..."},
		{raw: "/.a", status: 404},
		{raw: "/.a", dot: dotServe, want: "/.a"},
		{raw: "/x/.a/../b", want: "/x/b"},
		// RFC 8615: the root's .well-known, and nothing else, with dotWellKnown.
		{raw: "/.well-known/acme-challenge/tok", dot: dotWellKnown, want: "/.well-known/acme-challenge/tok"},
		{raw: "/.well-known/", dot: dotWellKnown, want: "/.well-known/"},
		{raw: "/.well-known", dot: dotWellKnown, want: "/.well-known"},
		{raw: "/%2ewell-known/security.txt", dot: dotWellKnown, want: "/.well-known/security.txt"},
		{raw: "/x/../.well-known/a", dot: dotWellKnown, want: "/.well-known/a"},
		{raw: "/.well-known/.secret", dot: dotWellKnown, status: 404},
		{raw: "/.well-known/a/.git/config", dot: dotWellKnown, status: 404},
		{raw: "/.well-knownx/a", dot: dotWellKnown, status: 404},
		{raw: "/.well-known.bak", dot: dotWellKnown, status: 404},
		{raw: "/a/.well-known/b", dot: dotWellKnown, status: 404},
		{raw: "/.Well-Known/a", dot: dotWellKnown, status: 404},
		{raw: "/.env", dot: dotWellKnown, status: 404},
		{raw: "/.well-known/a", status: 404},
		{raw: "/..", status: 400},
		{raw: "/%2e%2e", status: 400},
		{raw: "/a/../..", status: 400},
		{raw: "/a%2fb", status: 400},
		{raw: "/a%2Fb", status: 400},
		{raw: "/a\\b", status: 400},
		{raw: "/a%5cb", status: 400},
		{raw: "/a%00", status: 400},
		{raw: "/a\x00", status: 400},
		{raw: "/a%0a", status: 400},
		{raw: "/a%7f", status: 400},
		{raw: "/a%", status: 400},
		{raw: "/a%4", status: 400},
		{raw: "/a%4g", status: 400},
		{raw: "a", status: 400},
		{raw: "", status: 400},
		{raw: "*", status: 400},
	} {
		got, st := cleanPath(nil, []byte(c.raw), c.dot)
		if st != c.status || (st == 0 && string(got) != c.want) {
			t.Errorf("cleanPath(%q, dot=%v) = %q, %d; want %q, %d", c.raw, c.dot, got, st, c.want, c.status)
		}
	}
}
