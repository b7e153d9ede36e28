package site

import (
	"errors"
	"fmt"
	"strings"
)

// A path glob, compiled once at load and matched without allocation.
//
// Syntax (matched against the clean, percent-decoded path, case-sensitive):
//
//	*      any run of bytes without '/', possibly empty
//	**     a whole segment only ("/a/**", "/a/**/b", "/**"): zero or more
//	       segments; "/a/**" matches "/a", "/a/" and everything below
//	\c     the byte c itself (to match a literal '*', '?', '[' or '{');
//	       "\/" is just '/', which separates segments escaped or not
//
// A pattern has at most one "**" and at most one '*' per segment: with
// those limits a match costs time linear in the path's length, whatever the
// path (backtracking over several "**" could take quadratic time or worse
// on a crafted path, and matching runs on the loop).
//
// Every '*' and '**' is a capture, numbered from 1 left to right; a "**"
// capture does not include the slash before it ("/a/**" on "/a/b/c" captures
// "b/c"). '?', '[' and '{' are reserved (an error unless escaped), so that
// a pattern written for another server's richer syntax fails loudly instead
// of silently matching nothing.

// maxCaptures is the most wildcards a glob may have ($1 to $9).
const maxCaptures = 9

// Token kinds of a compiled glob.
const (
	tokLit      = iota // the literal lit
	tokStar            // [^/]*
	tokGlobstar        // "" or "/" followed by anything
)

type token struct {
	kind uint8
	ci   uint8 // capture index (from 0) of a wildcard
	lit  string
}

// glob is a compiled pattern. Invariant: toks never has two adjacent
// literals, and ncap equals the number of wildcard tokens.
type glob struct {
	src    string
	toks   []token
	prefix string // literal every match starts with
	suffix string // literal every match ends with
	minLen int    // sum of the literal lengths
	ncap   int
	shape  uint8 // a common shape matched without the general search
}

// Shapes of globs with a direct match.
const (
	shapeGeneral = iota
	shapeExact   // no wildcard: p == prefix
	shapeTree    // prefix + "/**": prefix itself or anything below it
	shapeStar    // prefix + "*" + suffix in the last segment
)

// captures holds the byte offsets of a match's captures: [i][0] start,
// [i][1] end of capture i+1.
type captures [maxCaptures][2]int

var errGlob = errors.New("bad glob")

