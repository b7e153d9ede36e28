package files

import (
	"strings"
	"testing"
)

func TestParseRange(t *testing.T) {
	const size = 100
	type r = byteRange
	for _, c := range []struct {
		h    string
		kind int
		want []byteRange
	}{
		{"bytes=0-9", rangeOK, []r{{0, 10}}},
		{"bytes=90-", rangeOK, []r{{90, 10}}},
		{"bytes=-10", rangeOK, []r{{90, 10}}},
		{"bytes=-1000", rangeOK, []r{{0, 100}}},
		{"bytes=95-200", rangeOK, []r{{95, 5}}},
		{"bytes=99-99", rangeOK, []r{{99, 1}}},
		{"BYTES=0-0", rangeOK, []r{{0, 1}}},
		{"bytes=0-1, 5-6 ,\t9-9", rangeOK, []r{{0, 2}, {5, 2}, {9, 1}}},
		{"bytes=0-1,,5-6", rangeOK, []r{{0, 2}, {5, 2}}},
		{"bytes=100-", rangeUnsatisfiable, nil},
		{"bytes=100-200, 300-", rangeUnsatisfiable, nil},
		{"bytes=-0", rangeUnsatisfiable, nil},
		{"bytes=200-300,0-0", rangeOK, []r{{0, 1}}},
		{"bytes=5-4", rangeWhole, nil},
		{"bytes=a-4", rangeWhole, nil},
		{"bytes=-", rangeWhole, nil},
		{"bytes=1", rangeWhole, nil},
		{"bytes=1-2x", rangeWhole, nil},
		{"bytes=+1-2", rangeWhole, nil},
		{"bytes=0x1-2", rangeWhole, nil},
		{"bytes=", rangeWhole, nil},
		{"bytes= ", rangeWhole, nil},
		{"bytes 0-1", rangeWhole, nil},
		{"items=0-1", rangeWhole, nil},
		{"byte=0-1", rangeWhole, nil},
		{"bytes=99999999999999999999-", rangeWhole, nil},
		{"bytes=0-99999999999999999999", rangeWhole, nil},
		{"bytes=0-60,40-99", rangeWhole, nil}, // adds up past the size
		{"bytes=0-49,50-99", rangeOK, []r{{0, 50}, {50, 50}}},
		{"bytes=" + strings.Repeat("0-0,", 100), rangeOK, nil}, // 100 ranges: served
		{"bytes=" + strings.Repeat("0-0,", 101), rangeWhole, nil},
	} {
		got, kind := parseRange(nil, []byte(c.h), size)
		if kind != c.kind {
			t.Errorf("%q: kind %d, want %d", c.h, kind, c.kind)
			continue
		}
		if c.want != nil && (len(got) != len(c.want) || !equalRanges(got, c.want)) {
			t.Errorf("%q: %v, want %v", c.h, got, c.want)
		}
		if kind != rangeOK && len(got) != 0 {
			t.Errorf("%q: ranges %v with kind %d", c.h, got, kind)
		}
	}
	if _, kind := parseRange(nil, []byte("bytes=0-"), 0); kind != rangeWhole {
		t.Errorf("empty representation: kind %d, want whole", kind)
	}
}

func equalRanges(a, b []byteRange) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMatchETag(t *testing.T) {
	const tag = `"abc"`
	for _, c := range []struct {
		list         string
		strong, weak bool
	}{
		{`"abc"`, true, true},
		{`W/"abc"`, false, true},
		{`*`, true, true},
		{`"x", "abc"`, true, true},
		{`"x",W/"abc"`, false, true},
		{`"x"`, false, false},
		{`"ab"`, false, false},
		{`abc`, false, false},
		{`"abc`, false, false},
		{`W/abc`, false, false},
		{``, false, false},
		{` , "abc"`, true, true},
	} {
		if got := matchETag([]byte(c.list), []byte(tag), false); got != c.strong {
			t.Errorf("strong %q: %v", c.list, got)
		}
		if got := matchETag([]byte(c.list), []byte(tag), true); got != c.weak {
			t.Errorf("weak %q: %v", c.list, got)
		}
	}
}

