package files

import (
	"math/big"
	"strings"
	"testing"
)

// This file holds differential fuzz targets for the pure request rules:
// parseRange and cleanPath are each compared with a reference written the
// plain way (split on the separators, decode, then decide), and must also
// allocate nothing. Their corpora live in testdata/fuzz/<Target>/.

// refRange is parseRange's reference: the Range grammar of RFC 9110 14.1.1
// with parseRange's documented limits, element by element.
func refRange(h string, size int64) ([]byteRange, int) {
	if len(h) < 6 || asciiLower(h[:6]) != "bytes=" || size <= 0 {
		return nil, rangeWhole
	}
	var out []byteRange
	n, total := 0, int64(0)
	for _, el := range strings.Split(h[6:], ",") {
		el = strings.Trim(el, " \t")
		if el == "" {
			continue
		}
		n++
		if n > maxRanges {
			return nil, rangeWhole
		}
		dash := strings.IndexByte(el, '-')
		if dash < 0 {
			return nil, rangeWhole
		}
		first, ok1 := refDigits(el[:dash])
		last, ok2 := refDigits(el[dash+1:])
		if !ok1 || !ok2 || (first < 0 && last < 0) {
			return nil, rangeWhole
		}
		var r byteRange
		switch {
		case first < 0:
			if last == 0 {
				continue
			}
			r = byteRange{Off: size - min(last, size), Len: min(last, size)}
		default:
			if last >= 0 && last < first {
				return nil, rangeWhole
			}
			if first >= size {
				continue
			}
			if last < 0 || last >= size {
				last = size - 1
			}
			r = byteRange{Off: first, Len: last - first + 1}
		}
		if total += r.Len; total > size {
			return nil, rangeWhole
		}
		out = append(out, r)
	}
	switch {
	case n == 0:
		return nil, rangeWhole
	case len(out) == 0:
		return nil, rangeUnsatisfiable
	}
	return out, rangeOK
}

