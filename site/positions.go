package site

import (
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// positions maps each key of a TOML document, as an indexed path
// ("site[1].rule[0].match"), to the line it is on, so that an error found
// after decoding (a bad glob, a missing root) can name its line. The decoder
// reports the lines of syntax errors, wrong types and unknown keys itself.
type positions map[string]int

// indexPositions walks the document's expressions with go-toml's parser.
// It assumes a document the decoder accepted.
func indexPositions(data []byte) positions {
	pos := positions{}
	arrays := map[string]int{} // array-table path -> elements so far
	var p unstable.Parser
	p.Reset(data)
	line := func(n *unstable.Node) int {
		if n.Raw.Length > 0 {
			return p.Shape(n.Raw).Start.Line
		}
		if len(n.Data) > 0 {
			if r := p.Range(n.Data); r.Length > 0 {
				return p.Shape(r).Start.Line
			}
		}
		return 0
	}
	resolve := func(parts []string) string {
		path := ""
		for _, k := range parts {
			path = join(path, k)
			if n, ok := arrays[path]; ok {
				path += "[" + strconv.Itoa(n-1) + "]"
			}
		}
		return path
	}
	cur := ""
	for p.NextExpression() {
		e := p.Expression()
		parts, first := keyOf(e)
		switch e.Kind {
		case unstable.Table:
			cur = resolve(parts)
			pos.set(cur, line(first))
		case unstable.ArrayTable:
			if len(parts) == 0 {
				continue
			}
			base := join(resolve(parts[:len(parts)-1]), parts[len(parts)-1])
			n := arrays[base]
			arrays[base] = n + 1
			cur = base + "[" + strconv.Itoa(n) + "]"
			pos.set(cur, line(first))
			pos.set(base, line(first))
		case unstable.KeyValue:
			l := line(e)
			if l == 0 {
				l = line(first)
			}
			path := cur
			for _, k := range parts {
				path = join(path, k)
			}
			pos.set(path, l)
			pos.value(path, e.Value(), l, line)
		}
	}
	return pos
}

// value records the keys inside an inline table or an array of them, on the
// line of their own key-value when known, else on l.
func (pos positions) value(path string, v *unstable.Node, l int, line func(*unstable.Node) int) {
	if v == nil {
		return
	}
	switch v.Kind {
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			kv := it.Node()
			if kv.Kind != unstable.KeyValue {
				continue
			}
			parts, _ := keyOf(kv)
			p := path
			for _, k := range parts {
				p = join(p, k)
			}
			kl := line(kv)
			if kl == 0 {
				kl = l
			}
			pos.set(p, kl)
			pos.value(p, kv.Value(), kl, line)
		}
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); i++ {
			el := it.Node()
			elLine := line(el)
			if elLine == 0 {
				elLine = l
			}
			p := path + "[" + strconv.Itoa(i) + "]"
			pos.set(p, elLine)
			pos.value(p, el, elLine, line)
		}
	}
}

func (pos positions) set(path string, line int) {
	if _, ok := pos[path]; !ok && line > 0 {
		pos[path] = line
	}
}

// line returns the line of path, or of its nearest ancestor that has one
// (0 when none does).
func (pos positions) line(path string) int {
	for path != "" {
		if l, ok := pos[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// keyOf returns the parts of an expression's key and its first key node.
func keyOf(n *unstable.Node) ([]string, *unstable.Node) {
	var parts []string
	var first *unstable.Node
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if first == nil {
			first = k
		}
		parts = append(parts, string(k.Data))
	}
	if first == nil {
		first = n
	}
	return parts, first
}

// join appends key k to path, quoting it when it is not a bare key.
func join(path, k string) string {
	if !bareKey(k) {
		k = strconv.Quote(k)
	}
	if path == "" {
		return k
	}
	return path + "." + k
}

func bareKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
