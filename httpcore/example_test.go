package httpcore_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ringhttpd/ringhttpd/httpcore"
)

// parse turns raw request bytes into a Request, as an engine does.
func parse(raw string) *httpcore.Request {
	var p httpcore.Parser
	req := new(httpcore.Request)
	if _, err := p.Parse([]byte(raw), req); err != nil {
		panic(err)
	}
	return req
}

// show prints an answer's head without its CRs, and its body.
func show(resp *httpcore.Response) {
	fmt.Print(strings.ReplaceAll(string(resp.Head), "\r\n", "\n"))
	fmt.Printf("\n%s\n", resp.Body)
}

var greeting = []byte("Hello, World!")

// A handler is a function of a Request and a Response; it needs no server
// to be tested: parse raw bytes into a Request and look at the Response it
// fills.
func ExampleHandlerFunc() {
	h := httpcore.HandlerFunc(func(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
		if string(req.Path) != "/hello" {
			httpcore.WriteError(resp, 404)
			return nil
		}
		resp.Reply(200, "text/plain; charset=utf-8", greeting)
		return nil
	})

	var resp httpcore.Response
	h.Serve(parse("GET /hello HTTP/1.1\r\nHost: example.com\r\n\r\n"), &resp)
	show(&resp)
	// Output:
	// HTTP/1.1 200 OK
	// Content-Type: text/plain; charset=utf-8
	// Content-Length: 13
	//
	// Hello, World!
}

// Reply writes the status line, Content-Type and Content-Length; fields
// appended to Head afterwards go out too. The engine adds Date and
// Connection.
func ExampleResponse_Reply() {
	body, _ := json.Marshal(map[string]int{"sum": 3}) // a fresh slice: the engine sends it later
	var resp httpcore.Response
	resp.Reply(201, "application/json", body)
	resp.Head = httpcore.AppendField(resp.Head, "Location", "/sums/1")
	show(&resp)
	// Output:
	// HTTP/1.1 201 Created
	// Content-Type: application/json
	// Content-Length: 9
	// Location: /sums/1
	//
	// {"sum":3}
}

// lookupPrice stands for slow code: a database query, a call to another
// service.
func lookupPrice(item string) (int, error) {
	time.Sleep(10 * time.Millisecond)
	if item == "tea" {
		return 4, nil
	}
	return 0, fmt.Errorf("no price for %q", item)
}

// A handler that needs slow code returns an OpFunc: Func runs on a helper
// goroutine, where blocking is fine, and Then answers on the loop thread.
// Here the engine's part (run Func, then call Then) is done by hand, as a
// unit test of the handler would.
func ExampleOp() {
	price := httpcore.HandlerFunc(func(req *httpcore.Request, resp *httpcore.Response) *httpcore.Op {
		item := string(req.Query) // a copy: req is gone once Serve returns
		var n int
		var err error
		return &httpcore.Op{
			Kind: httpcore.OpFunc,
			Func: func() { n, err = lookupPrice(item) },
			Then: func(_ *httpcore.Op, resp *httpcore.Response) *httpcore.Op {
				if err != nil {
					httpcore.WriteError(resp, 404)
					return nil
				}
				resp.Reply(200, "application/json", fmt.Appendf(nil, `{"item":%q,"price":%d}`, item, n))
				return nil
			},
		}
	})

	var resp httpcore.Response
	op := price.Serve(parse("GET /price?tea HTTP/1.1\r\nHost: shop\r\n\r\n"), &resp)
	op.Func()          // the engine: on a helper goroutine
	op.Then(op, &resp) // the engine: back on the loop thread
	show(&resp)
	// Output:
	// HTTP/1.1 200 OK
	// Content-Type: application/json
	// Content-Length: 24
	//
	// {"item":"tea","price":4}
}
