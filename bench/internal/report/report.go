// Package report turns a benchmark run (result.Run) into results.md, a table
// with every peer's ratio to the baseline server, and chart.svg.
package report

import (
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ringhttpd/ringhttpd/bench/internal/result"
)

// WriteAll writes results.md and chart.svg for run into dir.
func WriteAll(run *result.Run, dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(Markdown(run)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "chart.svg"), []byte(SVG(run)), 0o644)
}

// libServer is ringhttpd used as a library (bench/cmd/ringlibd), the
// baseline of the dynamic handler's workloads, which the command does not
// serve.
const libServer = "ringhttpd-lib"

// Baseline returns the server ratios compare with: run.Baseline when it ran,
// otherwise nginx, otherwise ringhttpd-lib when it ran, otherwise "".
func Baseline(run *result.Run) string {
	for _, name := range []string{run.Baseline, "nginx", libServer} {
		for _, s := range run.Servers {
			if s.Name == name && s.Skipped == "" {
				return name
			}
		}
	}
	return ""
}

func ran(run *result.Run) []result.Server {
	var out []result.Server
	for _, s := range run.Servers {
		if s.Skipped == "" {
			out = append(out, s)
		}
	}
	return out
}

func stat(run *result.Run, server, workload, metric string) (result.Stat, bool) {
	c := run.Cell(server, workload)
	if c == nil {
		return result.Stat{}, false
	}
	st, ok := c.Stats[metric]
	return st, ok && st.N > 0
}

// baseFor returns the baseline of one workload: base, or ringhttpd-lib
// where base did not take part (the dynamic handler's workloads).
func baseFor(run *result.Run, base, workload string) string {
	if run.Cell(base, workload) == nil && run.Cell(libServer, workload) != nil {
		return libServer
	}
	return base
}

// ratio returns server's median of metric divided by the workload's
// baseline's (baseFor), or NaN.
func ratio(run *result.Run, server, base, workload, metric string) float64 {
	base = baseFor(run, base, workload)
	a, ok1 := stat(run, server, workload, metric)
	b, ok2 := stat(run, base, workload, metric)
	if !ok1 || !ok2 || b.Median == 0 {
		return math.NaN()
	}
	return a.Median / b.Median
}

func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "–"
	case a >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func x(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.2fx", v)
}

// pct renders a utilization median as a percentage ("–" when the runs did
// not record it).
func pct(st result.Stat) string {
	if st.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", st.Median*100)
}

// saturated is the load generator's utilization (its CPU time over the run's
// wall time, as a share of the CPUs it is pinned to) from which req/s
// measures the client rather than the server.
const saturated = 0.95

func spread(st result.Stat) string {
	if st.N <= 1 {
		return num(st.Median)
	}
	return fmt.Sprintf("%s (%s–%s)", num(st.Median), num(st.Min), num(st.Max))
}

