package tlsrec

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Errors returned while loading certificates. Each is wrapped with the file
// it concerns; compare with errors.Is.
var (
	ErrNoCertificate = errors.New("tlsrec: no CERTIFICATE block in PEM file")
	ErrNoKey         = errors.New("tlsrec: no private key block in PEM file")
	ErrKeyMismatch   = errors.New("tlsrec: private key does not match the certificate")
	ErrKeyType       = errors.New("tlsrec: unsupported private key type (want RSA, ECDSA or Ed25519)")
	ErrEncryptedKey  = errors.New("tlsrec: encrypted private keys are not supported")
	ErrNoPairs       = errors.New("tlsrec: no certificate/key pair given")
)

// Pair names one certificate (leaf first, then its chain) and its private
// key, both PEM files.
type Pair struct {
	CertFile string
	KeyFile  string
}

// CertSet is a validated, immutable set of certificates with its SNI index.
// The first pair is the default for clients that send no or an unknown
// server name.
type CertSet struct {
	certs  []*tls.Certificate
	byName map[string][]*tls.Certificate // lower-case DNS names; "*.example.com" for wildcards

	// Warnings are problems that do not stop the set from being served
	// (an expired or not yet valid certificate, a chain that does not
	// verify in order, a weak RSA key), one line each.
	Warnings []string
}

// LoadCertSet reads and validates every pair. It fails on the first
// unreadable file, PEM without a certificate or key, unparsable certificate
// or key, or key that does not match its certificate; the error names the
// file. now is the time used for the expiry warnings.
func LoadCertSet(pairs []Pair, now time.Time) (*CertSet, error) {
	if len(pairs) == 0 {
		return nil, ErrNoPairs
	}
	s := &CertSet{byName: make(map[string][]*tls.Certificate)}
	for _, p := range pairs {
		c, warn, err := LoadPair(p, now)
		if err != nil {
			return nil, err
		}
		s.Warnings = append(s.Warnings, warn...)
		s.certs = append(s.certs, c)
		for _, n := range certNames(c.Leaf) {
			s.byName[n] = append(s.byName[n], c)
		}
	}
	return s, nil
}

// LoadPair reads one certificate chain and its key, checks that the key
// matches the leaf, and returns the certificate with Leaf set, plus warnings.
func LoadPair(p Pair, now time.Time) (*tls.Certificate, []string, error) {
	certPEM, err := os.ReadFile(p.CertFile)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsrec: certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(p.KeyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsrec: key: %w", err)
	}
	var chain []*x509.Certificate
	c := &tls.Certificate{}
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		x, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("tlsrec: %s: certificate %d: %w", p.CertFile, len(chain)+1, err)
		}
		chain = append(chain, x)
		c.Certificate = append(c.Certificate, b.Bytes)
	}
	if len(chain) == 0 {
		return nil, nil, fmt.Errorf("%w: %s", ErrNoCertificate, p.CertFile)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s", err, p.KeyFile)
	}
	pub, ok := chain[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, nil, fmt.Errorf("%w: %s does not belong to %s", ErrKeyMismatch, p.KeyFile, p.CertFile)
	}
	c.PrivateKey = key
	c.Leaf = chain[0]
	return c, pairWarnings(p, chain, now), nil
}

// parseKey finds the first private key block of keyPEM (PKCS #8, PKCS #1
// RSA or SEC 1 EC).
func parseKey(keyPEM []byte) (crypto.Signer, error) {
	for rest := keyPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, ErrNoKey
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "" {
			return nil, ErrEncryptedKey
		}
		var k any
		var err error
		switch b.Type {
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		default:
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		}
		if err != nil {
			return nil, fmt.Errorf("tlsrec: private key: %w", err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		}
		return nil, ErrKeyType
	}
}

// pairWarnings lists what is wrong but servable about a chain.
func pairWarnings(p Pair, chain []*x509.Certificate, now time.Time) []string {
	var w []string
	leaf := chain[0]
	name := leaf.Subject.CommonName
	if len(leaf.DNSNames) > 0 {
		name = leaf.DNSNames[0]
	}
	for i, x := range chain {
		what := "certificate"
		if i > 0 {
			what = fmt.Sprintf("chain certificate %d (%s)", i+1, x.Subject.CommonName)
		}
		if now.After(x.NotAfter) {
			w = append(w, fmt.Sprintf("%s: %s for %q expired on %s (served anyway)",
				p.CertFile, what, name, x.NotAfter.UTC().Format(time.DateOnly)))
		} else if now.Before(x.NotBefore) {
			w = append(w, fmt.Sprintf("%s: %s for %q is not valid before %s (served anyway)",
				p.CertFile, what, name, x.NotBefore.UTC().Format(time.DateTime)))
		}
		if i+1 < len(chain) {
			if err := x.CheckSignatureFrom(chain[i+1]); err != nil {
				w = append(w, fmt.Sprintf("%s: certificate %d is not signed by certificate %d (chain out of order or incomplete): %v",
					p.CertFile, i+1, i+2, err))
			}
		}
	}
	if k, ok := leaf.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
		w = append(w, fmt.Sprintf("%s: RSA key of %d bits is weak (want 2048 or more)", p.CertFile, k.N.BitLen()))
	}
	if len(certNames(leaf)) == 0 {
		w = append(w, fmt.Sprintf("%s: certificate has no DNS name: only clients without a matching name get it (as the default)", p.CertFile))
	}
	return w
}

