package files

// This file holds the pure HTTP rules of a file answer: entity-tag lists,
// Range, Accept-Encoding. None of it allocates.

// Content codings, as bits of entry.variants (precompressed siblings on
// disk) and of the in-memory compressed forms (see pack).
const (
	encBr   uint8 = 1 // "x.br", Content-Encoding: br
	encGzip uint8 = 2 // "x.gz", Content-Encoding: gzip
	encZstd uint8 = 4 // "x.zst", Content-Encoding: zstd

	nCodings = 3
)

// codingIndex is a coding's index in per-coding arrays (entry.linked,
// pack.vars): br 0, gzip 1, zstd 2.
func codingIndex(enc uint8) int {
	switch enc {
	case encGzip:
		return 1
	case encZstd:
		return 2
	}
	return 0
}

// encodingSuffix and encodingName give a coding's file suffix and token.
func encodingSuffix(enc uint8) string {
	switch enc {
	case encBr:
		return ".br"
	case encZstd:
		return ".zst"
	}
	return ".gz"
}

func encodingName(enc uint8) string {
	switch enc {
	case encBr:
		return "br"
	case encZstd:
		return "zstd"
	}
	return "gzip"
}

// codingByName returns the coding named s ("br", "zstd", "gzip"), or 0.
func codingByName(s string) uint8 {
	switch s {
	case "br":
		return encBr
	case "zstd":
		return encZstd
	case "gzip":
		return encGzip
	}
	return 0
}

// defaultPref is the order codings are preferred in on a quality tie when
// the configuration says nothing: smallest output first.
var defaultPref = [nCodings]uint8{encBr, encZstd, encGzip}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// matchETag reports whether the entity-tag list h (If-Match or
// If-None-Match) matches etag (quoted, strong). "*" matches any current
// representation. With weak false a weak tag in the list never matches
// (strong comparison, RFC 9110 8.8.3.2); with weak true "W/" is ignored.
// A malformed list matches nothing from the bad element on.
func matchETag(h, etag []byte, weak bool) bool {
	i := 0
	for i < len(h) {
		c := h[i]
		if c == ',' || isSpace(c) {
			i++
			continue
		}
		if c == '*' {
			return true
		}
		isWeak := false
		if c == 'W' && i+1 < len(h) && h[i+1] == '/' {
			isWeak = true
			i += 2
		}
		if i >= len(h) || h[i] != '"' {
			return false
		}
		j := i + 1
		for j < len(h) && h[j] != '"' {
			j++
		}
		if j >= len(h) {
			return false
		}
		tag := h[i : j+1]
		if (weak || !isWeak) && string(tag) == string(etag) {
			return true
		}
		i = j + 1
	}
	return false
}

// byteRange is one satisfiable range: Len bytes from Off.
type byteRange struct {
	Off, Len int64
}

// Results of parseRange.
const (
	rangeWhole         = iota // ignore Range: 200 with the whole representation
	rangeOK                   // 206 with the ranges returned
	rangeUnsatisfiable        // 416
)

// maxRanges is the most ranges served in one multipart answer; a request for
// more gets the whole representation.
const maxRanges = 100

// parseRange parses a Range field value against a representation of size
// bytes and appends the satisfiable ranges, clamped, to dst[:0].
//
// An unknown unit, invalid syntax (a last-pos before its first-pos, a
// non-digit, an overflow), more than maxRanges ranges, ranges adding up past
// size, and any range of an empty representation all give rangeWhole.
func parseRange(dst []byteRange, h []byte, size int64) ([]byteRange, int) {
	dst = dst[:0]
	if len(h) < 6 || h[5] != '=' || (h[0]|0x20) != 'b' || (h[1]|0x20) != 'y' ||
		(h[2]|0x20) != 't' || (h[3]|0x20) != 'e' || (h[4]|0x20) != 's' || size <= 0 {
		return dst, rangeWhole
	}
	i, n, total := 6, 0, int64(0)
	for {
		for i < len(h) && (isSpace(h[i]) || h[i] == ',') {
			i++
		}
		if i >= len(h) {
			break
		}
		n++
		if n > maxRanges {
			return dst[:0], rangeWhole
		}
		var first, last int64 = -1, -1
		var ok bool
		if h[i] != '-' {
			if first, i, ok = parseDigits(h, i); !ok {
				return dst[:0], rangeWhole
			}
		}
		if i >= len(h) || h[i] != '-' {
			return dst[:0], rangeWhole
		}
		i++
		if i < len(h) && h[i] >= '0' && h[i] <= '9' {
			if last, i, ok = parseDigits(h, i); !ok {
				return dst[:0], rangeWhole
			}
		}
		for i < len(h) && isSpace(h[i]) {
			i++
		}
		if i < len(h) && h[i] != ',' {
			return dst[:0], rangeWhole
		}
		var r byteRange
		switch {
		case first < 0 && last < 0: // "-"
			return dst[:0], rangeWhole
		case first < 0: // suffix "-n"
			if last == 0 {
				continue
			}
			if last > size {
				last = size
			}
			r = byteRange{Off: size - last, Len: last}
		default:
			if last >= 0 && last < first {
				return dst[:0], rangeWhole
			}
			if first >= size {
				continue
			}
			if last < 0 || last >= size {
				last = size - 1
			}
			r = byteRange{Off: first, Len: last - first + 1}
		}
		total += r.Len
		if total > size {
			return dst[:0], rangeWhole
		}
		dst = append(dst, r)
	}
	if n == 0 {
		return dst, rangeWhole
	}
	if len(dst) == 0 {
		return dst, rangeUnsatisfiable
	}
	return dst, rangeOK
}

