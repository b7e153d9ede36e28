package site

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestParseErrors: every error is one line naming the file, the line and
// the key.
func TestParseErrors(t *testing.T) {
	hashed, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	for _, c := range []struct {
		name, toml string
		line       int
		key, msg   string
	}{
		{"syntax", "root = \"/x\"\nsite = [", 2, "", ""},
		{"unknown nested key", "[[site]]\nhosts = [\"a\"]\nroot = \"/a\"\nrooot = \"/b\"\n", 4, "site[0].rooot", "unknown key"},
		{"unknown rule key", "[[site]]\nhosts = [\"a\"]\nroot = \"/a\"\n[[site.rule]]\nmatch = \"/x\"\nheaderz = { A = \"b\" }\n", 6, "site[0].rule[0].headerz", "unknown key"},
		{"unknown key in second site", "[[site]]\nhosts = [\"a\"]\nroot = \"/a\"\n[[site]]\nhosts = [\"b\"]\nroot = \"/b\"\nfoo = 1\n", 7, "site[1].foo", "unknown key"},
		{"unknown inline key", "[[rule]]\nmatch = \"/x\"\nredirect = { to = \"/y\", statuss = 301 }\n", 3, "rule[0].redirect.statuss", "unknown key"},
		{"unknown compress key", "[compress]\nlevel = 9\n", 2, "compress.level", "unknown key"},
		{"wrong type", "[[site]]\nhosts = \"a.test\"\n", 2, "site.hosts", "cannot decode"},
		{"bad glob", "[[rule]]\nmatch = \"/a**\"\nstatus = 404\n", 2, "rule[0].match", "bad glob"},
		{"glob without slash", "\n[[site]]\nhosts = [\"a\"]\nroot = \"/a\"\n  [[site.rule]]\n  match = \"assets/**\"\n  status = 404\n", 6, "site[0].rule[0].match", "must start with '/'"},
		{"unknown capture", "[[rule]]\nmatch = \"/old/*\"\nredirect = { to = \"/new/$2\" }\n", 3, "rule[0].redirect.to", "$2: the match has only 1 capture(s)"},
		{"capture without wildcard", "[[rule]]\nmatch = \"/old\"\nredirect = { to = \"/new/$1\" }\n", 3, "rule[0].redirect.to", "no capture"},
		{"bad dollar", "[[rule]]\nmatch = \"/old/*\"\nredirect = { to = \"/new/$x\" }\n", 3, "rule[0].redirect.to", "$x"},
		{"redirect status", "[[rule]]\nmatch = \"/old/*\"\nredirect = { to = \"/new\", status = 200 }\n", 3, "rule[0].redirect.status", "not a redirect status"},
		{"network-path redirect", "[[rule]]\nmatch = \"/x\"\nredirect = { to = \"//evil.test/\" }\n", 3, "rule[0].redirect.to", "another host"},
		{"relative redirect", "[[rule]]\nmatch = \"/x\"\nredirect = { to = \"y\" }\n", 3, "rule[0].redirect.to", "must be a path"},
		{"redirect and status", "[[rule]]\nmatch = \"/x\"\nredirect = { to = \"/y\" }\nstatus = 410\n", 4, "rule[0].status", "not both"},
		{"empty rule", "[[rule]]\nmatch = \"/x\"\n", 1, "rule[0]", "needs headers"},
		{"no match", "[[rule]]\nstatus = 404\n", 1, "rule[0]", "needs match"},
		{"bad status", "[[rule]]\nmatch = \"/x\"\nstatus = 302\n", 3, "rule[0].status", "want 2xx"},
		{"reserved header", "[[rule]]\nmatch = \"/x\"\nheaders = { \"Content-Length\" = \"5\" }\n", 3, "rule[0].headers.Content-Length", "may not be set"},
		{"header with CRLF", "[[rule]]\nmatch = \"/x\"\nheaders = { \"X-A\" = \"a\\r\\nSet-Cookie: x\" }\n", 3, "rule[0].headers.X-A", "control bytes"},
		{"bad header name", "[[rule]]\nmatch = \"/x\"\nheaders = { \"X A\" = \"1\" }\n", 3, `rule[0].headers."X A"`, "not a field name"},
		{"header twice", "[[rule]]\nmatch = \"/x\"\nheaders = { \"X-A\" = \"1\", \"x-a\" = \"2\" }\n", 3, "rule[0].headers.x-a", "set twice"},
		{"host with port", "[[site]]\nhosts = [\"a.test:80\"]\nroot = \"/a\"\n", 2, "site[0].hosts[0]", "no port"},
		{"duplicate host", "[[site]]\nhosts = [\"a.test\"]\nroot = \"/a\"\n[[site]]\nhosts = [\"A.test\"]\nroot = \"/b\"\n", 5, "site[1].hosts[0]", "already site[0]'s"},
		{"no hosts", "[[site]]\nroot = \"/a\"\n", 1, "site[0].hosts", "at least one host"},
		{"no root", "[[site]]\nhosts = [\"a\"]\n", 1, "site[0]", "needs a root"},
		{"bad fallback", "fallback = \"index.html\"\n", 1, "fallback", "clean file path"},
		{"bad hash", "[[rule]]\nmatch = \"/x/**\"\nbasic_auth = { realm = \"r\", users = { u = \"plain\" } }\n", 3, "rule[0].basic_auth.users.u", "not a bcrypt hash"},
		{"no realm", "[[rule]]\nmatch = \"/x/**\"\nbasic_auth = { users = { u = \"" + string(hashed) + "\" } }\n", 3, "rule[0].basic_auth.realm", "needs a realm"},
		{"no users", "[[rule]]\nmatch = \"/x/**\"\nbasic_auth = { realm = \"r\" }\n", 3, "rule[0].basic_auth.users", "at least one user"},
		{"bad encoding", "[compress]\nencodings = [\"br\", \"lzma\"]\n", 2, "compress.encodings[1]", "unknown encoding"},
		{"bad type", "[compress]\ntypes = [\"text\"]\n", 2, "compress.types[0]", "not a media type"},
		{"sizes", "[compress]\nmin_size = 10\nmax_size = 5\n", 2, "compress.min_size", "larger than max_size"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("conf.toml", []byte(c.toml))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("not errors.Is ErrConfig")
			}
			if e.File != "conf.toml" || e.Line != c.line || (c.key != "" && e.Key != c.key) || !strings.Contains(e.Msg, c.msg) {
				t.Errorf("got %+v\nwant line %d key %q msg ~%q", *e, c.line, c.key, c.msg)
			}
			s := err.Error()
			if strings.ContainsAny(s, "\r\n") {
				t.Errorf("error spans lines: %q", s)
			}
			prefix := "conf.toml:" + itoa(c.line) + ": "
			if c.key != "" {
				prefix += c.key + ": "
			}
			if !strings.HasPrefix(s, prefix) {
				t.Errorf("%q does not start with %q", s, prefix)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestSettings: top-level keys the site layer does not own are handed to
// the command, in file order, with their values and lines.
func TestSettings(t *testing.T) {
	cfg, err := Parse("c.toml", []byte(`listen = ["127.0.0.1:1", ":2"]
workers = 3
root = "/r"
header_timeout = "5s"
pin = true
[[site]]
hosts = ["a"]
root = "/a"
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{
		{"listen", []any{"127.0.0.1:1", ":2"}, 1},
		{"workers", int64(3), 2},
		{"header_timeout", "5s", 4},
		{"pin", true, 5},
	}
	if len(cfg.Settings) != len(want) {
		t.Fatalf("settings %+v", cfg.Settings)
	}
	for i, w := range want {
		g := cfg.Settings[i]
		if g.Key != w.Key || g.Line != w.Line || !equalValue(g.Value, w.Value) {
			t.Errorf("setting %d: %+v, want %+v", i, g, w)
		}
	}
	if cfg.Default.Root != "/r" || cfg.Sites[0].Root != "/a" || cfg.Sites[0].Hosts[0] != "a" {
		t.Errorf("sites %+v %+v", cfg.Default, cfg.Sites)
	}
}

func equalValue(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if aok != bok {
		return false
	}
	if aok {
		if len(as) != len(bs) {
			return false
		}
		for i := range as {
			if as[i] != bs[i] {
				return false
			}
		}
		return true
	}
	return a == b
}

// TestCompressDefaults: a [compress] table enables compression with the
// default encodings; encodings = [] disables it; no table, no compression.
func TestCompressDefaults(t *testing.T) {
	for _, c := range []struct {
		toml string
		on   bool
		encs string
	}{
		{"", false, ""},
		{"[compress]\n", true, "br,zstd,gzip"},
		{"[compress]\nencodings = []\n", false, ""},
		{"[compress]\nencodings = [\"gzip\"]\n", true, "gzip"},
	} {
		cfg, err := Parse("c", []byte(c.toml))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Compress.Enabled != c.on || strings.Join(cfg.Compress.Encodings, ",") != c.encs {
			t.Errorf("%q: %+v", c.toml, cfg.Compress)
		}
	}
}
