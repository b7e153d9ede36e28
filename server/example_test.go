package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
	"github.com/ringhttpd/ringhttpd/server"
)

// fetch makes a request with net/http and prints the answer's status and
// body.
func fetch(method, url, body string) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s %s\n", resp.Status, strings.TrimSpace(string(b)))
}

var hello = []byte("Hello, World!\n")

// Serve a handler: New checks the configuration, Start binds the listeners
// and starts the workers, Shutdown finishes the answers in flight and
// stops. The same handler answers HTTP/1.1 and HTTP/2 (here h2c, HTTP/2
// without TLS; over TLS, ALPN picks it).
func Example() {
	h := httpcore.HandlerFunc(func(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
		resp.Reply(200, "text/plain; charset=utf-8", hello)
		return nil
	})
	s, err := server.New(server.Config{Listen: []string{"127.0.0.1:0"}, Workers: 1, H2C: true}, h)
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Start(); err != nil {
		log.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	url := "http://" + s.Addrs()[0].String() + "/"

	fetch("GET", url, "")

	h2c := &http.Transport{Protocols: new(http.Protocols)}
	h2c.Protocols.SetUnencryptedHTTP2(true)
	resp, err := (&http.Client{Transport: h2c}).Get(url)
	if err != nil {
		log.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("%s %s %s", resp.Proto, resp.Status, b)
	// Output:
	// 200 OK Hello, World!
	// HTTP/2.0 200 OK Hello, World!
}

// A JSON API: parse the query or the request body (buffered by the engine
// up to Config.Limits.MaxBody), answer with json.Marshal's fresh slice (the
// engine sends it after Serve returns, so it must not be reused), and 405
// with Allow for the methods a route does not serve.
func Example_jsonAPI() {
	type sum struct {
		A, B int
		Sum  int `json:"sum"`
	}
	api := httpcore.HandlerFunc(func(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
		var in sum
		switch {
		case string(req.Path) != "/api/sum":
			httpcore.WriteError(resp, 404)
			return nil
		case req.Method == httpcore.MethodGet:
			q, _ := url.ParseQuery(string(req.Query))
			in.A, _ = strconv.Atoi(q.Get("a"))
			in.B, _ = strconv.Atoi(q.Get("b"))
		case req.Method == httpcore.MethodPost:
			if err := json.Unmarshal(req.Body, &in); err != nil {
				resp.Reply(400, "application/json", []byte(`{"error":"bad JSON"}`))
				return nil
			}
		default:
			resp.Reply(405, "text/plain", nil)
			resp.Head = httpcore.AppendField(resp.Head, "Allow", "GET, POST")
			return nil
		}
		in.Sum = in.A + in.B
		body, _ := json.Marshal(in)
		resp.Reply(200, "application/json", body)
		return nil
	})
	s, err := server.New(server.Config{Listen: []string{"127.0.0.1:0"}, Workers: 1}, api)
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Start(); err != nil {
		log.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	base := "http://" + s.Addrs()[0].String()

	fetch("GET", base+"/api/sum?a=1&b=2", "")
	fetch("POST", base+"/api/sum", `{"A": 20, "B": 22}`)
	fetch("POST", base+"/api/sum", `{"A": `)
	fetch("DELETE", base+"/api/sum", "")
	// Output:
	// 200 OK {"A":1,"B":2,"sum":3}
	// 200 OK {"A":20,"B":22,"sum":42}
	// 400 Bad Request {"error":"bad JSON"}
	// 405 Method Not Allowed
}

// slowQuery stands for a database query or a call to another service.
func slowQuery(user string) (string, error) {
	time.Sleep(20 * time.Millisecond)
	if user == "" {
		return "", fmt.Errorf("no user")
	}
	return "Hello, " + user + "!", nil
}

// Call slow code through an OpFunc: the loop thread never waits. Func runs
// on a helper goroutine (Config.OpHelpers of them), Then answers back on the
// loop thread; the loop serves other connections meanwhile.
func Example_opFunc() {
	h := httpcore.HandlerFunc(func(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
		user := string(req.Query) // a copy: req's memory is reused after Serve returns
		var greeting string
		var err error
		return &httpcore.Op{
			Kind: httpcore.OpFunc,
			Func: func() { greeting, err = slowQuery(user) },
			Then: func(_ *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
				if err != nil {
					httpcore.WriteError(resp, 404)
					return nil
				}
				resp.Reply(200, "text/plain; charset=utf-8", []byte(greeting))
				return nil
			},
		}
	})
	s, err := server.New(server.Config{
		Listen:    []string{"127.0.0.1:0"},
		Workers:   1,
		OpHelpers: 64, // up to 64 queries in flight at once
	}, h)
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Start(); err != nil {
		log.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	base := "http://" + s.Addrs()[0].String()

	fetch("GET", base+"/?gopher", "")
	fetch("GET", base+"/", "")
	// Output:
	// 200 OK Hello, gopher!
	// 404 Not Found 404 Not Found
}

// Serve until SIGTERM (or Ctrl-C), then shut down gracefully: listeners
// close, idle connections close, answers in flight are finished within
// Config.ShutdownTimeout (or the context's deadline).
func ExampleServer_Shutdown() {
	h := httpcore.HandlerFunc(func(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
		resp.Reply(200, "text/plain; charset=utf-8", hello)
		return nil
	})
	s, err := server.New(server.Config{Listen: []string{"127.0.0.1:0"}, Workers: 1, ShutdownTimeout: 5 * time.Second}, h)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := s.Start(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("serving")

	// Stand-in for the service manager: this process sends itself SIGTERM.
	go func() {
		fetch("GET", "http://"+s.Addrs()[0].String()+"/", "")
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}()

	<-ctx.Done()
	fmt.Println("shutting down")
	if err := s.Shutdown(context.Background()); err != nil {
		log.Print(err)
	}
	<-s.Done() // already closed once Shutdown returns
	fmt.Println("stopped")
	// Output:
	// serving
	// 200 OK Hello, World!
	// shutting down
	// stopped
}