// Markdown renders the whole report.
func Markdown(run *result.Run) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	base := Baseline(run)
	p("# ringhttpd side-by-side benchmark: %s, %s\n\n", run.Date, run.Host)
	p("Mode **%s**: %d round(s), servers interleaved in each round (order rotated per round); every figure is the median over rounds, with (min–max) where there were several. Measuring took %.0f s.\n\n", run.Mode, run.Rounds, run.Seconds)
	if base != "" {
		p("Ratios are **peer ÷ %s** on the same workload: for CPU/request above 1.00x means %s spends less CPU per request than the peer; for req/s below 1.00x means %s served more.\n\n", base, base, base)
	} else {
		p("No baseline server ran, so there are no ratios.\n\n")
	}
	p("Server CPU µs/request is utime+stime of all the server's processes and threads (/proc/PID/stat) over the measured window divided by answered requests; the robust figure on a shared 2-core machine, where req/s is capped by the load generator. Servers on CPU %s, load generator on CPU %s.\n\n", run.Env["server_cpus"], run.Env["client_cpus"])

	if len(run.Env) > 0 {
		p("| machine / versions | |\n|---|---|\n")
		for _, k := range sortedKeys(run.Env) {
			p("| %s | %s |\n", k, strings.ReplaceAll(run.Env[k], "|", "/"))
		}
		p("\n")
	}
	var skipped []result.Server
	for _, s := range run.Servers {
		if s.Skipped != "" {
			skipped = append(skipped, s)
		}
	}
	if len(skipped) > 0 {
		p("**Skipped:**\n\n")
		for _, s := range skipped {
			p("- %s: %s\n", s.Name, s.Skipped)
		}
		p("\n")
	}

	servers := ran(run)
	var loadWs []result.Workload
	for _, w := range run.Workloads {
		if w.Name != "idle10k" {
			loadWs = append(loadWs, w)
		}
	}
	// Key figures: CPU/req and req/s per server and workload.
	p("## Key figures\n\nServer CPU µs per request (lower is better):\n\n")
	keyTable(&b, run, servers, loadWs, result.CPUPerReq, base)
	p("\nRequests per second (higher is better; the load generator shares the machine, so this is the lesser figure):\n\n")
	keyTable(&b, run, servers, loadWs, result.RPS, base)
	p("\n")

	if t := targets(run); t != "" {
		p("## Targets from the server issue\n\n%s\n", t)
	}
	if t := libTargets(run); t != "" {
		p("## Targets from the library issue\n\nringhttpd as a Go library (`server.New` with the handler of bench/internal/dyn) against fasthttp serving the same handler.\n\n%s\n", t)
	}
	if t := tlsTargets(run); t != "" {
		p("## Targets from the HTTPS (13) and HTTP/2 (14) issues\n\n%s\n", t)
	}

	for _, w := range run.Workloads {
		p("## %s (`%s`)\n\n%s\n\n", w.Title, w.Name, w.Detail)
		base := base
		if base != "" {
			base = baseFor(run, base, w.Name)
		}
		switch w.Name {
		case "idle10k":
			p("| server | conns answered | RSS growth per conn (B) | RSS with them open (MiB) | failed |\n|---|---:|---:|---:|---:|\n")
			for _, s := range servers {
				c := run.Cell(s.Name, w.Name)
				if c == nil {
					continue
				}
				p("| %s | %s | %s | %s | %s |\n", s.Name, num(c.Stats[result.Ready].Median), spread(c.Stats[result.RSSPerConn]),
					num(c.Stats["rss_after_kb"].Median/1024), num(c.Stats[result.Errors].Median))
			}
		case "sustained":
			p("| server | req/s first interval | req/s whole run | whole ÷ first | p99 first (µs) | worst interval p99 (µs) | CPU µs/req | p99 per interval (µs) | errors |\n|---|---:|---:|---:|---:|---:|---:|---|---:|\n")
			for _, s := range servers {
				c := run.Cell(s.Name, w.Name)
				if c == nil {
					continue
				}
				var series []string
				if r := c.MedianRound(result.RPS); r != nil {
					for _, pt := range r.Series {
						series = append(series, num(pt.P99))
					}
				}
				p("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Name, spread(c.Stats[result.RPSFirst]), spread(c.Stats[result.RPS]),
					x(c.Stats[result.Sustain].Median), num(c.Stats[result.P99First].Median), num(c.Stats[result.P99Worst].Median),
					spread(c.Stats[result.CPUPerReq]), strings.Join(series, " "), num(c.Stats[result.Errors].Median+c.Stats[result.Non2xx].Median))
			}
		case "openloop":
			p("| server | answered req/s | p50 (µs) | p90 (µs) | p99 (µs) | p99.9 (µs) | CPU µs/req | × %s CPU | errors | late sends |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", orDash(base))
			for _, s := range servers {
				c := run.Cell(s.Name, w.Name)
				if c == nil {
					continue
				}
				st := c.Stats
				p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Name, num(st[result.RPS].Median), spread(st[result.P50]), spread(st[result.P90]),
					spread(st[result.P99]), spread(st[result.P999]), spread(st[result.CPUPerReq]), x(ratio(run, s.Name, base, w.Name, result.CPUPerReq)),
					num(st[result.Errors].Median+st[result.Non2xx].Median), num(st[result.Late].Median))
			}
		default:
			p("| server | req/s | × %[1]s req/s | CPU µs/req | × %[1]s CPU | p50 (µs) | p99 (µs) | MB/s | peak RSS (MiB) | load CPU | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", orDash(base))
			for _, s := range servers {
				c := run.Cell(s.Name, w.Name)
				if c == nil {
					continue
				}
				st := c.Stats
				errs := "0"
				if e := st[result.Errors].Max + st[result.Non2xx].Max; e > 0 {
					errs = fmt.Sprintf("%s sock / %s non-2xx (max)", num(st[result.Errors].Max), num(st[result.Non2xx].Max))
				}
				if len(st) == 0 {
					errs = "failed: " + firstErr(c)
				}
				p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Name, spread(st[result.RPS]), x(ratio(run, s.Name, base, w.Name, result.RPS)),
					spread(st[result.CPUPerReq]), x(ratio(run, s.Name, base, w.Name, result.CPUPerReq)), num(st[result.P50].Median), num(st[result.P99].Median),
					num(st[result.MBps].Median), num(st[result.PeakRSS].Max/1024), pct(st[result.ClientUtil]), errs)
			}
		}
		p("\n")
	}

	if len(run.Parser) > 0 {
		p("## Parser: the same request through three HTTP/1.1 parsers\n\n")
		if run.ParserInput != "" {
			p("Input: %s\n\n", run.ParserInput)
		}
		var ref float64
		for _, bb := range run.Parser {
			if strings.Contains(strings.ToLower(bb.Name), "httpcore") {
				ref = bb.NsOp
			}
		}
		p("| parser | ns/op | B/op | allocs/op | ns/op ÷ httpcore |\n|---|---:|---:|---:|---:|\n")
		for _, bb := range run.Parser {
			r := math.NaN()
			if ref > 0 {
				r = bb.NsOp / ref
			}
			p("| %s | %s | %.0f | %.0f | %s |\n", bb.Name, num(bb.NsOp), bb.BOp, bb.AllocsOp, x(r))
		}
		p("\n")
	}

	p("## Servers\n\n| server | port | command |\n|---|---:|---|\n")
	for _, s := range run.Servers {
		cmd := s.Command
		if s.Skipped != "" {
			cmd = "(skipped)"
		}
		p("| %s | %d | `%s` |\n", s.Name, s.Port, cmd)
	}
	p("\nThe floor servers (floor-*) answer every request with one constant in-memory response; they take part only in the small-file keep-alive, pipelined and Connection: close workloads.\n")
	return b.String()
}

