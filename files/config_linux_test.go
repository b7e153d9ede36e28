package files

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestNew(t *testing.T) {
	root := t.TempDir()
	file := filepath.Join(root, "f")
	writeFile(t, file, "x")
	for _, c := range []struct {
		name string
		cfg  Config
		is   error
	}{
		{"no root", Config{}, ErrNoRoot},
		{"missing root", Config{Root: filepath.Join(root, "nope")}, os.ErrNotExist},
		{"root is a file", Config{Root: file}, nil},
		{"cache-control with CRLF", Config{Root: root, CacheControl: "x\r\nSet-Cookie: a=b"}, nil},
		{"mime with LF", Config{Root: root, MIME: map[string]string{".x": "a\nb"}}, nil},
		{"index with slash", Config{Root: root, Index: "../x"}, nil},
		{"index dotdot", Config{Root: root, Index: ".."}, nil},
	} {
		h, err := New(c.cfg)
		if err == nil {
			h.Close()
			t.Errorf("%s: no error", c.name)
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v, want errors.Is %v", c.name, err, c.is)
		}
	}
	h, err := New(Config{Root: root})
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("kernel lacks openat2: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if h.cfg.Index != DefaultIndex || h.cfg.MaxCachedFile != DefaultMaxCachedFile || h.cfg.Revalidate != DefaultRevalidate {
		t.Errorf("defaults not applied: %+v", h.cfg)
	}
	if err := h.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