// compileGlob compiles pattern; its errors say what is wrong, briefly.
func compileGlob(pattern string) (*glob, error) {
	if pattern == "" || pattern[0] != '/' {
		return nil, fmt.Errorf("%w %q: must start with '/'", errGlob, pattern)
	}
	g := &glob{src: pattern}
	var lit strings.Builder
	globstars, segStars := 0, 0
	flush := func() {
		if lit.Len() > 0 {
			g.toks = append(g.toks, token{kind: tokLit, lit: lit.String()})
			g.minLen += lit.Len()
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '\\':
			if i+1 == len(pattern) {
				return nil, fmt.Errorf("%w %q: trailing backslash", errGlob, pattern)
			}
			i++
			if pattern[i] == '/' {
				segStars = 0 // "\/" is '/', a separator like any other
			}
			lit.WriteByte(pattern[i])
		case '?', '[', '{':
			return nil, fmt.Errorf("%w %q: %q is not supported (only * and **; escape it with a backslash)", errGlob, pattern, c)
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				// "**" must be a whole segment: after '/' and before '/'
				// or the end.
				if pattern[i-1] != '/' || (i+2 < len(pattern) && pattern[i+2] != '/') {
					return nil, fmt.Errorf("%w %q: ** must be a whole segment (/**/ or a final /**)", errGlob, pattern)
				}
				// The globstar takes the slash before it.
				s := lit.String()
				lit.Reset()
				lit.WriteString(s[:len(s)-1])
				flush()
				g.toks = append(g.toks, token{kind: tokGlobstar, ci: uint8(g.ncap)})
				i++
				if globstars++; globstars > 1 {
					return nil, fmt.Errorf("%w %q: more than one **", errGlob, pattern)
				}
			} else {
				if segStars++; segStars > 1 {
					return nil, fmt.Errorf("%w %q: more than one * in a segment", errGlob, pattern)
				}
				flush()
				g.toks = append(g.toks, token{kind: tokStar, ci: uint8(g.ncap)})
			}
			g.ncap++
			if g.ncap > maxCaptures {
				return nil, fmt.Errorf("%w %q: more than %d wildcards", errGlob, pattern, maxCaptures)
			}
		case '/':
			segStars = 0
			lit.WriteByte(c)
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	if len(g.toks) > 0 && g.toks[0].kind == tokLit {
		g.prefix = g.toks[0].lit
	}
	if n := len(g.toks); n > 1 && g.toks[n-1].kind == tokLit {
		g.suffix = g.toks[n-1].lit
	}
	switch {
	case g.ncap == 0:
		g.shape = shapeExact
	case g.ncap == 1 && g.toks[len(g.toks)-1].kind == tokGlobstar:
		g.shape = shapeTree
	case g.ncap == 1 && len(g.toks) <= 3 && g.toks[len(g.toks)-1].kind != tokGlobstar &&
		g.toks[0].kind != tokGlobstar && strings.IndexByte(g.suffix, '/') < 0:
		g.shape = shapeStar
	}
	return g, nil
}

// match reports whether p matches g, filling caps (when non-nil) with the
// captures' offsets in p. It never allocates.
func (g *glob) match(p string, caps *captures) bool {
	if len(p) < g.minLen || p[:len(g.prefix)] != g.prefix || p[len(p)-len(g.suffix):] != g.suffix {
		return false
	}
	switch g.shape {
	case shapeExact:
		return len(p) == len(g.prefix)
	case shapeTree:
		n := len(g.prefix)
		switch {
		case len(p) == n:
			if caps != nil {
				caps[0] = [2]int{n, n}
			}
			return true
		case p[n] == '/':
			if caps != nil {
				caps[0] = [2]int{n + 1, len(p)}
			}
			return true
		}
		return false
	case shapeStar:
		end := len(p) - len(g.suffix)
		if strings.IndexByte(p[len(g.prefix):end], '/') >= 0 {
			return false
		}
		if caps != nil {
			caps[0] = [2]int{len(g.prefix), end}
		}
		return true
	}
	return g.matchFrom(0, p, 0, caps)
}

// matchFrom matches g.toks[ti:] against p[pi:], recording captures in caps
// when it is not nil.
func (g *glob) matchFrom(ti int, p string, pi int, caps *captures) bool {
	for ti < len(g.toks) {
		t := &g.toks[ti]
		switch t.kind {
		case tokLit:
			if !strings.HasPrefix(p[pi:], t.lit) {
				return false
			}
			pi += len(t.lit)
			ti++
			continue
		}
		ci := t.ci
		last := ti == len(g.toks)-1
		if t.kind == tokStar {
			end := strings.IndexByte(p[pi:], '/')
			if end < 0 {
				end = len(p)
			} else {
				end += pi
			}
			if last {
				if end != len(p) {
					return false
				}
				setCap(caps, ci, pi, end)
				return true
			}
			// The next token is a literal: try each place it starts,
			// longest capture first. When it is the last token it can
			// only be at the end.
			next := g.toks[ti+1].lit
			if ti+2 == len(g.toks) && g.toks[ti+1].kind == tokLit {
				e := len(p) - len(next)
				if e < pi || e > end || p[e:] != next {
					return false
				}
				setCap(caps, ci, pi, e)
				return true
			}
			for e := end; e >= pi; e-- {
				if strings.HasPrefix(p[e:], next) && g.matchFrom(ti+1, p, e, caps) {
					setCap(caps, ci, pi, e)
					return true
				}
			}
			return false
		}
		// Globstar: "" or "/..." up to some end.
		if last {
			switch {
			case pi == len(p):
				setCap(caps, ci, pi, pi)
			case p[pi] == '/':
				setCap(caps, ci, pi+1, len(p))
			default:
				return false
			}
			return true
		}
		next := g.toks[ti+1].lit
		if ti+2 == len(g.toks) && g.toks[ti+1].kind == tokLit {
			// The last token: it can only be at the end.
			e := len(p) - len(next)
			switch {
			case e < pi || p[e:] != next:
				return false
			case e == pi:
				setCap(caps, ci, pi, pi)
			case p[pi] == '/':
				setCap(caps, ci, pi+1, e)
			default:
				return false
			}
			return true
		}
		// Longest first. A non-empty globstar starts with '/'.
		if pi < len(p) && p[pi] == '/' {
			for e := len(p); e > pi; e-- {
				if strings.HasPrefix(p[e:], next) && g.matchFrom(ti+1, p, e, caps) {
					setCap(caps, ci, pi+1, e)
					return true
				}
			}
		}
		if strings.HasPrefix(p[pi:], next) && g.matchFrom(ti+1, p, pi, caps) {
			setCap(caps, ci, pi, pi)
			return true
		}
		return false
	}
	return pi == len(p)
}

func setCap(caps *captures, ci uint8, start, end int) {
	if caps != nil {
		caps[ci] = [2]int{start, end}
	}
}
