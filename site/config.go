package site

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"golang.org/x/crypto/bcrypt"
)

// Config is a loaded, validated configuration file: what the file says, not
// yet opened (see New and Reloadable.Swap, which open the roots). Load
// returns it; the command may then override the default site's fields with
// its flags before building.
type Config struct {
	// File is the path the configuration was loaded from ("" when built
	// in code).
	File string
	// Default is the site for any Host no other site names. Its Root,
	// Index, Listing and Dotfiles are also the defaults of every other
	// site.
	Default Site
	// Sites are the virtual hosts, in file order.
	Sites []Site
	// Compress is the compression policy shared by every site.
	Compress Compress
	// Settings are the file's other top-level keys, in file order: the
	// command line's flags ("listen", "workers", ...), which this package
	// does not interpret. The command rejects those it does not know.
	Settings []Setting

	pos positions
}

// Site is one virtual host: the Host names it answers, its root and its
// rules.
type Site struct {
	// Hosts are the names the site answers (lower case, no port).
	Hosts []string
	// Root is the directory served.
	Root string
	// Index, Listing, Dotfiles and HideWellKnown configure the files
	// handler; nil means the default site's value (for the default site:
	// the files package's default).
	Index         *string
	Listing       *bool
	Dotfiles      *bool
	HideWellKnown *bool
	// Fallback is the file answering a GET or HEAD for a path with no
	// file ("/index.html"), or "".
	Fallback string
	// Rules apply to the clean request path, in order.
	Rules []Rule

	key string // the site's key in the file: "site[0]", or "" for the default
}

// Rule is one path rule. Every matching rule's Headers apply (a later rule
// replaces a field an earlier one set); the first matching Redirect or
// Status answers; the first matching BasicAuth guards.
type Rule struct {
	Match     string
	Headers   []Header
	Redirect  *Redirect
	Status    int
	BasicAuth *BasicAuth

	key string
}

// Header is one response field a rule adds.
type Header struct {
	Name, Value string
}

// Redirect answers with Status (301, 302, 303, 307 or 308; default 302) and
// Location To, where $1..$9 are the glob's captures and $$ is a dollar.
type Redirect struct {
	To     string
	Status int
}

// BasicAuth guards a path with HTTP Basic authentication: Users maps user
// names to bcrypt hashes.
type BasicAuth struct {
	Realm string
	Users map[string]string
}

// Compress is the compression policy (see files.Compression). Enabled is
// set when the file has a [compress] table with at least one encoding.
type Compress struct {
	Enabled          bool
	Encodings        []string
	Types            []string
	MinSize, MaxSize int64
}

// Setting is a top-level key the site layer does not own, with its TOML
// value (string, int64, float64, bool, or []any of those) and line.
type Setting struct {
	Key   string
	Value any
	Line  int
}

// Error is a configuration error: it names the file, the line and the key.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
	Err  error // the underlying error, when there is one (Unwrap)
}

// Unwrap returns the underlying error, or nil.
func (e *Error) Unwrap() error { return e.Err }

// Error formats e on one line: "file:line: key: msg".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteString(":" + strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrConfig is wrapped by every configuration error (errors.Is).
var ErrConfig = errors.New("site: bad configuration")

// Is reports whether target is ErrConfig.
func (e *Error) Is(target error) bool { return target == ErrConfig }

// The file's schema, as go-toml decodes it. Pointers tell "absent" from a
// zero value.
type rawFile struct {
	Root          *string   `toml:"root"`
	Index         *string   `toml:"index"`
	Listing       *bool     `toml:"listing"`
	Dotfiles      *bool     `toml:"dotfiles"`
	HideWellKnown *bool     `toml:"hide_well_known"`
	Fallback      string    `toml:"fallback"`
	Rule          []rawRule `toml:"rule"`
	Site          []rawSite `toml:"site"`
	Compress      *struct {
		Types     *[]string `toml:"types"`
		Encodings *[]string `toml:"encodings"`
		MinSize   *int64    `toml:"min_size"`
		MaxSize   *int64    `toml:"max_size"`
	} `toml:"compress"`
}

type rawSite struct {
	Hosts         []string  `toml:"hosts"`
	Root          *string   `toml:"root"`
	Index         *string   `toml:"index"`
	Listing       *bool     `toml:"listing"`
	Dotfiles      *bool     `toml:"dotfiles"`
	HideWellKnown *bool     `toml:"hide_well_known"`
	Fallback      string    `toml:"fallback"`
	Rule          []rawRule `toml:"rule"`
}

type rawRule struct {
	Match    *string           `toml:"match"`
	Headers  map[string]string `toml:"headers"`
	Redirect *struct {
		To     *string `toml:"to"`
		Status int     `toml:"status"`
	} `toml:"redirect"`
	Status    int `toml:"status"`
	BasicAuth *struct {
		Realm string            `toml:"realm"`
		Users map[string]string `toml:"users"`
	} `toml:"basic_auth"`
}