// refDigits parses "" (absent: -1) or 1*DIGIT. A number counts as an
// overflow, as in parseDigits, when the number without its last digit
// exceeds 2^62/10.
func refDigits(s string) (int64, bool) {
	if s == "" {
		return -1, true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, _ := new(big.Int).SetString(s, 10)
	if new(big.Int).Quo(v, big.NewInt(10)).Cmp(big.NewInt((1<<62)/10)) > 0 {
		return 0, false
	}
	return v.Int64(), true
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// FuzzParseRange compares parseRange with refRange on any field value and
// size, checks that every range it returns lies inside the representation,
// and (on a sample of inputs) that it allocates nothing into a buffer of
// maxRanges.
func FuzzParseRange(f *testing.F) {
	for _, h := range []string{"bytes=0-9", "bytes=-10", "bytes=90-", "BYTES=0-0", "bytes=0-1, 5-6 ,\t9-9",
		"bytes=0-1,,5-6", "bytes=100-", "bytes=-0", "bytes=5-4", "bytes=-", "bytes=1-2x", "bytes=",
		"bytes=99999999999999999999-", "bytes=4611686018427387909-", "bytes=46116860184273879100-",
		"bytes=0-60,40-99", "bytes=" + strings.Repeat("0-0,", 101), "items=0-1", "bytes 0-1"} {
		f.Add(h, int64(100))
	}
	f.Add("bytes=0-", int64(0))
	f.Add("bytes=-5", int64(-1))
	f.Add("bytes=0-,0-", int64(1<<62))
	dst := make([]byteRange, 0, maxRanges)
	calls := 0
	f.Fuzz(func(t *testing.T, h string, size int64) {
		b := []byte(h)
		got, kind := parseRange(dst, b, size)
		want, wantKind := refRange(h, size)
		if kind != wantKind || len(got) != len(want) || !equalRanges(got, want) {
			t.Fatalf("parseRange(%q, %d) = %v, %d; reference %v, %d", h, size, got, kind, want, wantKind)
		}
		var total int64
		for _, r := range got {
			if r.Off < 0 || r.Len < 1 || r.Off+r.Len > size {
				t.Fatalf("parseRange(%q, %d): range %v outside the representation", h, size, r)
			}
			total += r.Len
		}
		if (len(got) > 0 && total > size) || len(got) > maxRanges {
			t.Fatalf("parseRange(%q, %d): %d ranges, %d bytes", h, size, len(got), total)
		}
		// AllocsPerRun stops the world: a sample keeps the fuzzer fast.
		if calls++; calls%64 == 1 && testing.AllocsPerRun(1, func() { parseRange(dst, b, size) }) != 0 {
			t.Fatalf("parseRange(%q) allocates", h)
		}
	})
}

// refCleanPath is cleanPath's reference: split the raw path on '/', decode
// each segment's escapes, resolve "." and ".." with a stack, then apply the
// dot policy.
func refCleanPath(raw string, dot dotPolicy) (string, int) {
	if raw == "" || raw[0] != '/' {
		return "", 400
	}
	var stack []string
	raws := strings.Split(raw[1:], "/")
	trailing := false
	for i, rs := range raws {
		seg, ok := refUnescape(rs)
		if !ok {
			return "", 400
		}
		last := i == len(raws)-1
		switch seg {
		case "", ".":
			trailing = last
		case "..":
			if len(stack) == 0 {
				return "", 400
			}
			stack = stack[:len(stack)-1]
			trailing = last
		default:
			stack = append(stack, seg)
			trailing = false
		}
	}
	p := "/" + strings.Join(stack, "/")
	if trailing && len(stack) > 0 {
		p += "/"
	}
	for i, seg := range stack {
		if seg[0] == '.' && dot != dotServe && !(dot == dotWellKnown && i == 0 && seg == ".well-known") {
			return "", 404
		}
	}
	return p, 0
}

// refUnescape decodes one segment's %XX escapes; it fails on a malformed
// escape, an encoded '/', and any control byte, DEL or backslash, raw or
// decoded.
func refUnescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return "", false
			}
			hi := strings.IndexByte("0123456789abcdef", asciiLower(s[i+1 : i+2])[0])
			lo := strings.IndexByte("0123456789abcdef", asciiLower(s[i+2 : i+3])[0])
			if hi < 0 || lo < 0 {
				return "", false
			}
			c = byte(hi<<4 | lo)
			if c == '/' {
				return "", false
			}
			i += 2
		}
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// FuzzDecodePath compares cleanPath with refCleanPath under each dot policy
// (status and, when accepted, the path), and checks (on a sample of inputs)
// that it allocates nothing into a buffer as long as the raw path.
func FuzzDecodePath(f *testing.F) {
	for _, s := range []string{"/", "/a/../b", "/%2e%2e/x", "/%2E%2e/", "/a%2fb", "/a%2Fb", "//x//", "/.a", "/%c0%ae/",
		"/a/./b/.", "/%252e", "/dir../", "/..", "/a/..", "/a/../..", "/%", "/%4", "/%zz", "/%00", "/a%5cb", "/a\\b",
		"/.well-known/acme-challenge/x", "/.well-known/.x", "/.well-knownx", "/x/.well-known", "/%2ewell-known/", "a", ""} {
		f.Add(s, uint8(dotWellKnown))
		f.Add(s, uint8(dotHide))
	}
	dst := make([]byte, 0, 4096)
	calls := 0
	f.Fuzz(func(t *testing.T, raw string, d uint8) {
		dot := dotPolicy(d % 3)
		got, st := cleanPath(dst, []byte(raw), dot)
		want, wantSt := refCleanPath(raw, dot)
		if st != wantSt || (st == 0 && string(got) != want) {
			t.Fatalf("cleanPath(%q, dot=%d) = %q, %d; reference %q, %d", raw, dot, got, st, want, wantSt)
		}
		if calls++; calls%64 == 1 && len(raw) <= cap(dst) {
			b := []byte(raw)
			if testing.AllocsPerRun(1, func() { cleanPath(dst, b, dot) }) != 0 {
				t.Fatalf("cleanPath(%q) allocates", raw)
			}
		}
	})
}
