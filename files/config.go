package files

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config configures a Handler. The zero value of every field but Root means
// its default.
type Config struct {
	// Root is the directory served. Nothing outside it is ever served.
	Root string
	// Index is the file served for a directory asked for with its trailing
	// slash. Default "index.html"; set NoIndex to disable.
	Index   string
	NoIndex bool
	// Listing enables an HTML listing for directories without an index.
	Listing bool
	// Dotfiles enables serving names that start with '.' (".git", ".env");
	// hidden (404) by default, except the root's ".well-known" directory
	// (RFC 8615: ACME challenges, security.txt), whose own contents follow
	// the same rule (/.well-known/.x stays hidden).
	Dotfiles bool
	// HideWellKnown hides /.well-known too when Dotfiles is off.
	HideWellKnown bool
	// MaxCachedFile is the largest file whose bytes (and prebuilt head) are
	// kept in memory; larger files are served from a cached descriptor.
	// Default 64 KiB.
	MaxCachedFile int64
	// MaxMappedFile is the largest file served from a descriptor that is
	// also lent mapped into memory to an engine that asks for it
	// (httpcore.MappedFile: the engines' HTTP/2 frames over h2c, sent
	// without reading them first). A mapped file's pages count in the
	// process's RSS while they are resident, once per worker that maps it
	// (each has its own cache), though they are the page cache's, shared,
	// not the process's own. Default 64 MiB; negative: no file is mapped.
	MaxMappedFile int64
	// CacheEntries and CacheBytes bound each cache. Defaults 4096 and 64 MiB.
	CacheEntries int
	CacheBytes   int64
	// Revalidate is how long a cached entry is trusted before the next
	// request re-checks it against the file system (open + statx). Default
	// 1 s; a negative value re-checks on every request.
	Revalidate time.Duration
	// MIME maps extensions (".js" or "js", any case) to Content-Type values;
	// it overrides and extends the built-in table.
	MIME map[string]string
	// CacheControl, when set, is sent as Cache-Control on file answers and
	// their 304s.
	CacheControl string
	// NoPrecompressed disables looking for ".br"/".zst"/".gz" siblings.
	NoPrecompressed bool
	// Fallback, when set, is the path (starting with '/', e.g. "/index.html")
	// of the file that answers, 200, a GET or HEAD for a path with no file
	// (a single-page app's entry point). It never replaces another answer:
	// a 400 (traversal, bad escapes), a 403, a hidden dot file's 404 and
	// every other method keep theirs.
	Fallback string
	// Compress configures compression done once per file version (see
	// Compression); the zero value compresses nothing.
	Compress Compression
}

// Compression says which files are compressed in memory, once per content
// coding, when they enter the cache: those whose media type matches Types,
// of MinSize to MaxSize bytes. A precompressed sibling on disk wins over the
// in-memory form of the same coding.
type Compression struct {
	// Encodings lists the codings produced, in order of preference when a
	// client accepts several with the same quality: "br", "zstd", "gzip".
	// Empty disables compression.
	Encodings []string
	// Types are media types ("application/json") or type wildcards
	// ("text/*"), compared without parameters and case. Default
	// DefaultCompressTypes.
	Types []string
	// MinSize and MaxSize bound the file sizes compressed. Defaults
	// DefaultCompressMinSize and DefaultCompressMaxSize.
	MinSize, MaxSize int64
}

// Defaults of Config.
const (
	DefaultIndex         = "index.html"
	DefaultMaxCachedFile = 64 << 10
	DefaultMaxMappedFile = 64 << 20
	DefaultCacheEntries  = 4096
	DefaultCacheBytes    = 64 << 20
	DefaultRevalidate    = time.Second

	DefaultCompressMinSize = 256
	DefaultCompressMaxSize = 1 << 20

	// MaxMaxCachedFile caps MaxCachedFile: one read (whose result is an
	// int32) fetches a whole in-memory file.
	MaxMaxCachedFile = 1 << 30
)

// DefaultCompressTypes are the media types Compression compresses when its
// Types is empty: text and the common textual application types.
var DefaultCompressTypes = []string{"text/*", "application/javascript", "application/json",
	"application/xml", "application/manifest+json", "application/rss+xml", "application/atom+xml",
	"image/svg+xml", "application/wasm"}

// ErrNoRoot is returned by New when Config.Root is empty.
var ErrNoRoot = errors.New("files: no root directory configured")

// validate reports a configuration that could produce a broken or unsafe
// answer: a field value with control bytes, an index that is not one name.
func (cfg Config) validate() error {
	bad := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] == 0x7f {
				return true
			}
		}
		return false
	}
	if bad(cfg.CacheControl) {
		return fmt.Errorf("files: Cache-Control %q has control bytes", cfg.CacheControl)
	}
	for ext, typ := range cfg.MIME {
		if bad(ext) || bad(typ) || typ == "" {
			return fmt.Errorf("files: bad MIME mapping %q -> %q", ext, typ)
		}
	}
	if f := cfg.Fallback; f != "" {
		if clean, st := cleanPath(nil, []byte(f), dotServe); st != 0 || string(clean) != f || f[len(f)-1] == '/' {
			return fmt.Errorf("files: fallback %q is not a clean file path starting with '/'", f)
		}
	}
	for _, e := range cfg.Compress.Encodings {
		if codingByName(e) == 0 {
			return fmt.Errorf("files: unknown compression encoding %q (want br, zstd or gzip)", e)
		}
	}
	for _, t := range cfg.Compress.Types {
		if !validMediaPattern(t) {
			return fmt.Errorf("files: compression type %q is not a media type or a type/* wildcard", t)
		}
	}
	if c := cfg.Compress; c.MinSize < 0 || c.MaxSize < 0 || (c.MaxSize > 0 && c.MinSize > c.MaxSize) {
		return fmt.Errorf("files: compression sizes %d..%d make no sense", c.MinSize, c.MaxSize)
	}
	if i := cfg.Index; i == "." || i == ".." || strings.ContainsAny(i, "/\\\x00") || bad(i) {
		return fmt.Errorf("files: index %q is not a file name", i)
	}
	return nil
}

// withDefaults returns cfg with every zero field set to its default.
func (cfg Config) withDefaults() Config {
	if cfg.Index == "" && !cfg.NoIndex {
		cfg.Index = DefaultIndex
	}
	if cfg.NoIndex {
		cfg.Index = ""
	}
	if cfg.MaxCachedFile <= 0 {
		cfg.MaxCachedFile = DefaultMaxCachedFile
	}
	if cfg.MaxCachedFile > MaxMaxCachedFile {
		cfg.MaxCachedFile = MaxMaxCachedFile
	}
	if cfg.MaxMappedFile == 0 {
		cfg.MaxMappedFile = DefaultMaxMappedFile
	}
	if cfg.CacheEntries <= 0 {
		cfg.CacheEntries = DefaultCacheEntries
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.Revalidate == 0 {
		cfg.Revalidate = DefaultRevalidate
	}
	if len(cfg.Compress.Types) == 0 {
		cfg.Compress.Types = DefaultCompressTypes
	}
	if cfg.Compress.MinSize == 0 {
		cfg.Compress.MinSize = DefaultCompressMinSize
	}
	if cfg.Compress.MaxSize == 0 {
		cfg.Compress.MaxSize = DefaultCompressMaxSize
	}
	return cfg
}
