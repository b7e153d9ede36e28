package site

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		match         bool
		caps          []string
	}{
		{"/", "/", true, nil},
		{"/", "/a", false, nil},
		{"/a.txt", "/a.txt", true, nil},
		{"/a.txt", "/a.txtx", false, nil},
		{"/assets/**", "/assets/app.js", true, []string{"app.js"}},
		{"/assets/**", "/assets/js/app.js", true, []string{"js/app.js"}},
		{"/assets/**", "/assets/", true, []string{""}},
		{"/assets/**", "/assets", true, []string{""}},
		{"/assets/**", "/assetsx", false, nil},
		{"/assets/**", "/assetsx/a", false, nil},
		{"/assets/**", "/other/assets/a", false, nil},
		{"/**", "/", true, []string{""}},
		{"/**", "/a/b/c", true, []string{"a/b/c"}},
		{"/old/*", "/old/page", true, []string{"page"}},
		{"/old/*", "/old/", true, []string{""}},
		{"/old/*", "/old/a/b", false, nil},
		{"/old/*", "/old", false, nil},
		{"/*.js", "/app.js", true, []string{"app"}},
		{"/*.js", "/a/app.js", false, nil},
		{"/*.js", "/.js", true, []string{""}},
		{"/**/*.js", "/app.js", true, []string{"", "app"}},
		{"/**/*.js", "/a/b/app.min.js", true, []string{"a/b", "app.min"}},
		{"/**/*.js", "/a/b/app.css", false, nil},
		{"/a/**/b", "/a/b", true, []string{""}},
		{"/a/**/b", "/a/x/y/b", true, []string{"x/y"}},
		{"/a/**/b", "/a/xb", false, nil},
		{"/a/**/b", "/ab", false, nil},
		{"/a/**/b", "/a/b/b", true, []string{"b"}},
		{"/u/*/p/*", "/u/42/p/7", true, []string{"42", "7"}},
		{"/u/*/p/*", "/u/42/p/7/x", false, nil},
		{"/u/*/p/*", "/u//p/", true, []string{"", ""}},
		{"/v*/x", "/v1/x", true, []string{"1"}},
		{"/v*/x", "/v1/y/x", false, nil},
		{"/v*", "/v", true, []string{""}},
		{"/*/**", "/a", true, []string{"a", ""}},
		{"/*/**", "/a/b/c", true, []string{"a", "b/c"}},
		{`/a\*b`, "/a*b", true, nil},
		{`/a\*b`, "/axb", false, nil},
		{"/dir/", "/dir/", true, nil},
		{"/dir/*", "/dir/", true, []string{""}},
		{"/ünï/*", "/ünï/ç", true, []string{"ç"}},
	} {
		g, err := compileGlob(c.pattern)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		var caps captures
		got := g.match(c.path, &caps)
		if got != c.match {
			t.Errorf("%q on %q: %v, want %v", c.pattern, c.path, got, c.match)
			continue
		}
		if g.match(c.path, nil) != got {
			t.Errorf("%q on %q: nil captures change the answer", c.pattern, c.path)
		}
		if !got {
			continue
		}
		if len(c.caps) != g.ncap {
			t.Fatalf("%q: %d captures in the table, %d in the glob", c.pattern, len(c.caps), g.ncap)
		}
		for i, want := range c.caps {
			if s := c.path[caps[i][0]:caps[i][1]]; s != want {
				t.Errorf("%q on %q: $%d = %q, want %q", c.pattern, c.path, i+1, s, want)
			}
		}
	}
}