// OwnKeys are the top-level keys the site layer owns; every other
// top-level key is a Setting. The command's flags of the same names
// ("hide-well-known" for "hide_well_known") override the file's values.
var OwnKeys = []string{"root", "index", "listing", "dotfiles", "hide_well_known", "fallback", "rule", "site", "compress"}

// Load reads and validates the configuration file at path. Errors are
// *Error values naming the file, line and key. Load does not open the
// roots: New and Reloadable.Swap do, and report a missing one the same way.
// A relative root is relative to the file's directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	cfg, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	abs := func(root string) string {
		if root != "" && !filepath.IsAbs(root) {
			return filepath.Join(dir, root)
		}
		return root
	}
	cfg.Default.Root = abs(cfg.Default.Root)
	for i := range cfg.Sites {
		cfg.Sites[i].Root = abs(cfg.Sites[i].Root)
	}
	return cfg, nil
}

// Parse is Load for a file already read; name is used in errors.
func Parse(name string, data []byte) (*Config, error) {
	bad := func(line int, key, format string, a ...any) error {
		return &Error{File: name, Line: line, Key: key, Msg: fmt.Sprintf(format, a...)}
	}
	var raw rawFile
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&raw)
	var unknown []toml.DecodeError
	var sme *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case err == nil:
	case errors.As(err, &sme):
		unknown = sme.Errors
	case errors.As(err, &de):
		row, _ := de.Position()
		return nil, bad(row, strings.Join(de.Key(), "."), "%s", strings.TrimPrefix(de.Error(), "toml: "))
	default:
		return nil, bad(0, "", "%v", err)
	}
	cfg := &Config{File: name, pos: indexPositions(data)}

	// Keys the schema lacks: nested ones are errors, top-level ones are
	// the command's settings.
	var settingKeys []string
	settingLines := map[string]int{}
	for i := range unknown {
		e := &unknown[i]
		row, _ := e.Position()
		k := e.Key()
		if len(k) == 1 {
			settingKeys = append(settingKeys, k[0])
			settingLines[k[0]] = row
			continue
		}
		return nil, bad(row, cfg.indexedKey(k, row), "unknown key")
	}
	if len(settingKeys) > 0 {
		var all map[string]any
		if err := toml.Unmarshal(data, &all); err != nil {
			return nil, bad(0, "", "%v", err)
		}
		for _, k := range settingKeys {
			cfg.Settings = append(cfg.Settings, Setting{Key: k, Value: all[k], Line: settingLines[k]})
		}
	}

	def := rawSite{Root: raw.Root, Index: raw.Index, Listing: raw.Listing, Dotfiles: raw.Dotfiles,
		HideWellKnown: raw.HideWellKnown, Fallback: raw.Fallback, Rule: raw.Rule}
	if err := cfg.site(&cfg.Default, &def, ""); err != nil {
		return nil, err
	}
	seen := map[string]string{}
	for i := range raw.Site {
		key := "site[" + strconv.Itoa(i) + "]"
		var s Site
		if err := cfg.site(&s, &raw.Site[i], key); err != nil {
			return nil, err
		}
		if len(s.Hosts) == 0 {
			return nil, cfg.err(key+".hosts", "a site needs at least one host name")
		}
		for j, h := range s.Hosts {
			if other, dup := seen[h]; dup {
				return nil, cfg.err(key+".hosts["+strconv.Itoa(j)+"]", "host %q is already %s's", h, other)
			}
			seen[h] = key
		}
		if s.Root == "" {
			return nil, cfg.err(key, "a site needs a root")
		}
		cfg.Sites = append(cfg.Sites, s)
	}
	if c := raw.Compress; c != nil {
		cc := Compress{Enabled: true, Encodings: []string{"br", "zstd", "gzip"}}
		if c.Encodings != nil {
			cc.Encodings = *c.Encodings
			cc.Enabled = len(cc.Encodings) > 0
		}
		for i, e := range cc.Encodings {
			switch e {
			case "br", "zstd", "gzip":
			default:
				return nil, cfg.err("compress.encodings["+strconv.Itoa(i)+"]", "unknown encoding %q (want br, zstd or gzip)", e)
			}
			if slices.Contains(cc.Encodings[:i], e) {
				return nil, cfg.err("compress.encodings["+strconv.Itoa(i)+"]", "%q listed twice", e)
			}
		}
		if c.Types != nil {
			cc.Types = *c.Types
			if len(cc.Types) == 0 {
				return nil, cfg.err("compress.types", "empty: remove the key for the default types, or set encodings = [] to disable compression")
			}
		}
		for i, t := range cc.Types {
			if !validMediaPattern(t) {
				return nil, cfg.err("compress.types["+strconv.Itoa(i)+"]", "%q is not a media type or type/* wildcard", t)
			}
		}
		if c.MinSize != nil {
			if cc.MinSize = *c.MinSize; cc.MinSize < 1 {
				return nil, cfg.err("compress.min_size", "must be at least 1")
			}
		}
		if c.MaxSize != nil {
			if cc.MaxSize = *c.MaxSize; cc.MaxSize < 1 || cc.MaxSize > 1<<30 {
				return nil, cfg.err("compress.max_size", "must be 1 to 1073741824")
			}
		}
		if cc.MinSize > 0 && cc.MaxSize > 0 && cc.MinSize > cc.MaxSize {
			return nil, cfg.err("compress.min_size", "larger than max_size")
		}
		cfg.Compress = cc
	}
	return cfg, nil
}