func firstErr(c *result.Cell) string {
	for _, r := range c.Rounds {
		if r.Error != "" {
			if len(r.Error) > 120 {
				return r.Error[:120] + "..."
			}
			return r.Error
		}
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func keyTable(b *strings.Builder, run *result.Run, servers []result.Server, ws []result.Workload, metric, base string) {
	fmt.Fprintf(b, "| server |")
	for _, w := range ws {
		fmt.Fprintf(b, " %s |", w.Name)
	}
	fmt.Fprintf(b, "\n|---|")
	for range ws {
		fmt.Fprintf(b, "---:|")
	}
	fmt.Fprintf(b, "\n")
	for _, s := range servers {
		fmt.Fprintf(b, "| %s |", s.Name)
		for _, w := range ws {
			st, ok := stat(run, s.Name, w.Name, metric)
			if !ok {
				fmt.Fprintf(b, " |")
				continue
			}
			cell := num(st.Median)
			if base != "" && s.Name != baseFor(run, base, w.Name) {
				if r := ratio(run, s.Name, base, w.Name, metric); !math.IsNaN(r) {
					cell += " (" + x(r) + ")"
				}
			}
			fmt.Fprintf(b, " %s |", cell)
		}
		fmt.Fprintf(b, "\n")
	}
}

// targets checks the server issue's goals when ringhttpd ran.
func targets(run *result.Run) string {
	const u, ep = "ringhttpd-uring", "ringhttpd-epoll"
	_, ka := stat(run, u, "ka50", result.CPUPerReq)
	_, js := stat(run, u, "js100k", result.CPUPerReq)
	if !ka && !js {
		return ""
	}
	cpu := func(s, w string) float64 {
		st, ok := stat(run, s, w, result.CPUPerReq)
		if !ok {
			return math.NaN()
		}
		return st.Median
	}
	rps := func(s, w string) float64 {
		st, ok := stat(run, s, w, result.RPS)
		if !ok {
			return math.NaN()
		}
		return st.Median
	}
	var b strings.Builder
	b.WriteString("| target | measured | limit | met |\n|---|---:|---:|---|\n")
	row := func(name string, v, limit float64, le bool) {
		met := "–"
		if !math.IsNaN(v) && !math.IsNaN(limit) {
			if (le && v <= limit) || (!le && v >= limit) {
				met = "yes"
			} else {
				met = "**no**"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, x(v), x(limit), met)
	}
	better := math.NaN()
	if n, h := cpu("nginx", "ka50"), cpu("h2o", "ka50"); !math.IsNaN(n) || !math.IsNaN(h) {
		better = math.Min(nanInf(n), nanInf(h))
	}
	row("uring CPU/req on keep-alive ÷ the better of nginx and h2o", cpu(u, "ka50")/better, 0.75, true)
	row("uring CPU/req on keep-alive ÷ floor-uring", cpu(u, "ka50")/cpu("floor-uring", "ka50"), 1.15, true)
	row("uring CPU/req pipelined ÷ h2o", cpu(u, "pipe16")/cpu("h2o", "pipe16"), 0.4, true)
	row("uring CPU/req Connection: close ÷ h2o", cpu(u, "close")/cpu("h2o", "close"), 0.75, true)
	row("uring req/s 1 MiB ÷ nginx", rps(u, "f1m")/rps("nginx", "f1m"), 1, false)
	for _, w := range []string{"ka50", "pipe16", "close", "f1m"} {
		row("epoll CPU/req "+w+" ÷ nginx", cpu(ep, w)/cpu("nginx", w), 1, true)
	}
	// Compression done once (ringhttpd) against gzip on every request.
	row("uring CPU/req 100 KiB JS, gzip/br accepted ÷ nginx gzip 6", cpu(u, "js100k")/cpu("nginx", "js100k"), 0.1, true)
	row("epoll CPU/req 100 KiB JS, gzip/br accepted ÷ nginx gzip 6", cpu(ep, "js100k")/cpu("nginx", "js100k"), 0.1, true)
	b.WriteString(clientBound(run, "f1m", "nginx"))
	return b.String()
}

// libTargets checks the library issue's goal when ringhttpd-lib ran the
// dynamic workloads: CPU per request at most half of fasthttp's.
func libTargets(run *result.Run) string {
	var b strings.Builder
	for _, w := range []string{"dyn-ka50", "dyn-pipe16", "json-ka50", "json-pipe16"} {
		lib, ok1 := stat(run, libServer, w, result.CPUPerReq)
		fast, ok2 := stat(run, "fasthttp", w, result.CPUPerReq)
		if !ok1 || !ok2 || fast.Median == 0 {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("| target | measured | limit | met |\n|---|---:|---:|---|\n")
		}
		v := lib.Median / fast.Median
		met := "yes"
		if v > 0.5 {
			met = "**no**"
		}
		fmt.Fprintf(&b, "| lib CPU/req %s ÷ fasthttp | %s | %s | %s |\n", w, x(v), x(0.5), met)
		// The floor (a constant answer, no parsing) shows what any server
		// could reach on this kernel with one request per read.
		if fl, ok := stat(run, "floor-uring-13", w, result.CPUPerReq); ok && strings.HasSuffix(w, "-ka50") {
			fmt.Fprintf(&b, "| (floor-uring-13 CPU/req %s ÷ fasthttp: a C io_uring server with a constant answer, no parsing) | %s | – | – |\n", w, x(fl.Median/fast.Median))
		}
	}
	return b.String()
}

// tlsTargets checks the HTTPS and HTTP/2 issues' goals, for both engines,
// when any of their workloads ran.
func tlsTargets(run *result.Run) string {
	found := false
	for _, w := range []string{"tls-ka50", "tls-f1m", "tls-hs", "h2-ka", "h2c-ka", "h2-f1m", "h2c-f1m"} {
		for _, s := range []string{"ringhttpd-uring", "ringhttpd-epoll"} {
			if _, ok := stat(run, s, w, result.CPUPerReq); ok {
				found = true
			}
		}
	}
	if !found {
		return ""
	}
	med := func(s, w, metric string) float64 {
		st, ok := stat(run, s, w, metric)
		if !ok {
			return math.NaN()
		}
		return st.Median
	}
	var b, notes strings.Builder
	b.WriteString("| target | ringhttpd-uring | ringhttpd-epoll | limit |\n|---|---:|---:|---:|\n")
	row := func(name, w, peer, metric string, limit float64, le bool) {
		if metric == result.RPS {
			notes.WriteString(clientBound(run, w, peer))
		}
		fmt.Fprintf(&b, "| %s |", name)
		for _, s := range []string{"ringhttpd-uring", "ringhttpd-epoll"} {
			v := med(s, w, metric) / med(peer, w, metric)
			cell := x(v)
			if !math.IsNaN(v) {
				if (le && v <= limit) || (!le && v >= limit) {
					cell += " yes"
				} else {
					cell += " **no**"
				}
			}
			fmt.Fprintf(&b, " %s |", cell)
		}
		op := "≥"
		if le {
			op = "≤"
		}
		fmt.Fprintf(&b, " %s %s |\n", op, x(limit))
	}
	row("HTTPS keep-alive CPU/req ÷ nginx (`tls-ka50`)", "tls-ka50", "nginx", result.CPUPerReq, 0.8, true)
	row("HTTPS 1 MiB req/s ÷ nginx (`tls-f1m`)", "tls-f1m", "nginx", result.RPS, 1, false)
	row("handshake CPU/req ÷ nginx (`tls-hs`)", "tls-hs", "nginx", result.CPUPerReq, 1.2, true)
	row("h2 small file CPU/req ÷ h2o (`h2-ka`)", "h2-ka", "h2o", result.CPUPerReq, 0.7, true)
	row("h2c small file CPU/req ÷ h2o (`h2c-ka`)", "h2c-ka", "h2o", result.CPUPerReq, 0.7, true)
	row("h2 1 MiB req/s ÷ h2o (`h2-f1m`)", "h2-f1m", "h2o", result.RPS, 1, false)
	row("h2c 1 MiB req/s ÷ h2o (`h2c-f1m`)", "h2c-f1m", "h2o", result.RPS, 1, false)
	// The capped variants (newer runs only): the server, not h2load, sets
	// the pace.
	for _, w := range []struct{ name, title string }{{"h2-f1m-cap", "h2"}, {"h2c-f1m-cap", "h2c"}} {
		if q := quota(run, w.name); q > 0 {
			row(fmt.Sprintf("%s 1 MiB req/s ÷ h2o, each server held to %d%% of a CPU (`%s`)", w.title, q, w.name), w.name, "h2o", result.RPS, 1, false)
		}
	}
	b.WriteString(notes.String())
	return b.String()
}

// clientBound returns, for a req/s target on workload w whose load generator
// was saturated against ringhttpd and peer alike, a note that the req/s ratio
// there is the client's ceiling and not a comparison of the servers, with
// their CPU per request instead; "" otherwise.
func clientBound(run *result.Run, w, peer string) string {
	const u = "ringhttpd-uring"
	cu, ok1 := stat(run, u, w, result.ClientUtil)
	cp, ok2 := stat(run, peer, w, result.ClientUtil)
	if !ok1 || !ok2 || cu.Median < saturated || cp.Median < saturated {
		return ""
	}
	capNote := ""
	if q := quota(run, w+"-cap"); q > 0 {
		capNote = fmt.Sprintf(" `%s-cap` holds each server to %d%% of a CPU, so that the server sets the pace and req/s compares the servers again.", w, q)
	}
	return fmt.Sprintf("\n`%s`: the load generator was saturated (its CPU at %s against %s, %s against %s), so req/s there is the client's ceiling for both servers, not a comparison of them; CPU per request compares them: %s µs against %s µs, %s.%s\n",
		w, pct(cu), u, pct(cp), peer, spread(run.Cell(u, w).Stats[result.CPUPerReq]), spread(run.Cell(peer, w).Stats[result.CPUPerReq]),
		x(ratio(run, u, peer, w, result.CPUPerReq)), capNote)
}

// quota returns the CPU share (percent of one CPU) workload w held each
// server to, 0 when it did not run or held none.
func quota(run *result.Run, w string) int {
	for _, wl := range run.Workloads {
		if wl.Name == w {
			return wl.CPUQuota
		}
	}
	return 0
}

func nanInf(v float64) float64 {
	if math.IsNaN(v) {
		return math.Inf(1)
	}
	return v
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
