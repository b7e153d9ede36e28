package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

var (
	reBriefProto = regexp.MustCompile(`(?m)^Protocol version: (\S+)`)
	reBriefSuite = regexp.MustCompile(`(?m)^Ciphersuite: (\S+)`)
	reBriefKey   = regexp.MustCompile(`(?m)^(?:Server Temp Key|Negotiated TLS1.3 group): (\S+?),?(?:\s|$)`)
	reBriefSig   = regexp.MustCompile(`(?m)^Signature type: (\S+)`)
)

// tlsProbe makes one handshake with s's HTTPS listener through openssl
// s_client under the load generators' environment (so with the same
// OPENSSL_CONF as wrk and h2load) and returns "PROTOCOL SUITE GROUP SIGNATURE",
// e.g. "TLSv1.3 TLS_AES_128_GCM_SHA256 X25519 ECDSA".
func (e *env) tlsProbe(s *server) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", "s_client", "-brief", "-connect", fmt.Sprintf("127.0.0.1:%d", s.TLSPort), "-servername", "localhost")
	cmd.Stdin = strings.NewReader("")
	if len(e.clientEnv) > 0 {
		cmd.Env = append(os.Environ(), e.clientEnv...)
	}
	out, _ := cmd.CombinedOutput()
	return parseBrief(string(out))
}

// parseBrief reads `openssl s_client -brief`'s connection summary.
func parseBrief(out string) (string, error) {
	p, c := reBriefProto.FindStringSubmatch(out), reBriefSuite.FindStringSubmatch(out)
	if p == nil || c == nil {
		return "", fmt.Errorf("no TLS connection: %s", firstLine([]byte(out)))
	}
	v := p[1] + " " + c[1]
	if k := reBriefKey.FindStringSubmatch(out); k != nil {
		v += " " + k[1]
	}
	if g := reBriefSig.FindStringSubmatch(out); g != nil {
		v += " " + g[1]
	}
	return v, nil
}

// clientConfSummary returns the settings of an OpenSSL configuration's
// system_default section ("MinProtocol = TLSv1.3; Ciphersuites = ..."), one
// line for the report.
func clientConfSummary(conf string) string {
	var kv []string
	in := false
	for _, line := range strings.Split(conf, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") {
			in = strings.Contains(line, "system_default")
			continue
		}
		if in && line != "" && !strings.HasPrefix(line, "#") {
			kv = append(kv, line)
		}
	}
	return strings.Join(kv, "; ")
}
