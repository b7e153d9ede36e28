// Command harness runs the side-by-side benchmark that scripts/bench.sh sets
// up: it starts every server of the servers file pinned to the server CPUs,
// drives each workload from the client CPUs with wrk or loadgen, measures the
// server's own CPU time and memory from /proc, repeats the whole for several
// rounds with the servers interleaved (their order rotates every round), and
// writes results.json, results.md and chart.svg.
//
//	harness -servers FILE -out DIR [-quick] [-rounds N] ...
//	harness -report DIR/results.json   (rewrite results.md and chart.svg)
//
// Every server runs in its own process group and is killed on exit, on
// SIGINT/SIGTERM and on failure; -pidfile lists the groups for a shell trap.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ringhttpd/ringhttpd/bench/internal/report"
	"github.com/ringhttpd/ringhttpd/bench/internal/result"
)

func main() {
	var (
		serversFile = flag.String("servers", "", "servers file (NAME<TAB>PORT<TAB>files|const|skip<TAB>COMMAND)")
		outDir      = flag.String("out", "", "results directory (raw/ inside it holds tool output)")
		quick       = flag.Bool("quick", false, "short development run: 1 round, 1 s per wrk run, fewer workloads")
		rounds      = flag.Int("rounds", 0, "rounds (default 3, quick 1)")
		dur         = flag.Duration("duration", 0, "wrk duration per run, whole seconds (default 5s, quick 1s)")
		sustRounds  = flag.Int("sustained-rounds", 1, "rounds of the (long) sustained workload")
		only        = flag.String("workloads", "", "comma-separated workload names (default: all; quick: a short set)")
		onlyServers = flag.String("only-servers", "", "comma-separated server names to run (default: all in the servers file)")
		wrk         = flag.String("wrk", "wrk", "wrk binary")
		loadgen     = flag.String("loadgen", "loadgen", "loadgen binary (from bench/cmd/loadgen)")
		h2load      = flag.String("h2load", "h2load", "h2load binary (nghttp2-client), for the h2 and h2c workloads")
		clientConf  = flag.String("client-openssl-conf", "", "OPENSSL_CONF for the load generators: pins the TLS version, suite and group every server negotiates")
		wantTLS     = flag.String("want-tls", "", "\"PROTOCOL SUITE\" (e.g. \"TLSv1.3 TLS_AES_128_GCM_SHA256\") every HTTPS server must negotiate with the clients; checked per server at start and per h2 run")
		pipeLua     = flag.String("pipe-lua", "scripts/bench-pipeline.lua", "wrk script for the pipelined workload")
		serverCPUs  = flag.String("server-cpus", "0", "CPU list (taskset -c) for the servers")
		clientCPUs  = flag.String("client-cpus", "1", "CPU list (taskset -c) for the load generators")
		wrkThreads  = flag.Int("wrk-threads", 1, "wrk threads (one per client CPU)")
		parseFile   = flag.String("parse", "", "output of the parser benchmarks (go test -bench) to include")
		envFile     = flag.String("env", "", "KEY: VALUE lines describing the machine and versions")
		baseline    = flag.String("baseline", "ringhttpd-uring", "server the ratios compare with (falls back to nginx when it did not run)")
		pidFile     = flag.String("pidfile", "", "file to write the servers' process group ids to")
		reportOnly  = flag.String("report", "", "only rewrite results.md and chart.svg from this results.json")
	)
	flag.Parse()
	if *reportOnly != "" {
		run, err := readRun(*reportOnly)
		if err == nil {
			err = report.WriteAll(run, filepath.Dir(*reportOnly))
		}
		if err != nil {
			fatal(err)
		}
		return
	}
	if *serversFile == "" || *outDir == "" {
		fatal(fmt.Errorf("-servers and -out are required"))
	}
	if *rounds == 0 {
		*rounds = 3
		if *quick {
			*rounds = 1
		}
	}
	if *dur == 0 {
		*dur = 5 * time.Second
		if *quick {
			*dur = time.Second
		}
	}
	if *dur < time.Second || *dur%time.Second != 0 {
		fatal(fmt.Errorf("-duration must be whole seconds (wrk): %v", *dur))
	}
	servers, err := readServers(*serversFile)
	if err != nil {
		fatal(err)
	}
	if *onlyServers != "" {
		keep := strings.Split(*onlyServers, ",")
		servers = slices.DeleteFunc(servers, func(s *server) bool { return !slices.Contains(keep, s.Name) })
	}
	ws := workloads(*quick, *dur, *pipeLua, *sustRounds)
	names := *only
	if names == "" && *quick {
		names = "ka50,pipe16,close,f1m,idle10k,openloop,sustained"
	}
	if names != "" {
		keep := strings.Split(names, ",")
		ws = slices.DeleteFunc(ws, func(w *workload) bool { return !slices.Contains(keep, w.Name) })
	}
	rawDir := filepath.Join(*outDir, "raw")
	if err := os.MkdirAll(rawDir, 0o755); err != nil {
		fatal(err)
	}

	// Every exit path stops every server.
	var once sync.Once
	stopAll := func() {
		once.Do(func() {
			for _, s := range servers {
				s.stop()
			}
		})
	}
	defer stopAll()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		logf("harness: %v: stopping servers", s)
		stopAll()
		os.Exit(130)
	}()

	// Servers inherit SIGPIPE ignored (execve keeps SIG_IGN), as every
	// production server sets it: the minimal floor servers do not, and one
	// killed by a write racing wrk's close at the end of a run is no result.
	signal.Ignore(syscall.SIGPIPE)
	start := time.Now()
	loadStart := loadavg()
	// writePids records the running servers' process groups for the shell's
	// trap; called again after every restart.
	writePids := func() {
		if *pidFile == "" {
			return
		}
		var pgids []string
		for _, s := range servers {
			if s.cmd != nil && s.cmd.Process != nil {
				pgids = append(pgids, strconv.Itoa(s.cmd.Process.Pid))
			}
		}
		os.WriteFile(*pidFile, []byte(strings.Join(pgids, "\n")+"\n"), 0o644)
	}
	for _, s := range servers {
		if s.Skipped != "" {
			logf("%-16s skipped: %s", s.Name, s.Skipped)
			continue
		}
		if err := s.start(*serverCPUs, rawDir); err != nil {
			s.Skipped = err.Error()
			logf("%-16s skipped: %s", s.Name, s.Skipped)
			continue
		}
		logf("%-16s up on %s (pid %d)", s.Name, s.addr(), s.cmd.Process.Pid)
	}
	writePids()

	e := &env{wrk: *wrk, loadgen: *loadgen, h2load: *h2load, clientCPUs: *clientCPUs, rawDir: rawDir, wrkThreads: *wrkThreads, wantTLS: *wantTLS}
	if *clientConf != "" {
		e.clientEnv = []string{"OPENSSL_CONF=" + *clientConf}
	}
	// What each HTTPS server negotiates with the clients' configuration:
	// recorded, and a server that negotiates something else is left out of
	// the TLS workloads (its figures would not compare).
	tlsInfo := map[string]string{}
	for _, s := range servers {
		if s.Skipped != "" || s.TLSPort == 0 {
			continue
		}
		got, err := e.tlsProbe(s)
		if err == nil && *wantTLS != "" && !strings.HasPrefix(got, *wantTLS+" ") {
			err = fmt.Errorf("negotiated %q, want %q", got, *wantTLS)
		}
		if err != nil {
			logf("%-16s HTTPS left out: %v", s.Name, err)
			tlsInfo[s.Name] = "left out of TLS workloads: " + err.Error()
			s.TLSPort = 0
			continue
		}
		tlsInfo[s.Name] = got
		logf("%-16s HTTPS: %s", s.Name, got)
	}
	warm := &workload{path: file3k5, conns: 50, duration: time.Second}
	warmBig := &workload{path: file1m, conns: 4, duration: time.Second}
	for _, s := range servers {
		if s.Skipped == "" && !*quick { // quick: no warm-up, to stay under 2 minutes
			m := map[string]float64{}
			e.wrkRun(warm, s, m, filepath.Join(rawDir, "warmup-"+s.Name+".txt"))
			if s.Class == "files" && !*quick {
				e.wrkRun(warmBig, s, m, filepath.Join(rawDir, "warmup1m-"+s.Name+".txt"))
			}
		}
	}

	pause := 300 * time.Millisecond
	if *quick {
		pause = 50 * time.Millisecond
	}
	cells := map[[2]string]*result.Cell{}
	for round := 1; round <= *rounds; round++ {
		for _, w := range ws {
			if w.rounds > 0 && round > w.rounds {
				continue
			}
			n := len(servers)
			for i := range n {
				s := servers[(i+round-1)%n] // rotate so no server always goes first
				if s.Skipped != "" || (s.Class == "const" && !w.consts) || (s.Class == "dynamic" && !w.dynamic) || (w.only != nil && !slices.Contains(w.only, s.Name)) || s.url(w.proto) == "" {
					continue
				}
				if w.fresh {
					// A fresh process, so memory kept from earlier
					// workloads (Go heaps, pools) hides no growth.
					s.stop()
					if err := s.start(*serverCPUs, rawDir); err != nil {
						s.Skipped = "did not restart: " + err.Error()
						writePids()
						continue
					}
					writePids()
					time.Sleep(200 * time.Millisecond)
				}
				r := e.measure(w, s, round)
				k := [2]string{s.Name, w.Name}
				if cells[k] == nil {
					cells[k] = &result.Cell{Server: s.Name, Workload: w.Name}
				}
				cells[k].Rounds = append(cells[k].Rounds, r)
				logRound(round, w, s, r)
				if r.Error != "" && !s.alive() {
					s.stop()
					if err := s.start(*serverCPUs, rawDir); err != nil {
						s.Skipped = "died and did not restart: " + err.Error()
					}
					writePids()
				}
				time.Sleep(pause) // let closed connections drain
			}
		}
	}
	stopAll()

	run := &result.Run{
		Date:     time.Now().UTC().Format(time.RFC3339),
		Mode:     map[bool]string{true: "quick", false: "full"}[*quick],
		Rounds:   *rounds,
		Seconds:  time.Since(start).Seconds(),
		Baseline: *baseline,
		Env:      readEnv(*envFile),
	}
	run.Host, _ = os.Hostname()
	run.Env["server_cpus"], run.Env["client_cpus"], run.Env["wrk_threads"] = *serverCPUs, *clientCPUs, strconv.Itoa(*wrkThreads)
	run.Env["harness_go"] = runtime.Version()
	for name, v := range tlsInfo {
		run.Env["tls "+name] = v
	}
	if *clientConf != "" {
		if b, err := os.ReadFile(*clientConf); err == nil {
			run.Env["tls client config"] = clientConfSummary(string(b))
		}
	}
	run.Env["loadavg"] = "start " + loadStart + ", end " + loadavg() + " (other work on the machine)"
	for _, s := range servers {
		run.Servers = append(run.Servers, s.Server)
	}
	for _, w := range ws {
		run.Workloads = append(run.Workloads, w.Workload)
		for _, s := range servers {
			if c := cells[[2]string{s.Name, w.Name}]; c != nil {
				c.Aggregate()
				run.Cells = append(run.Cells, *c)
			}
		}
	}
	if *parseFile != "" {
		run.Parser, run.ParserInput = readParse(*parseFile)
	}
	if err := writeJSON(run, filepath.Join(*outDir, "results.json")); err != nil {
		fatal(err)
	}
	if err := report.WriteAll(run, *outDir); err != nil {
		fatal(err)
	}
	logf("harness: measured in %.0f s; results in %s", run.Seconds, *outDir)
}

