package main

import (
	"time"

	"github.com/ringhttpd/ringhttpd/server"
	"github.com/ringhttpd/ringhttpd/tlsrec"
)

// validateTLS checks the TLS flags against each other.
func (o *options) validateTLS() error {
	if len(o.tlsCerts) != len(o.tlsKeys) {
		return fail("--%s and --%s come in pairs: %d certificates, %d keys", fTLSCert, fTLSKey, len(o.tlsCerts), len(o.tlsKeys))
	}
	if len(o.tlsListen) > 0 && len(o.tlsCerts) == 0 {
		return fail("--%s needs --%s and --%s", fTLSListen, fTLSCert, fTLSKey)
	}
	if o.redirectHTTPS && len(o.tlsListen) == 0 {
		return fail("--%s needs --%s", fRedirectHTTPS, fTLSListen)
	}
	if o.hsts < 0 {
		return fail("--%s %d: must be 0 (off) or more seconds", fHSTS, o.hsts)
	}
	if o.tlsHandshake <= 0 || o.tlsMaxHS <= 0 {
		return fail("--%s and --%s must be positive", fTLSHandshake, fTLSMaxHS)
	}
	if o.h2MaxStreams <= 0 || o.h2MaxStreams > 1<<20 {
		return fail("--%s %d: want 1 to 1048576", fH2MaxStreams, o.h2MaxStreams)
	}
	if o.h2Window < 1 || o.h2Window > 1<<31-1 {
		return fail("--%s %d: want 1 to 2147483647", fH2Window, o.h2Window)
	}
	switch o.kernelTLS {
	case "auto", "off":
	default:
		return fail("--%s %q: want auto or off", fKernelTLS, o.kernelTLS)
	}
	return nil
}

// tlsPairs returns the --tls-cert/--tls-key pairs.
func (o *options) tlsPairs() []tlsrec.Pair {
	p := make([]tlsrec.Pair, len(o.tlsCerts))
	for i := range p {
		p[i] = tlsrec.Pair{CertFile: o.tlsCerts[i], KeyFile: o.tlsKeys[i]}
	}
	return p
}

// setupH2 sets cfg's HTTP/2 options.
func (d *daemon) setupH2(cfg *server.Config) {
	o := &d.o
	cfg.H2C = o.h2c
	cfg.DisableH2 = o.noH2
	cfg.H2.MaxConcurrentStreams = uint32(o.h2MaxStreams)
	cfg.H2.InitialWindowSize = uint32(o.h2Window)
}

// setupTLS loads the certificates into cfg (nil when no certificate is
// configured) and registers their reload: SIGHUP loads the same files
// again; a bad set is refused and the old one stays.
func (d *daemon) setupTLS(cfg *server.Config) error {
	o := &d.o
	if len(o.tlsCerts) == 0 {
		return nil
	}
	certs, err := tlsrec.NewCerts(o.tlsPairs())
	if err != nil {
		return fail("%v", err)
	}
	cfg.TLSListen = o.tlsListen
	cfg.TLS = &server.TLSConfig{
		Certs:            certs,
		HandshakeTimeout: o.tlsHandshake,
		MaxHandshakes:    o.tlsMaxHS,
		Kernel:           o.kernelTLS,
	}
	cfg.RedirectHTTPS = o.redirectHTTPS
	cfg.HSTS = secondsDuration(o.hsts)
	d.reload.Add("tls certificates", func() error {
		warnings, err := certs.Swap(o.tlsPairs())
		for _, w := range warnings {
			d.log.Warn("tls certificate", "warning", w)
		}
		return err
	})
	return nil
}

// secondsDuration converts whole seconds to a Duration.
func secondsDuration(s int) time.Duration { return time.Duration(s) * time.Second }
