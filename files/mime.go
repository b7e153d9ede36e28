package files

import "strings"

// builtinTypes maps a lower-case extension to a Content-Type. It is the
// built-in table: ringhttpd never reads /etc/mime.types, so answers do not
// depend on the host. Config.MIME overrides and extends it.
var builtinTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".htm":         "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".json":        "application/json",
	".map":         "application/json",
	".xml":         "application/xml",
	".txt":         "text/plain; charset=utf-8",
	".md":          "text/markdown; charset=utf-8",
	".csv":         "text/csv; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".jpeg":        "image/jpeg",
	".gif":         "image/gif",
	".webp":        "image/webp",
	".avif":        "image/avif",
	".ico":         "image/vnd.microsoft.icon",
	".bmp":         "image/bmp",
	".woff":        "font/woff",
	".woff2":       "font/woff2",
	".ttf":         "font/ttf",
	".otf":         "font/otf",
	".wasm":        "application/wasm",
	".pdf":         "application/pdf",
	".zip":         "application/zip",
	".gz":          "application/gzip",
	".br":          "application/octet-stream",
	".zst":         "application/zstd",
	".tar":         "application/x-tar",
	".mp4":         "video/mp4",
	".webm":        "video/webm",
	".mp3":         "audio/mpeg",
	".ogg":         "audio/ogg",
	".wav":         "audio/wav",
	".webmanifest": "application/manifest+json",
	".rss":         "application/rss+xml",
	".atom":        "application/atom+xml",
}

// defaultType is the Content-Type of a file whose extension is unknown.
const defaultType = "application/octet-stream"

// mimeTable builds the table New uses: the built-in one with the operator's
// overrides (keys may be given with or without the dot, in any case).
func mimeTable(over map[string]string) map[string]string {
	t := make(map[string]string, len(builtinTypes)+len(over))
	for k, v := range builtinTypes {
		t[k] = v
	}
	for k, v := range over {
		k = strings.ToLower(k)
		if !strings.HasPrefix(k, ".") {
			k = "." + k
		}
		t[k] = v
	}
	return t
}

// contentType returns the type for the last segment of name by its extension.
func contentType(t map[string]string, name []byte) string {
	for i := len(name) - 1; i >= 0 && name[i] != '/'; i-- {
		if name[i] == '.' {
			if ct, ok := t[strings.ToLower(string(name[i:]))]; ok {
				return ct
			}
			break
		}
	}
	return defaultType
}
