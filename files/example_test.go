//go:build linux

package files_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/ringhttpd/ringhttpd/files"
	"github.com/ringhttpd/ringhttpd/httpcore"
	"github.com/ringhttpd/ringhttpd/server"
)

// get prints the status and body of a GET.
func get(url string) {
	resp, err := http.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(strings.TrimSpace(resp.Status + " " + resp.Header.Get("Content-Type") + " " + strings.TrimSpace(string(b))))
}

// Serve a directory. Close the Handler once the server has stopped.
func ExampleNew() {
	root, _ := os.MkdirTemp("", "www")
	defer os.RemoveAll(root)
	os.WriteFile(filepath.Join(root, "index.html"), []byte("<h1>home</h1>\n"), 0o644)
	os.WriteFile(filepath.Join(root, "hello.txt"), []byte("Hello, files!\n"), 0o644)

	fh, err := files.New(files.Config{Root: root})
	if err != nil {
		log.Fatal(err)
	}
	defer fh.Close()
	s, err := server.New(server.Config{Listen: []string{"127.0.0.1:0"}, Workers: 1}, fh)
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Start(); err != nil {
		log.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	base := "http://" + s.Addrs()[0].String()

	get(base + "/")
	get(base + "/hello.txt")
	get(base + "/missing.txt")
	get(base + "/../etc/passwd")
	// Output:
	// 200 OK text/html; charset=utf-8 <h1>home</h1>
	// 200 OK text/plain; charset=utf-8 Hello, files!
	// 404 Not Found text/plain; charset=utf-8 404 Not Found
	// 400 Bad Request text/plain; charset=utf-8 400 Bad Request
}

// app puts a few routes of its own beside a files.Handler: a router of a few
// lines, not a framework.
type app struct {
	static httpcore.Handler // a *files.Handler, or one worker's handler from it
}

var version = []byte(`{"version":"1.0"}`)

func (a app) Serve(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
	switch string(req.Path) { // no allocation: the compiler compares in place
	case "/api/version":
		resp.Reply(200, "application/json", version)
		return nil
	case "/healthz":
		resp.Reply(204, "", nil)
		return nil
	}
	return a.static.Serve(req, resp)
}

// ForWorker hands every worker its own files cache (lock-free): a router
// that wraps a PerWorker handler forwards ForWorker, or the files Handler
// serves every worker from one cache under a mutex. (The router does not
// forward IgnoresBodies: its own routes may read request bodies.)
func (a app) ForWorker(id int) httpcore.Handler {
	return app{static: a.static.(httpcore.PerWorker).ForWorker(id)}
}

// Routes beside static files.
func Example_routes() {
	root, _ := os.MkdirTemp("", "www")
	defer os.RemoveAll(root)
	os.WriteFile(filepath.Join(root, "index.html"), []byte("<h1>home</h1>\n"), 0o644)

	fh, err := files.New(files.Config{Root: root})
	if err != nil {
		log.Fatal(err)
	}
	defer fh.Close()
	s, err := server.New(server.Config{Listen: []string{"127.0.0.1:0"}, Workers: 1}, app{static: fh})
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Start(); err != nil {
		log.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	base := "http://" + s.Addrs()[0].String()

	get(base + "/api/version")
	get(base + "/healthz")
	get(base + "/")
	// Output:
	// 200 OK application/json {"version":"1.0"}
	// 204 No Content
	// 200 OK text/html; charset=utf-8 <h1>home</h1>
}
