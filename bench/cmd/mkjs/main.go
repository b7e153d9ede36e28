// Command mkjs writes a deterministic JavaScript-like file of exactly -size
// bytes for the compression workload: functions, identifiers from a
// vocabulary, numbers and strings in the proportions of an unminified
// application bundle, so that compressors see text that compresses about as
// well as real JavaScript (gzip -6 to roughly a quarter), not a repeated
// line.
//
//	mkjs -size 102400 -out app.js
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
)

var words = strings.Fields(`state props value index count items result error data config options
element node parent child children event target handler callback promise response request
user session token cache store render update mount unmount effect memo context ref key list
map filter reduce push length name type id label title width height offset position style
className visible enabled loading selected active current next prev first last total page
size limit query params headers body status message timeout retry delay interval queue stack
buffer stream reader writer encoder decoder format parse validate normalize transform merge`)

var keywords = []string{"const", "let", "return", "if", "else", "for", "while", "await", "new", "typeof"}

// rng is a xorshift generator: the same bytes on every machine.
type rng uint64

func (r *rng) n(k int) int {
	*r ^= *r << 13
	*r ^= *r >> 7
	*r ^= *r << 17
	return int(uint64(*r) % uint64(k))
}

func main() {
	size := flag.Int("size", 100<<10, "bytes")
	out := flag.String("out", "app.js", "output file")
	flag.Parse()
	r := rng(0x9e3779b97f4a7c15)
	var b strings.Builder
	ident := func() string {
		w := words[r.n(len(words))]
		if r.n(3) == 0 {
			w2 := words[r.n(len(words))]
			w += strings.ToUpper(w2[:1]) + w2[1:]
		}
		return w
	}
	expr := func() string {
		switch r.n(6) {
		case 0:
			return fmt.Sprint(r.n(10000))
		case 1:
			return `"` + ident() + "-" + ident() + `"`
		case 2:
			return ident() + "." + ident()
		case 3:
			return ident() + "(" + ident() + ", " + fmt.Sprint(r.n(100)) + ")"
		case 4:
			return ident() + "[" + ident() + "]"
		}
		return ident() + " " + []string{"+", "-", "*", "&&", "||", "===", "!=="}[r.n(7)] + " " + ident()
	}
	for n := 0; b.Len() < *size; n++ {
		fmt.Fprintf(&b, "export function %s%d(%s, %s) {\n", ident(), n, ident(), ident())
		for k := r.n(8) + 2; k > 0; k-- {
			switch kw := keywords[r.n(len(keywords))]; kw {
			case "if", "while":
				fmt.Fprintf(&b, "  %s (%s) {\n    %s = %s;\n  }\n", kw, expr(), ident(), expr())
			case "for":
				fmt.Fprintf(&b, "  for (let i = 0; i < %s.length; i++) {\n    %s(%s[i]);\n  }\n", ident(), ident(), ident())
			case "else":
				fmt.Fprintf(&b, "  %s.%s = %s;\n", ident(), ident(), expr())
			default:
				fmt.Fprintf(&b, "  %s %s = %s;\n", kw, ident(), expr())
			}
		}
		fmt.Fprintf(&b, "  return %s;\n}\n\n", expr())
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkjs:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(f)
	w.WriteString(b.String()[:*size])
	if err := w.Flush(); err != nil || f.Close() != nil {
		fmt.Fprintln(os.Stderr, "mkjs: write failed")
		os.Exit(1)
	}
}
