package main

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/ringhttpd/ringhttpd/server"
)

// scrapeTimeout bounds how long a scrape or a health check waits for the
// workers to publish.
const scrapeTimeout = time.Second

// metricsServer is the --metrics listener: a plain net/http server on its
// own goroutines, off the event loops. /metrics is the Prometheus text
// format; /healthz is 200 while every worker's loop turns.
type metricsServer struct {
	ln    net.Listener
	srv   *http.Server
	s     *server.Server
	rl    *reloader
	start time.Time
}

func newMetricsServer(ln net.Listener, s *server.Server, rl *reloader, log *slog.Logger) *metricsServer {
	m := &metricsServer{ln: ln, s: s, rl: rl, start: time.Now()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", m.metrics)
	mux.HandleFunc("GET /healthz", m.healthz)
	m.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return m
}

func (m *metricsServer) serve(log *slog.Logger) {
	go func() {
		if err := m.srv.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
}

func (m *metricsServer) metrics(w http.ResponseWriter, r *http.Request) {
	mt, _ := m.s.Metrics(scrapeTimeout)
	var b bytes.Buffer
	mt.WritePrometheus(&b)
	server.WriteExtra(&b, m.extra())
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(b.Bytes())
}

func (m *metricsServer) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := m.s.Healthy(scrapeTimeout); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(err.Error() + "\n"))
		return
	}
	w.Write([]byte("ok\n"))
}

// extra are the command's own metrics: reloads, build and process.
func (m *metricsServer) extra() []server.ExtraMetric {
	g := func(name, typ, help string, v float64, labels ...string) server.ExtraMetric {
		return server.ExtraMetric{Name: name, Type: typ, Help: help,
			Samples: []server.ExtraSample{{Labels: labels, Value: v}}}
	}
	ms := []server.ExtraMetric{
		{Name: "ringhttpd_reloads_total", Type: "counter", Help: "SIGHUP reloads, by result (failed: some part refused its new configuration and kept the old).",
			Samples: []server.ExtraSample{
				{Labels: []string{"result", "ok"}, Value: float64(m.rl.ok.Load())},
				{Labels: []string{"result", "failed"}, Value: float64(m.rl.failed.Load())},
			}},
		g("ringhttpd_build_info", "gauge", "Version of the running binary.", 1, "version", versionLine()),
		g("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch.", float64(m.start.UnixNano())/1e9),
	}
	if t := m.rl.lastOK.Load(); t > 0 {
		ms = append(ms, g("ringhttpd_reload_last_success_timestamp_seconds", "gauge", "Time of the last reload without a failure.", float64(t)))
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
		ms = append(ms, g("process_cpu_seconds_total", "counter", "User and system CPU time of the process (io-wq workers included).", cpu))
	}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		ms = append(ms, g("process_open_fds", "gauge", "Open file descriptors.", float64(len(ents))))
	}
	return ms
}

// close stops the metrics listener at once (scrapes in progress are cut).
func (m *metricsServer) close() { m.srv.Close() }

// file returns a duplicate of the listener's descriptor, to hand to an
// upgrade's new process.
func (m *metricsServer) file() (*os.File, error) {
	tl, ok := m.ln.(*net.TCPListener)
	if !ok {
		return nil, errors.New("not a TCP listener")
	}
	return tl.File()
}
