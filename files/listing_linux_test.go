package files

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestListing: names sorted, HTML-escaped in text and percent-encoded in
// links (always relative, "./"), sizes and dates, dot files left out unless
// enabled, symlinks described without being followed.
func TestListing(t *testing.T) {
	root := t.TempDir()
	d := filepath.Join(root, "d")
	os.MkdirAll(filepath.Join(d, "sub dir"), 0o755)
	when := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	for name, body := range map[string]string{
		"b&<c>.txt": "bbb", "a.txt": "aa", `q"x'.txt`: "q", "é.txt": "e", ".hidden": "h", "javascript:alert(1)": "j",
	} {
		p := filepath.Join(d, name)
		writeFile(t, p, body)
		os.Chtimes(p, when, when)
	}
	os.Symlink("/etc/passwd", filepath.Join(d, "zlink"))
	r := serve(t, newHandler(t, Config{Root: root, Listing: true}), newRequest(GET, "/d/"))
	if r.status != 200 || r.hdr.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("%d %q", r.status, r.hdr.Get("Content-Type"))
	}
	body := string(r.body)
	rows := []string{
		`<a href="../">../</a>`,
		`<a href="./a.txt">a.txt</a></td><td>2</td><td>2023-05-06 07:08:09</td>`,
		`<a href="./b%26%3Cc%3E.txt">b&amp;&lt;c&gt;.txt</a></td><td>3</td>`,
		`<a href="./javascript%3Aalert%281%29">javascript:alert(1)</a>`,
		`<a href="./q%22x%27.txt">q&#34;x&#39;.txt</a>`,
		`<a href="./sub%20dir/">sub dir/</a></td><td>-</td>`,
		`<a href="./zlink">zlink</a>`,
		`<a href="./%C3%A9.txt">é.txt</a>`,
	}
	last := -1
	for _, row := range rows {
		i := strings.Index(body, row)
		if i < 0 {
			t.Errorf("listing lacks %s\n%s", row, body)
			continue
		}
		if i < last {
			t.Errorf("%s out of order", row)
		}
		last = i
	}
	if strings.Contains(body, "hidden") || strings.Contains(body, "root:") {
		t.Errorf("listing shows a dot file or a link target:\n%s", body)
	}
	if !strings.Contains(body, "<title>Index of /d/</title>") {
		t.Errorf("no title:\n%s", body)
	}
	r = serve(t, newHandler(t, Config{Root: root, Listing: true, Dotfiles: true}), newRequest(GET, "/d/"))
	if !strings.Contains(string(r.body), `href="./.hidden"`) {
		t.Errorf("dot files enabled: listing lacks .hidden")
	}
	// A directory name that needs escaping in the title.
	os.Mkdir(filepath.Join(root, "<x>"), 0o755)
	r = serve(t, newHandler(t, Config{Root: root, Listing: true}), newRequest(GET, "/%3Cx%3E/"))
	if r.status != 200 || strings.Contains(string(r.body), "<x>") {
		t.Errorf("title not escaped: %d\n%s", r.status, r.body)
	}
}
