package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ringhttpd/ringhttpd/bench/internal/result"
)

const wrkOK = `Running 5s test @ http://127.0.0.1:18103/3574.html
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   520.12us  100.00us   5.00ms   90.00%
    Req/Sec    95.12k     3.00k  100.00k    80.00%
  Latency Distribution
     50%  500.00us
     75%  550.00us
     90%    1.20ms
     99%    2.50s
  476000 requests in 5.00s, 1.70GB read
Requests/sec:  95200.00
Transfer/sec:    340.00MB
`

const wrkErrors = `Running 1s test @ http://127.0.0.1:18103/x
  1 threads and 50 connections
  Latency Distribution
     50%    1.00ms
     75%    2.00ms
     90%    3.00ms
     99%    4.00ms
  1000 requests in 500.00ms, 512.00KB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 12
Requests/sec:   2000.00
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want map[string]float64
	}{
		{"clean", wrkOK, map[string]float64{
			result.Requests: 476000, result.RPS: 95200, result.P50: 500, result.P90: 1200, result.P99: 2.5e6,
			result.Errors: 0, result.Non2xx: 0, result.MBps: 1.7 * (1 << 30) / 1e6 / 5,
		}},
		{"errors", wrkErrors, map[string]float64{
			result.Requests: 1000, result.RPS: 2000, result.P50: 1000, result.P99: 4000,
			result.Errors: 10, result.Non2xx: 12, result.MBps: 512 * 1024 / 1e6 / 0.5,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]float64{}
			if err := parseWrk(tc.out, m); err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				if got := m[k]; got < want*0.9999 || got > want*1.0001 {
					t.Errorf("%s = %g, want %g", k, got, want)
				}
			}
		})
	}
	if err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused", map[string]float64{}); err == nil {
		t.Error("parseWrk accepted output without a summary")
	}
}

func TestReadParse(t *testing.T) {
	out := `input: a 517-byte browser GET with 13 header fields
goos: linux
BenchmarkParse/httpcore-2         	  186115	      1300 ns/op	 416.75 MB/s	       0 B/op	       0 allocs/op
BenchmarkParse/net-http-ReadRequest-2 	   46446	      4881 ns/op	 105.93 MB/s	    1880 B/op	      25 allocs/op
BenchmarkParse/httpcore-2         	  186115	      1200 ns/op	 416.75 MB/s	       0 B/op	       0 allocs/op
BenchmarkParse/httpcore-2         	  186115	      1250 ns/op	 416.75 MB/s	       0 B/op	       0 allocs/op
PASS
`
	path := filepath.Join(t.TempDir(), "parse.txt")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	got, input := readParse(path)
	want := []result.Bench{
		{Name: "Parse/httpcore", NsOp: 1250, BOp: 0, AllocsOp: 0},
		{Name: "Parse/net-http-ReadRequest", NsOp: 4881, BOp: 1880, AllocsOp: 25},
	}
	if len(got) != len(want) {
		t.Fatalf("readParse = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("bench %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if input != "a 517-byte browser GET with 13 header fields" {
		t.Errorf("input = %q", input)
	}
}

func TestReadServers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "servers.tsv")
	os.WriteFile(path, []byte("# comment\nnginx\t18103\tfiles\t/usr/sbin/nginx -c /x.conf\n"+
		"ringhttpd-uring\t18101\tskip\tgo build failed\nfloor-uring\t18109\tconst\t/bin/uring_const 18109 3574\n"), 0o644)
	got, err := readServers(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d servers", len(got))
	}
	if s := got[0]; s.Name != "nginx" || s.Port != 18103 || s.Class != "files" || len(s.argv) != 3 || s.Skipped != "" {
		t.Errorf("nginx = %+v", s)
	}
	if s := got[1]; s.Skipped != "go build failed" || s.argv != nil {
		t.Errorf("skipped = %+v", s)
	}
	if s := got[2]; s.Class != "const" || s.argv[2] != "3574" {
		t.Errorf("floor = %+v", s)
	}
	os.WriteFile(path, []byte("ringhttpd-epoll\t18102,tls=18112,h2c=18102\tfiles\t/bin/ringhttpd --h2c\n"), 0o644)
	if got, err := readServers(path); err != nil || got[0].Port != 18102 || got[0].TLSPort != 18112 || got[0].H2CPort != 18102 {
		t.Errorf("ports: %+v, %v", got, err)
	}
	os.WriteFile(path, []byte("bad line\n"), 0o644)
	if _, err := readServers(path); err == nil {
		t.Error("readServers accepted a line without tabs")
	}
}
