package loopback

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringhttpd/ringhttpd/h2"
)

// h2specPath finds the h2spec binary: $H2SPEC, then PATH, then GOPATH/bin
// (go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible).
func h2specPath() string {
	if p := os.Getenv("H2SPEC"); p != "" {
		return p
	}
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "h2spec")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// TestH2Spec runs h2spec --strict against the state machine served over
// loopback TCP and requires every test case to pass.
func TestH2Spec(t *testing.T) {
	bin := h2specPath()
	if bin == "" {
		t.Skip("h2spec not installed (go install github.com/summerwind/h2spec/cmd/h2spec@v2.2.1+incompatible)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go Serve(ln, &h2.Config{}, Handler(nil))
	port := ln.Addr().(*net.TCPAddr).Port
	for _, strict := range []bool{false, true} {
		args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(port), "-o", "5"}
		if strict {
			args = append(args, "--strict")
		}
		cmd := exec.Command(bin, args...)
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(5 * time.Minute):
				cmd.Process.Kill()
			}
		}()
		out, _ := cmd.CombinedOutput()
		close(done)
		m := regexp.MustCompile(`(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed`).FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("h2spec %v: no summary:\n%s", args, out)
		}
		t.Logf("h2spec strict=%v: %s", strict, m[0])
		if m[4] != "0" || m[3] != "0" {
			t.Errorf("h2spec strict=%v: %s\n%s", strict, m[0], tail(string(out), 4000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
