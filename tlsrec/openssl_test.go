package tlsrec

import (
	"bytes"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// opensslClient runs `openssl s_client` against addr with args, writes the
// lines of input to it one by one (after the handshake), keeps its stdin
// open, and returns its output once the server closes the connection.
func opensslClient(t *testing.T, addr string, args []string, input []string) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: getCA(t).cert.Raw}), 0o644)
	cmd := exec.Command(bin, append([]string{"s_client", "-connect", addr, "-CAfile", ca, "-verify_return_error"}, args...)...)
	stdin, _ := cmd.StdinPipe()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for _, l := range input {
		time.Sleep(200 * time.Millisecond) // one line at a time, after the handshake
		io.WriteString(stdin, l+"\n")
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("openssl s_client did not finish:\n%s", out.String())
	}
	stdin.Close()
	return out.String()
}

// TestOpenSSLClient covers what a crypto/tls client cannot choose: TLS 1.3
// with AES-256-GCM and ChaCha20-Poly1305, P-256 key exchange, and the 1.2
// suites, each full and resumed; a KeyUpdate the client asks us to answer;
// a TLS 1.2 renegotiation attempt.
func TestOpenSSLClient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs openssl s_client (slow)")
	}
	env := newEnv(t, HandshakerOptions{})
	addr, results := listen(t, env.d)
	cases := []struct {
		name  string
		args  []string
		suite string // as in s_client's "Cipher is" line
	}{
		{"1.3-AES128", []string{"-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"}, "TLS_AES_128_GCM_SHA256"},
		{"1.3-AES256", []string{"-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"}, "TLS_AES_256_GCM_SHA384"},
		{"1.3-ChaCha", []string{"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"}, "TLS_CHACHA20_POLY1305_SHA256"},
		{"1.3-P256", []string{"-tls1_3", "-groups", "P-256"}, "TLS_AES_128_GCM_SHA256"},
		{"1.2-ECDSA-AES256", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"}, "ECDHE-ECDSA-AES256-GCM-SHA384"},
		{"1.2-ECDSA-ChaCha", []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"}, "ECDHE-ECDSA-CHACHA20-POLY1305"},
		{"1.2-RSA-AES128", []string{"-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256", "-servername", "rsa.example"}, "ECDHE-RSA-AES128-GCM-SHA256"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sess := filepath.Join(t.TempDir(), "sess")
			args := append([]string{"-servername", "ec.example"}, tc.args...)
			for _, resume := range []bool{false, true} {
				a := append(args, "-sess_out", sess)
				if resume {
					a = append(args, "-sess_in", sess)
				}
				out := opensslClient(t, addr, a, []string{"hello", "world", "quit"})
				for _, want := range []string{"echo hello\n", "echo world\n", "bye\n", tc.suite} {
					if !strings.Contains(out, want) {
						t.Fatalf("resume=%v: no %q in s_client output:\n%s", resume, want, out)
					}
				}
				if resume && !strings.Contains(out, "Reused,") {
					t.Fatalf("not resumed:\n%s", out)
				}
				res := recv(t, results)
				if res.err != nil || res.sess.Resumed != resume {
					t.Fatalf("server: %v resumed=%v", res.err, res.sess != nil && res.sess.Resumed)
				}
			}
		})
	}

	t.Run("KeyUpdate requested", func(t *testing.T) {
		out := opensslClient(t, addr, []string{"-tls1_3", "-servername", "ec.example"}, []string{"before", "K", "after", "k", "again", "quit"})
		for _, want := range []string{"echo before\n", "KEYUPDATE", "echo after\n", "echo again\n", "bye\n"} {
			if !strings.Contains(out, want) {
				t.Fatalf("no %q in s_client output:\n%s", want, out)
			}
		}
		if res := recv(t, results); res.err != nil || len(res.requests) != 4 {
			t.Fatalf("server: %v, requests %q", res.err, res.requests)
		}
	})

	t.Run("TLS 1.2 renegotiation refused", func(t *testing.T) {
		opensslClient(t, addr, []string{"-tls1_2", "-servername", "ec.example"}, []string{"before", "R"})
		res := recv(t, results)
		if !errors.Is(res.err, ErrRenegotiation) {
			t.Fatalf("server: %v", res.err)
		}
	})
}