// err returns an *Error for key (an indexed path) at its line.
func (cfg *Config) err(key, format string, a ...any) error {
	return &Error{File: cfg.File, Line: cfg.pos.line(key), Key: key, Msg: fmt.Sprintf(format, a...)}
}

// indexedKey turns a decoder's key path (no array indices) into the indexed
// path of the key on line row, when the position index knows it.
func (cfg *Config) indexedKey(k []string, row int) string {
	plain := strings.Join(k, ".")
	last := "." + k[len(k)-1]
	found := ""
	for p, l := range cfg.pos {
		if l != row {
			continue
		}
		if sp := stripIndices(p); sp == plain {
			return p
		} else if strings.HasSuffix(sp, last) && strings.HasPrefix(sp, k[0]) && (found == "" || len(p) < len(found)) {
			// go-toml drops inline tables' names from the key path.
			found = p
		}
	}
	if found != "" {
		return found
	}
	return plain
}

func stripIndices(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '[' {
			for i < len(p) && p[i] != ']' {
				i++
			}
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// site validates one site's table (key "" for the top level).
func (cfg *Config) site(s *Site, r *rawSite, key string) error {
	k := func(name string) string {
		if key == "" {
			return name
		}
		return key + "." + name
	}
	s.key = key
	for i, h := range r.Hosts {
		n, err := normalizeHost(h)
		if err != nil {
			return cfg.err(k("hosts["+strconv.Itoa(i)+"]"), "%v", err)
		}
		s.Hosts = append(s.Hosts, n)
	}
	if r.Root != nil {
		if *r.Root == "" {
			return cfg.err(k("root"), "empty")
		}
		s.Root = *r.Root
	}
	s.Index, s.Listing, s.Dotfiles, s.HideWellKnown = r.Index, r.Listing, r.Dotfiles, r.HideWellKnown
	if s.Index != nil && *s.Index != "" && (strings.ContainsAny(*s.Index, "/\\\x00") || *s.Index == "." || *s.Index == "..") {
		return cfg.err(k("index"), "%q is not a file name", *s.Index)
	}
	if f := r.Fallback; f != "" {
		if !strings.HasPrefix(f, "/") || strings.HasSuffix(f, "/") || strings.Contains(f, "//") ||
			strings.Contains(f, "/./") || strings.Contains(f, "/../") || strings.HasSuffix(f, "/..") || strings.HasSuffix(f, "/.") {
			return cfg.err(k("fallback"), "%q is not a clean file path starting with '/'", f)
		}
		s.Fallback = f
	}
	for i := range r.Rule {
		rk := k("rule[" + strconv.Itoa(i) + "]")
		rule, err := cfg.rule(&r.Rule[i], rk)
		if err != nil {
			return err
		}
		s.Rules = append(s.Rules, rule)
	}
	return nil
}

// Response fields a rule may not set: framing, connection management and
// fields another part of the server owns.
var reservedFields = []string{"content-length", "transfer-encoding", "content-range", "content-encoding",
	"connection", "keep-alive", "upgrade", "trailer", "te", "date", "location", "www-authenticate"}

func (cfg *Config) rule(r *rawRule, key string) (Rule, error) {
	rule := Rule{key: key}
	if r.Match == nil {
		return rule, cfg.err(key, "a rule needs match")
	}
	rule.Match = *r.Match
	g, err := compileGlob(rule.Match)
	if err != nil {
		return rule, cfg.err(key+".match", "%v", err)
	}
	names := make([]string, 0, len(r.Headers))
	for n := range r.Headers {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		v := r.Headers[n]
		hk := key + ".headers." + quoteKey(n)
		if !validToken(n) {
			return rule, cfg.err(hk, "%q is not a field name", n)
		}
		if slices.Contains(reservedFields, strings.ToLower(n)) {
			return rule, cfg.err(hk, "%s may not be set by a rule", n)
		}
		if !validFieldValue(v) {
			return rule, cfg.err(hk, "value %q has control bytes or surrounding spaces", v)
		}
		for _, h := range rule.Headers {
			if strings.EqualFold(h.Name, n) {
				return rule, cfg.err(hk, "%s set twice", n)
			}
		}
		rule.Headers = append(rule.Headers, Header{Name: n, Value: v})
	}
	if r.Redirect != nil && r.Status != 0 {
		return rule, cfg.err(key+".status", "a rule answers with a redirect or a status, not both")
	}
	if rd := r.Redirect; rd != nil {
		if rd.To == nil || *rd.To == "" {
			return rule, cfg.err(key+".redirect", "needs to")
		}
		to := *rd.To
		if !strings.HasPrefix(to, "/") && !strings.HasPrefix(to, "https://") && !strings.HasPrefix(to, "http://") {
			return rule, cfg.err(key+".redirect.to", "%q must be a path starting with '/' or an http(s) URL", to)
		}
		if strings.HasPrefix(to, "//") {
			return rule, cfg.err(key+".redirect.to", "%q would be read as another host", to)
		}
		for i := 0; i < len(to); i++ {
			if c := to[i]; c <= ' ' || c == 0x7f {
				return rule, cfg.err(key+".redirect.to", "%q has spaces or control bytes", to)
			}
		}
		if _, err := compileTarget(to, g.ncap); err != nil {
			return rule, cfg.err(key+".redirect.to", "%v", err)
		}
		st := rd.Status
		switch st {
		case 0:
			st = 302
		case 301, 302, 303, 307, 308:
		default:
			return rule, cfg.err(key+".redirect.status", "%d is not a redirect status (301, 302, 303, 307 or 308)", st)
		}
		rule.Redirect = &Redirect{To: to, Status: st}
	}
	if st := r.Status; st != 0 {
		if st < 200 || st > 599 || (st >= 300 && st < 400) || st == 401 {
			return rule, cfg.err(key+".status", "%d: want 2xx, 4xx or 5xx (redirects use redirect, 401 uses basic_auth)", st)
		}
		rule.Status = st
	}
	if ba := r.BasicAuth; ba != nil {
		if ba.Realm == "" || strings.ContainsAny(ba.Realm, "\"\\") || !validFieldValue(ba.Realm) {
			return rule, cfg.err(key+".basic_auth.realm", "needs a realm without quotes, backslashes or control bytes")
		}
		if len(ba.Users) == 0 {
			return rule, cfg.err(key+".basic_auth.users", "needs at least one user")
		}
		for u, hash := range ba.Users {
			uk := key + ".basic_auth.users." + quoteKey(u)
			if u == "" || strings.ContainsAny(u, ":") || !validFieldValue(u) {
				return rule, cfg.err(uk, "user name %q is empty or has ':' or control bytes", u)
			}
			if _, err := bcrypt.Cost([]byte(hash)); err != nil {
				return rule, cfg.err(uk, "not a bcrypt hash (make one with: htpasswd -nbB user password): %v", err)
			}
		}
		rule.BasicAuth = &BasicAuth{Realm: ba.Realm, Users: ba.Users}
	}
	if len(rule.Headers) == 0 && rule.Redirect == nil && rule.Status == 0 && rule.BasicAuth == nil {
		return rule, cfg.err(key, "a rule needs headers, redirect, status or basic_auth")
	}
	return rule, nil
}

func quoteKey(k string) string {
	if bareKey(k) {
		return k
	}
	return strconv.Quote(k)
}

// normalizeHost lower-cases a configured host name and checks it: a DNS
// name, an IPv4 address or a bracketed IPv6 address, without a port.
func normalizeHost(h string) (string, error) {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if h == "" {
		return "", errors.New("empty host name")
	}
	if h[0] == '[' {
		if h[len(h)-1] != ']' {
			return "", fmt.Errorf("%q: an IPv6 address is bracketed and has no port (the port is ignored)", h)
		}
		for _, c := range h[1 : len(h)-1] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || c == ':' || c == '.') {
				return "", fmt.Errorf("%q is not an IPv6 address", h)
			}
		}
		return h, nil
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c == ':' {
			return "", fmt.Errorf("%q: host names have no port (the port is ignored when matching)", h)
		}
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", fmt.Errorf("%q is not a host name", h)
		}
	}
	return h, nil
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return true
}

var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-32] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return
}()

// validFieldValue reports whether v may be sent as a field value: no
// control bytes but tab, no leading or trailing whitespace.
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return strings.TrimSpace(v) == v
}

func validMediaPattern(p string) bool {
	typ, sub, ok := strings.Cut(p, "/")
	return ok && validToken(typ) && !strings.Contains(typ, "*") && (sub == "*" || validToken(sub) && !strings.Contains(sub, "*"))
}