// certNames returns the lower-case DNS names a leaf answers for: its DNS
// SANs, or its common name when it has no SAN at all.
func certNames(leaf *x509.Certificate) []string {
	names := leaf.DNSNames
	if len(names) == 0 && len(leaf.IPAddresses) == 0 && strings.Contains(leaf.Subject.CommonName, ".") {
		names = []string{leaf.Subject.CommonName}
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, strings.ToLower(strings.TrimSuffix(n, ".")))
	}
	return out
}

// Certificates returns the set's certificates in pair order. The slice is
// shared: do not modify it.
func (s *CertSet) Certificates() []*tls.Certificate { return s.certs }

// candidates returns the certificates whose names match host (exact match
// first, then a wildcard for its first label), or nil.
func (s *CertSet) candidates(host string) []*tls.Certificate {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return nil
	}
	if c := s.byName[host]; c != nil {
		return c
	}
	if i := strings.IndexByte(host, '.'); i > 0 {
		return s.byName["*"+host[i:]]
	}
	return nil
}

// Covers reports whether some certificate of the set names host (exactly or
// by a wildcard), so that a site configured for host gets a matching
// certificate.
func (s *CertSet) Covers(host string) bool { return s.candidates(host) != nil }

// Select picks the certificate for a ClientHello: among the certificates
// whose names match the server name (or, when none does, the default: the
// first pair), the first one the client can use (key type, signature
// schemes); if the client can use none of them, the first of them.
func (s *CertSet) Select(hello *tls.ClientHelloInfo) *tls.Certificate {
	cands := s.candidates(hello.ServerName)
	if cands == nil {
		// No name match: the default pair, unless the client cannot use it
		// and another pair (same names or none) suits it.
		if hello.SupportsCertificate(s.certs[0]) == nil {
			return s.certs[0]
		}
		cands = s.certs
	}
	for _, c := range cands {
		if hello.SupportsCertificate(c) == nil {
			return c
		}
	}
	return cands[0]
}

// Certs is the live certificate store read by every handshake. Swap
// replaces its set atomically: handshakes that start afterwards use the new
// set, connections already established keep going. Its zero value has no
// set; GetCertificate then fails.
type Certs struct {
	set atomic.Pointer[CertSet]
}

// NewCerts loads pairs into a new store; see LoadCertSet.
func NewCerts(pairs []Pair) (*Certs, error) {
	s, err := LoadCertSet(pairs, time.Now())
	if err != nil {
		return nil, err
	}
	c := &Certs{}
	c.set.Store(s)
	return c, nil
}

// Swap loads and validates pairs and, only if the whole set is good,
// replaces the current set with it, returning its warnings. A bad set is
// refused with an error naming the file and the current set stays.
func (c *Certs) Swap(pairs []Pair) (warnings []string, err error) {
	s, err := LoadCertSet(pairs, time.Now())
	if err != nil {
		return nil, err
	}
	c.set.Store(s)
	return s.Warnings, nil
}

// Current returns the set in use (nil before the first successful load).
func (c *Certs) Current() *CertSet { return c.set.Load() }

// GetCertificate is a tls.Config.GetCertificate that selects from the
// current set (see CertSet.Select).
func (c *Certs) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	s := c.set.Load()
	if s == nil {
		return nil, ErrNoPairs
	}
	return s.Select(hello), nil
}

// Suites12 are the TLS 1.2 cipher suites ServerConfig enables: ECDHE key
// exchange with an AEAD only, best first. (TLS 1.3's suites are all AEAD and
// not configurable in crypto/tls.)
var Suites12 = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
}

// ServerConfig returns the crypto/tls server configuration ringhttpd serves
// with: TLS 1.2 and 1.3 only, AEAD suites only (Suites12 for 1.2), key
// exchange with X25519 or P-256, certificates chosen by certs (so a Swap
// takes effect on the next handshake), ALPN protocols alpn in preference
// order (e.g. "h2", "http/1.1"), and session resumption by tickets (keys
// generated and rotated by crypto/tls; valid for the life of the returned
// config). The Handshaker adds the per-handshake key capture.
func ServerConfig(certs *Certs, alpn []string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		MaxVersion:   tls.VersionTLS13,
		CipherSuites: append([]uint16(nil), Suites12...),
		CurvePreferences: []tls.CurveID{
			tls.X25519, tls.CurveP256,
		},
		NextProtos:     append([]string(nil), alpn...),
		GetCertificate: certs.GetCertificate,
	}
}