func logRound(round int, w *workload, s *server, r result.Round) {
	if r.Error != "" {
		logf("[r%d] %-9s %-16s ERROR %s", round, w.Name, s.Name, r.Error)
		return
	}
	m := r.Metrics
	switch w.Name {
	case "idle10k":
		logf("[r%d] %-9s %-16s %5.0f conns  %7.0f B/conn  rss %6.1f MiB", round, w.Name, s.Name,
			m[result.Ready], m[result.RSSPerConn], m["rss_after_kb"]/1024)
	default:
		logf("[r%d] %-9s %-16s %9.0f req/s %7.2f us/req  p99 %8.0f us  peak %6.1f MiB  err %.0f/%.0f", round, w.Name, s.Name,
			m[result.RPS], m[result.CPUPerReq], m[result.P99], m[result.PeakRSS]/1024, m[result.Errors], m[result.Non2xx])
	}
}

// loadavg returns the 1, 5 and 15 minute load averages.
func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", a...)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "harness:", err)
	os.Exit(1)
}

func writeJSON(v any, path string) error {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readRun(path string) (*result.Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	run := new(result.Run)
	return run, json.Unmarshal(b, run)
}

func readEnv(path string) map[string]string {
	m := map[string]string{}
	if path == "" {
		return m
	}
	f, err := os.Open(path)
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

var reBench = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+[\d.]+ MB/s)?\s+([\d.]+) B/op\s+([\d.]+) allocs/op`)

// readParse reads `go test -bench -benchmem` output: the median of each
// benchmark's runs, in first-seen order, and the input line the benchmark
// printed (a line starting with "input:").
func readParse(path string) ([]result.Bench, string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, ""
	}
	type acc struct{ ns, by, al []float64 }
	var order []string
	all := map[string]*acc{}
	input := ""
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "input:"); ok {
			input = strings.TrimSpace(v)
		}
		m := reBench.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		a := all[m[1]]
		if a == nil {
			a = &acc{}
			all[m[1]] = a
			order = append(order, m[1])
		}
		f := func(s string) float64 { x, _ := strconv.ParseFloat(s, 64); return x }
		a.ns, a.by, a.al = append(a.ns, f(m[2])), append(a.by, f(m[3])), append(a.al, f(m[4]))
	}
	var out []result.Bench
	for _, name := range order {
		a := all[name]
		out = append(out, result.Bench{Name: name, NsOp: result.StatOf(a.ns).Median, BOp: result.StatOf(a.by).Median, AllocsOp: result.StatOf(a.al).Median})
	}
	return out, input
}
