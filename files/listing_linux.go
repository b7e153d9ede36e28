package files

import (
	"html"
	"os"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// buildListing reads the directory open at fd and returns its HTML listing:
// names sorted, HTML-escaped and percent-encoded in links, with sizes and
// modification times (of the entries themselves: symlinks are not followed,
// so a link leaving the root reveals nothing of its target). Names starting
// with '.' are left out unless dotfiles. It blocks: it runs in an OpFunc.
func buildListing(fd int, title string, dotfiles bool) ([]byte, error) {
	var names []string
	buf := make([]byte, 32<<10)
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err != nil {
			return nil, os.NewSyscallError("getdents64", err)
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	slices.Sort(names)

	esc := html.EscapeString(title)
	b := make([]byte, 0, 512+len(names)*160)
	b = append(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of "...)
	b = append(b, esc...)
	b = append(b, "</title></head>\n<body><h1>Index of "...)
	b = append(b, esc...)
	b = append(b, "</h1>\n<table>\n<tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr>\n"...)
	if title != "/" {
		b = append(b, "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n"...)
	}
	for _, name := range names {
		if name[0] == '.' && !dotfiles {
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // removed meanwhile
		}
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		b = append(b, "<tr><td><a href=\"./"...)
		for i := 0; i < len(name); i++ {
			if c := name[i]; segmentSafe[c] {
				b = append(b, c)
			} else {
				b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
			}
		}
		if isDir {
			b = append(b, '/')
		}
		b = append(b, "\">"...)
		b = append(b, html.EscapeString(name)...)
		if isDir {
			b = append(b, "/</a></td><td>-</td><td>"...)
		} else {
			b = append(b, "</a></td><td>"...)
			b = strconv.AppendInt(b, st.Size, 10)
			b = append(b, "</td><td>"...)
		}
		b = time.Unix(st.Mtim.Sec, st.Mtim.Nsec).UTC().AppendFormat(b, "2006-01-02 15:04:05")
		b = append(b, "</td></tr>\n"...)
	}
	b = append(b, "</table>\n</body></html>\n"...)
	return b, nil
}