func TestPickEncoding(t *testing.T) {
	both := encBr | encGzip
	all := encBr | encGzip | encZstd
	for _, c := range []struct {
		ae    string
		avail uint8
		want  uint8
	}{
		{"gzip, deflate, br", both, encBr},
		{"gzip", both, encGzip},
		{"GZIP", both, encGzip},
		{"x-gzip", both, encGzip},
		{"br", both, encBr},
		{"br;q=0.5, gzip", both, encGzip},
		{"br;q=1.0, gzip;q=1", both, encBr},
		{"br ; q=0.9, gzip;q=0.8", both, encBr},
		{"br;q=0, gzip;q=0", both, 0},
		{"br;q=0.000", both, 0},
		{"br;q=0.001", both, encBr},
		{"*", both, encBr},
		{"*;q=0", both, 0},
		{"*;q=0, gzip", both, encGzip},
		{"br;q=0, *", both, encGzip},
		{"identity", both, 0},
		{"deflate, zstd", both, 0},
		{"gzip, br", encGzip, encGzip},
		{"br", encGzip, 0},
		{"gzip, br", 0, 0},
		{"br;q=x", both, 0},
		{"", both, 0},
		{"zstd", all, encZstd},
		{"ZSTD;q=0.5, gzip;q=0.4", all, encZstd},
		{"gzip, zstd", all, encZstd},
		{"gzip, zstd, br", all, encBr},
		{"gzip, zstd, br;q=0.9", all, encZstd},
		{"*", all, encBr},
		{"*", encGzip | encZstd, encZstd},
		{"zstd;q=0, *", encZstd | encGzip, encGzip},
	} {
		if got := pickEncoding([]byte(c.ae), c.avail, &defaultPref); got != c.want {
			t.Errorf("pickEncoding(%q, %b) = %d, want %d", c.ae, c.avail, got, c.want)
		}
	}
}

// TestPickEncodingPref: on a quality tie the configured order decides;
// quality always beats order.
func TestPickEncodingPref(t *testing.T) {
	all := encBr | encGzip | encZstd
	gzFirst := [nCodings]uint8{encGzip, encZstd, encBr}
	for _, c := range []struct {
		ae   string
		want uint8
	}{
		{"gzip, br, zstd", encGzip},
		{"br, zstd", encZstd},
		{"br", encBr},
		{"gzip;q=0.5, br", encBr},
		{"*", encGzip},
	} {
		if got := pickEncoding([]byte(c.ae), all, &gzFirst); got != c.want {
			t.Errorf("pickEncoding(%q) = %d, want %d", c.ae, got, c.want)
		}
	}
	onlyBr := [nCodings]uint8{encBr}
	if got := pickEncoding([]byte("gzip, br"), all, &onlyBr); got != encBr {
		t.Errorf("pref without gzip picked %d", got)
	}
	if got := pickEncoding([]byte("gzip"), all, &onlyBr); got != 0 {
		t.Errorf("a coding outside pref picked: %d", got)
	}
}

// FuzzCleanPath checks cleanPath's invariants on any input: a cleaned path
// starts with one '/', has no empty, "." or ".." segment, no backslash,
// NUL or control byte, and cleaning it again (after escaping '%') is stable.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/%2e%2e/x", "/a%2fb", "//x//", "/.a", "/%c0%ae/", "/a/./b/.", "/%252e", "/dir../"} {
		f.Add(s, false)
		f.Add(s+"/.well-known/x", false)
	}
	f.Fuzz(func(t *testing.T, raw string, dotAll bool) {
		dot := dotWellKnown
		if dotAll {
			dot = dotServe
		}
		got, st := cleanPath(nil, []byte(raw), dot)
		if st != 0 {
			if st != 400 && st != 404 {
				t.Fatalf("status %d", st)
			}
			return
		}
		p := string(got)
		if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") {
			t.Fatalf("%q -> %q", raw, p)
		}
		for i, seg := range strings.Split(p[1:], "/") {
			if seg == "." || seg == ".." || (!dotAll && strings.HasPrefix(seg, ".") && !(i == 0 && seg == ".well-known")) {
				t.Fatalf("%q -> %q: segment %q", raw, p, seg)
			}
		}
		for i := 0; i < len(p); i++ {
			if badByte[p[i]] {
				t.Fatalf("%q -> %q: byte %#x", raw, p, p[i])
			}
		}
		again, st := cleanPath(nil, []byte(strings.ReplaceAll(p, "%", "%25")), dot)
		if st != 0 || string(again) != p {
			t.Fatalf("%q -> %q -> %q (%d)", raw, p, again, st)
		}
	})
}
