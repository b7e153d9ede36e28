package files

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// FuzzServe drives the whole handler with arbitrary paths, queries and
// conditional/range/encoding fields against a tree whose parent holds a
// secret, and checks what must hold for any request: the secret is never
// served, a redirect is a local path, the head is well formed, and
// Content-Length matches the body actually planned.
func FuzzServe(f *testing.F) {
	for _, s := range []string{"/", "/a.txt", "/d", "/d/", "/../secret", "/%2e%2e/secret", "/out", "/outdir/secret",
		"//evil", "/d?x", "/a.txt?", "/%00", "/d/../a.txt", "/big"} {
		f.Add(s, "", "", "gzip, br", "")
	}
	f.Add("/a.txt", "bytes=0-1,3-", `"x"`, "br;q=0", "Tue, 02 Jan 2024 03:04:05 GMT")
	f.Add("/big", "bytes=-5", "*", "*", "")

	parent := f.TempDir()
	secret := "SECRET-" + filepath.Base(parent)
	os.WriteFile(filepath.Join(parent, "secret"), []byte(secret), 0o644)
	root := filepath.Join(parent, "root")
	os.MkdirAll(filepath.Join(root, "d"), 0o755)
	os.WriteFile(filepath.Join(root, "a.txt"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(root, "a.txt.gz"), []byte("GZ"), 0o644)
	os.WriteFile(filepath.Join(root, "d", "index.html"), []byte("<i>"), 0o644)
	os.WriteFile(filepath.Join(root, "big"), bytes.Repeat([]byte("b"), 5000), 0o644)
	os.Symlink(filepath.Join(parent, "secret"), filepath.Join(root, "out"))
	os.Symlink(parent, filepath.Join(root, "outdir"))
	h := newHandler(f, Config{Root: root, Listing: true, MaxCachedFile: 1024})
	w := h.ForWorker(0)

	f.Fuzz(func(t *testing.T, target, rng, inm, ae, ims string) {
		if len(target) == 0 || target[0] != '/' || strings.ContainsAny(target, "\r\n #") {
			return // the parser never hands such a target over
		}
		var hdrs []string
		for _, kv := range [][2]string{{"Range", rng}, {"If-None-Match", inm}, {"Accept-Encoding", ae}, {"If-Modified-Since", ims}} {
			if kv[1] != "" && !strings.ContainsAny(kv[1], "\r\n\x00") && strings.TrimSpace(kv[1]) == kv[1] {
				// A value the parser refuses (a control byte, say) never
				// reaches the handler: such an input tests nothing here.
				var probe httpcore.Request
				if probe.AddField([]byte(kv[0]), []byte(kv[1])) != nil {
					return
				}
				hdrs = append(hdrs, kv[0]+": "+kv[1])
			}
		}
		for _, m := range []httpcore.Method{GET, HEAD} {
			r := serve(t, w, newRequest(m, target, hdrs...))
			if bytes.Contains(r.body, []byte(secret)) {
				t.Fatalf("%q: secret served", target)
			}
			if loc := r.hdr.Get("Location"); loc != "" && (!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\ \t")) {
				t.Fatalf("%q: Location %q", target, loc)
			}
			if strings.Contains(strings.ReplaceAll(r.head, "\r\n", ""), "\r") || strings.Contains(strings.ReplaceAll(r.head, "\r\n", ""), "\n") {
				t.Fatalf("%q: bare CR or LF in head %q", target, r.head)
			}
			switch r.status {
			case 200, 206, 301, 304, 400, 403, 404, 412, 416:
			default:
				t.Fatalf("%q: status %d", target, r.status)
			}
			if m == GET && r.status != 304 {
				if cl := r.hdr.Get("Content-Length"); cl != strconv.Itoa(len(r.body)) {
					t.Fatalf("%q %v: Content-Length %s, body %d bytes", target, hdrs, cl, len(r.body))
				}
			}
		}
	})
}