// parseDigits parses 1*DIGIT at h[i:] without overflow.
func parseDigits(h []byte, i int) (int64, int, bool) {
	start := i
	var v int64
	for i < len(h) && h[i] >= '0' && h[i] <= '9' {
		if v > (1<<62)/10 {
			return 0, i, false
		}
		v = v*10 + int64(h[i]-'0')
		i++
	}
	return v, i, i > start
}

// pickEncoding chooses the content coding to serve from the codings
// available (bits of encBr|encGzip|encZstd) and an Accept-Encoding value: the
// one with the highest quality, the earliest in pref on a tie. A coding is
// acceptable when listed (or covered by "*") with q > 0; "x-gzip" counts as
// gzip. It returns 0 for the identity.
func pickEncoding(ae []byte, avail uint8, pref *[nCodings]uint8) uint8 {
	var q [nCodings]int
	q[0], q[1], q[2] = -1, -1, -1
	qStar := -1
	i := 0
	for i < len(ae) {
		for i < len(ae) && (isSpace(ae[i]) || ae[i] == ',') {
			i++
		}
		start := i
		for i < len(ae) && ae[i] != ',' && ae[i] != ';' && !isSpace(ae[i]) {
			i++
		}
		tok := ae[start:i]
		qv := 1000
		for i < len(ae) && ae[i] != ',' {
			// Parameters: look for q=.
			if ae[i] == ';' {
				i++
				for i < len(ae) && isSpace(ae[i]) {
					i++
				}
				if i+1 < len(ae) && (ae[i]|0x20) == 'q' && ae[i+1] == '=' {
					qv, i = parseQ(ae, i+2)
					continue
				}
			}
			i++
		}
		switch {
		case equalFold(tok, "br"):
			q[0] = qv
		case equalFold(tok, "gzip"), equalFold(tok, "x-gzip"):
			q[1] = qv
		case equalFold(tok, "zstd"):
			q[2] = qv
		case len(tok) == 1 && tok[0] == '*':
			qStar = qv
		}
	}
	best, bestQ := uint8(0), 0
	for _, enc := range pref {
		if enc == 0 || avail&enc == 0 {
			continue
		}
		qv := q[codingIndex(enc)]
		if qv < 0 {
			qv = qStar
		}
		if qv > bestQ {
			best, bestQ = enc, qv
		}
	}
	return best
}

// parseQ parses a qvalue at ae[i:] in thousandths; a malformed one is 0 (the
// coding is then not chosen).
func parseQ(ae []byte, i int) (int, int) {
	if i >= len(ae) || (ae[i] != '0' && ae[i] != '1') {
		return 0, i
	}
	q := int(ae[i]-'0') * 1000
	i++
	if i < len(ae) && ae[i] == '.' {
		i++
		for mul := 100; i < len(ae) && ae[i] >= '0' && ae[i] <= '9'; mul /= 10 {
			q += int(ae[i]-'0') * mul
			i++
		}
	}
	if q > 1000 {
		q = 1000
	}
	return q, i
}

// equalFold reports whether b equals the lower-case ASCII s ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != s[i] && b[i] != s[i] {
			return false
		}
	}
	return true
}
