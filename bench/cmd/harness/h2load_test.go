package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ringhttpd/ringhttpd/bench/internal/result"
)

// h2load 1.52's summary of a timed run over TLS.
const h2loadOK = `starting benchmark...
spawning thread #0: 50 total client(s). Timing-based test with 0s of warm-up time and 4s of main duration for measurements.
TLS Protocol: TLSv1.3
Cipher: TLS_AES_128_GCM_SHA256
Server Temp Key: X25519 253 bits
Application protocol: h2
Warm-up phase is over for thread #0.
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 4.00s, 80700.00 req/s, 281.14MB/s
requests: 322800 total, 323300 started, 322800 done, 322790 succeeded, 10 failed, 10 errored, 0 timeout
status codes: 322780 2xx, 0 3xx, 4 4xx, 6 5xx
traffic: 1.10GB (1179123200) total, 21.54MB (22585600) headers (space savings 68.95%), 1.07GB (1153449600) data
                     min         max         mean         sd        +/- sd
time for request:       20us     43.61ms      8.72ms     17.80ms    80.00%
`

func TestParseH2load(t *testing.T) {
	m := map[string]float64{}
	if err := parseH2load(h2loadOK, m); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		result.RPS: 80700, result.Requests: 322790, result.Errors: 10, result.Non2xx: 10,
		result.MBps: 1179123200 / 1e6 / 4,
	}
	for k, w := range want {
		if got := m[k]; got < w*0.9999 || got > w*1.0001 {
			t.Errorf("%s = %g, want %g", k, got, w)
		}
	}
	if p := reH2Proto.FindStringSubmatch(h2loadOK); p == nil || p[1] != "h2" {
		t.Errorf("application protocol = %v", p)
	}
	if tl := reH2TLS.FindStringSubmatch(h2loadOK); tl == nil || tl[1]+" "+tl[2] != "TLSv1.3 TLS_AES_128_GCM_SHA256" {
		t.Errorf("TLS = %v", tl)
	}
	// A run that never connected has no "finished" line.
	if err := parseH2load("spawning thread #0\nNo protocol negotiated. Aborted.\n", map[string]float64{}); err == nil {
		t.Error("parseH2load accepted output without a summary")
	}
}

func TestReadH2loadLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	var b []byte
	// 100 requests taking 1..100 µs, out of order, and a malformed line.
	for i := 100; i >= 1; i-- {
		b = append(b, []byte("1796061938520905\t200\t"+strconv.Itoa(i)+"\n")...)
	}
	b = append(b, "garbage\n"...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := readH2loadLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 100 {
		t.Fatalf("%d values, want 100", len(v))
	}
	for _, tc := range []struct{ q, want float64 }{{0.5, 50}, {0.9, 90}, {0.99, 99}, {1, 100}, {0, 1}} {
		if got := percentile(v, tc.q); got != tc.want {
			t.Errorf("percentile(%g) = %g, want %g", tc.q, got, tc.want)
		}
	}
	if percentile(nil, 0.5) != 0 {
		t.Error("percentile of nothing is not 0")
	}
}

func TestParsePorts(t *testing.T) {
	tests := []struct {
		in       string
		p, t, h2 int
		bad      bool
	}{
		{in: "18101", p: 18101},
		{in: "18101,tls=18111,h2c=18101", p: 18101, t: 18111, h2: 18101},
		{in: "18103,h2c=18123", p: 18103, h2: 18123},
		{in: "x", bad: true},
		{in: "18101,quic=1", bad: true},
		{in: "18101,tls=", bad: true},
	}
	for _, tc := range tests {
		var s result.Server
		err := parsePorts(tc.in, &s)
		if tc.bad {
			if err == nil {
				t.Errorf("%q: accepted", tc.in)
			}
			continue
		}
		if err != nil || s.Port != tc.p || s.TLSPort != tc.t || s.H2CPort != tc.h2 {
			t.Errorf("%q: %+v, %v", tc.in, s, err)
		}
	}
	s := &server{Server: result.Server{Port: 1, TLSPort: 2}}
	for proto, want := range map[string]string{"": "http://127.0.0.1:1", "tls": "https://127.0.0.1:2", "h2": "https://127.0.0.1:2", "h2c": ""} {
		if got := s.url(proto); got != want {
			t.Errorf("url(%q) = %q, want %q", proto, got, want)
		}
	}
}

func TestParseBrief(t *testing.T) {
	out := `Can't use SSL_get_servername
depth=0 CN = localhost
verify error:num=20:unable to get local issuer certificate
CONNECTION ESTABLISHED
Protocol version: TLSv1.3
Ciphersuite: TLS_AES_128_GCM_SHA256
Peer certificate: CN = localhost
Hash used: SHA256
Signature type: ECDSA
Verification error: unable to get local issuer certificate
Server Temp Key: X25519, 253 bits
DONE
`
	got, err := parseBrief(out)
	if err != nil || got != "TLSv1.3 TLS_AES_128_GCM_SHA256 X25519 ECDSA" {
		t.Errorf("parseBrief = %q, %v", got, err)
	}
	if _, err := parseBrief("40E7...:error:0A000410:SSL routines::sslv3 alert handshake failure\n"); err == nil {
		t.Error("parseBrief accepted a failed handshake")
	}
	conf := "openssl_conf = c\n[c]\nssl_conf = s\n[s]\nsystem_default = system_default_sect\n[system_default_sect]\nMinProtocol = TLSv1.3\n# x\nGroups = X25519\n"
	if got := clientConfSummary(conf); got != "MinProtocol = TLSv1.3; Groups = X25519" {
		t.Errorf("clientConfSummary = %q", got)
	}
}