func TestGlobErrors(t *testing.T) {
	for _, p := range []string{
		"", "assets/**", "*", "/a**", "/**b", "/a/**b/c", "/a?", "/[ab]", "/{a,b}", `/a\`,
		"/**/x/**", "/*-*.js", "/a/*/*/*/*/*/*/*/*/*/*",
	} {
		if g, err := compileGlob(p); err == nil {
			t.Errorf("%q compiled: %+v", p, g)
		} else if !strings.Contains(err.Error(), "bad glob") {
			t.Errorf("%q: error %q does not say bad glob", p, err)
		}
	}
	for _, p := range []string{`/a\?`, `/\[x]`, "/*/*/*/*/*/*/*/*/*"} {
		if _, err := compileGlob(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
}

// globRegexp is the reference semantics: '*' is ([^/]*), "/**" is
// (?:/(.*))? (greedy, like the matcher's longest-first search). Paths are
// bytes: a decoded %0A is a newline that "**" covers like any other byte,
// so '.' matches newlines too (flag s).
func globRegexp(t testing.TB, pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?s)^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '\\' && i+1 < len(pattern) && pattern[i+1] == '/':
			// "\/" is '/': the next round takes it (it may start "/**").
		case c == '\\':
			i++
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		case c == '/' && strings.HasPrefix(pattern[i:], "/**"):
			b.WriteString("(?:/(.*))?")
			i += 2
		case c == '*':
			b.WriteString("([^/]*)")
		default:
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// TestGlobAgainstRegexp compares matches and captures with the reference
// on random patterns and paths over a small alphabet.
func TestGlobAgainstRegexp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	segs := []string{"a", "b", "ab", "*", "a*", "*b", "a*b", "**", ".js", "*.js"}
	pathSegs := []string{"a", "b", "ab", "ba", "x.js", "a.js", "", "aab"}
	n := 0
	for n < 3000 {
		var p strings.Builder
		for k := r.IntN(4) + 1; k > 0; k-- {
			p.WriteString("/" + segs[r.IntN(len(segs))])
		}
		if r.IntN(4) == 0 {
			p.WriteString("/")
		}
		g, err := compileGlob(p.String())
		if err != nil {
			continue
		}
		n++
		re := globRegexp(t, p.String())
		for range 20 {
			var q strings.Builder
			for k := r.IntN(5) + 1; k > 0; k-- {
				q.WriteString("/" + pathSegs[r.IntN(len(pathSegs))])
			}
			checkGlob(t, g, re, q.String())
		}
	}
}

func checkGlob(t *testing.T, g *glob, re *regexp.Regexp, path string) {
	t.Helper()
	var caps captures
	got := g.match(path, &caps)
	m := re.FindStringSubmatch(path)
	if got != (m != nil) {
		t.Fatalf("%q on %q: %v, regexp %v (%s)", g.src, path, got, m != nil, re)
	}
	if !got {
		return
	}
	for i := 0; i < g.ncap; i++ {
		if s := path[caps[i][0]:caps[i][1]]; s != m[i+1] {
			t.Fatalf("%q on %q: $%d = %q, regexp %q (%s)", g.src, path, i+1, s, m[i+1], re)
		}
	}
}

// FuzzGlob compares the matcher with the reference on arbitrary input.
func FuzzGlob(f *testing.F) {
	f.Add("/assets/**", "/assets/a/b")
	f.Add("/**/*.js", "/a/b.js")
	f.Add("/u/*/p/*", "/u/1/p/2")
	f.Fuzz(func(t *testing.T, pattern, path string) {
		g, err := compileGlob(pattern)
		// The reference regexp needs UTF-8; the matcher works on bytes.
		if err != nil || !strings.HasPrefix(path, "/") || !utf8.ValidString(pattern) || !utf8.ValidString(path) {
			return
		}
		checkGlob(t, g, globRegexp(t, pattern), path)
	})
}

// TestGlobLinear: matching costs time linear in the path's length, even
// for crafted paths against the patterns that backtrack most: 8x the path
// costs about 8x the time (quadratic would be 64x; the test allows 30x),
// and nothing is allocated.
func TestGlobLinear(t *testing.T) {
	for _, c := range []struct {
		pattern string
		path    func(n int) string
	}{
		{"/**/a/*/b.js", func(n int) string { return strings.Repeat("/a", n/2) + "/c.js" }},
		{"/**/a/*/b.js", func(n int) string { return strings.Repeat("/a", n/2) + "/b.jsx" }},
		{"/*x/**/a/*.js", func(n int) string { return "/" + strings.Repeat("x", n) + "/q.js" }},
		{"/*x/**/a/*.js", func(n int) string { return "/" + strings.Repeat("x", n) + strings.Repeat("/x", n/80) + "/q.js" }},
		{"/**/x*/y", func(n int) string { return strings.Repeat("/x", n/2) + "/z" }},
		{"/a/*/**/c/*", func(n int) string { return "/a/" + strings.Repeat("x", n) + "/c" }},
		{"/a/*/**/c/*", func(n int) string { return "/a/x" + strings.Repeat("/c", n/2) + "/d/e" }},
		{"/*/*/*/*/*/*/*/*/z", func(n int) string { return strings.Repeat("/x", n/2) }},
	} {
		g, err := compileGlob(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		small, large := c.path(1000), c.path(8000)
		run := func(p string) time.Duration {
			start := time.Now()
			for range 10 {
				g.match(p, nil)
			}
			return time.Since(start)
		}
		// Interleaved, best of 15 each; a bad ratio is measured again
		// (twice) before it counts, since other work on the machine
		// comes in bursts.
		var ts, tl time.Duration
		linear := false
		for try := 0; try < 3 && !linear; try++ {
			ts, tl = time.Duration(1<<62), time.Duration(1<<62)
			for range 15 {
				ts, tl = min(ts, run(small)), min(tl, run(large))
			}
			linear = tl <= 30*ts || tl < 200*time.Microsecond
		}
		if !linear {
			t.Errorf("%q: %v for %d bytes, %v for %d: not linear", c.pattern, ts, len(small), tl, len(large))
		}
		if allocs := testing.AllocsPerRun(5, func() { g.match(large, nil) }); allocs != 0 {
			t.Errorf("%q: %v allocations", c.pattern, allocs)
		}
	}
}
