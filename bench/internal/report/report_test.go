package report

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/ringhttpd/ringhttpd/bench/internal/result"
)

func testRun(withBase bool) *result.Run {
	run := &result.Run{Mode: "full", Rounds: 3, Baseline: "ringhttpd-uring", Host: "h", Env: map[string]string{"kernel": "6.1"},
		Servers: []result.Server{
			{Name: "ringhttpd-uring", Port: 1, Class: "files"},
			{Name: "nginx", Port: 2, Class: "files"},
			{Name: "h2o", Port: 3, Class: "files", Skipped: "not installed"},
		},
		Workloads: []result.Workload{{Name: "ka50", Title: "keep-alive <50>"}, {Name: "sustained", Title: "sustained"}},
	}
	if !withBase {
		run.Servers[0].Skipped = "go build failed"
	}
	add := func(server, w string, rounds ...map[string]float64) {
		c := result.Cell{Server: server, Workload: w}
		for i, m := range rounds {
			c.Rounds = append(c.Rounds, result.Round{Round: i + 1, Metrics: m, Series: []result.Point{{Start: 0, RPS: m[result.RPS], P99: 100}, {Start: 5, RPS: m[result.RPS], P99: 120}}})
		}
		c.Aggregate()
		run.Cells = append(run.Cells, c)
	}
	if withBase {
		add("ringhttpd-uring", "ka50", map[string]float64{result.RPS: 100, result.CPUPerReq: 10}, map[string]float64{result.RPS: 120, result.CPUPerReq: 12}, map[string]float64{result.RPS: 110, result.CPUPerReq: 11})
		add("ringhttpd-uring", "sustained", map[string]float64{result.RPS: 100, result.CPUPerReq: 10})
	}
	add("nginx", "ka50", map[string]float64{result.RPS: 55, result.CPUPerReq: 22}, map[string]float64{result.RPS: 50, result.CPUPerReq: 20}, map[string]float64{result.RPS: 60, result.CPUPerReq: 24})
	add("nginx", "sustained", map[string]float64{result.RPS: 50, result.CPUPerReq: 20})
	return run
}

func TestMarkdownRatios(t *testing.T) {
	tests := []struct {
		name     string
		withBase bool
		want     []string
	}{
		{"baseline ran", true, []string{
			"peer ÷ ringhttpd-uring",
			"| nginx | 55.0 (50.0–60.0) | 0.50x | 22.0 (20.0–24.0) | 2.00x |", // 55/110 req/s, 22/11 CPU
			"- h2o: not installed",
		}},
		{"fallback to nginx", false, []string{
			"peer ÷ nginx",
			"- ringhttpd-uring: go build failed",
			"| nginx | 55.0 (50.0–60.0) | 1.00x |",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			md := Markdown(testRun(tc.withBase))
			for _, w := range tc.want {
				if !strings.Contains(md, w) {
					t.Errorf("markdown lacks %q:\n%s", w, md)
				}
			}
		})
	}
}

// TestSVGWellFormed parses the chart as XML: escaping and nesting hold, and
// every server that ran appears.
func TestSVGWellFormed(t *testing.T) {
	for _, withBase := range []bool{true, false} {
		svg := SVG(testRun(withBase))
		d := xml.NewDecoder(strings.NewReader(svg))
		texts := ""
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("chart.svg is not well-formed: %v", err)
			}
			if cd, ok := tok.(xml.CharData); ok {
				texts += string(cd) + "\n"
			}
		}
		if !strings.Contains(texts, "nginx") || !strings.Contains(texts, "keep-alive <50>") {
			t.Errorf("chart text lacks the server or the workload title:\n%s", texts)
		}
		if strings.Contains(texts, "h2o") {
			t.Errorf("chart shows a skipped server")
		}
	}
}

// TestDynamicWorkloads: the dynamic handler's workloads, which the command
// (the run's baseline) does not serve, compare with ringhttpd-lib, and the
// library issue's target is checked against fasthttp.
func TestDynamicWorkloads(t *testing.T) {
	run := testRun(true)
	run.Servers = append(run.Servers, result.Server{Name: "ringhttpd-lib", Port: 10, Class: "dynamic"}, result.Server{Name: "fasthttp", Port: 6, Class: "files"}, result.Server{Name: "floor-uring-13", Port: 12, Class: "dynamic"})
	run.Workloads = append(run.Workloads, result.Workload{Name: "dyn-ka50", Title: "dyn"}, result.Workload{Name: "json-pipe16", Title: "json"})
	add := func(server, w string, cpu float64) {
		c := result.Cell{Server: server, Workload: w, Rounds: []result.Round{{Round: 1, Metrics: map[string]float64{result.RPS: 100, result.CPUPerReq: cpu}}}}
		c.Aggregate()
		run.Cells = append(run.Cells, c)
	}
	add("ringhttpd-lib", "dyn-ka50", 4)
	add("fasthttp", "dyn-ka50", 10)
	add("floor-uring-13", "dyn-ka50", 3)
	add("ringhttpd-lib", "json-pipe16", 3)
	add("fasthttp", "json-pipe16", 5)
	md := Markdown(run)
	for _, w := range []string{
		"| fasthttp | 100 | 1.00x | 10.0 | 2.50x |", // dyn-ka50: 10 / ringhttpd-lib's 4
		"× ringhttpd-lib CPU",
		"| lib CPU/req dyn-ka50 ÷ fasthttp | 0.40x | 0.50x | yes |",
		"| lib CPU/req json-pipe16 ÷ fasthttp | 0.60x | 0.50x | **no** |",
		"| (floor-uring-13 CPU/req dyn-ka50 ÷ fasthttp: a C io_uring server with a constant answer, no parsing) | 0.30x | – | – |",
		"| nginx | 55.0 (50.0–60.0) | 0.50x | 22.0 (20.0–24.0) | 2.00x |", // ka50 still against ringhttpd-uring
	} {
		if !strings.Contains(md, w) {
			t.Errorf("markdown lacks %q:\n%s", w, md)
		}
	}
	if svg := SVG(run); !strings.Contains(svg, "(2.50x)") {
		t.Errorf("chart lacks fasthttp's dyn-ka50 ratio")
	}
}

// oneRound returns a function that adds to run a cell of one round with
// metrics m.
func oneRound(run *result.Run) func(server, w string, m map[string]float64) {
	return func(server, w string, m map[string]float64) {
		c := result.Cell{Server: server, Workload: w, Rounds: []result.Round{{Round: 1, Metrics: m}}}
		c.Aggregate()
		run.Cells = append(run.Cells, c)
	}
}

func TestTLSTargets(t *testing.T) {
	run := &result.Run{Mode: "full", Rounds: 1, Baseline: "ringhttpd-uring", Env: map[string]string{},
		Servers:   []result.Server{{Name: "ringhttpd-uring"}, {Name: "ringhttpd-epoll"}, {Name: "nginx"}, {Name: "h2o"}},
		Workloads: []result.Workload{{Name: "tls-ka50"}, {Name: "h2-f1m"}}}
	add := oneRound(run)
	if tlsTargets(run) != "" {
		t.Error("targets without any TLS or h2 figure")
	}
	add("ringhttpd-uring", "tls-ka50", map[string]float64{result.CPUPerReq: 7, result.RPS: 1})
	add("ringhttpd-epoll", "tls-ka50", map[string]float64{result.CPUPerReq: 9, result.RPS: 1})
	add("nginx", "tls-ka50", map[string]float64{result.CPUPerReq: 10, result.RPS: 1})
	add("ringhttpd-uring", "h2-f1m", map[string]float64{result.CPUPerReq: 1, result.RPS: 300})
	add("h2o", "h2-f1m", map[string]float64{result.CPUPerReq: 1, result.RPS: 200})
	md := tlsTargets(run)
	for _, want := range []string{
		"| HTTPS keep-alive CPU/req ÷ nginx (`tls-ka50`) | 0.70x yes | 0.90x **no** | ≤ 0.80x |",
		"| h2 1 MiB req/s ÷ h2o (`h2-f1m`) | 1.50x yes | – | ≥ 1.00x |",
		"| handshake CPU/req ÷ nginx (`tls-hs`) | – | – | ≤ 1.20x |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("targets lack %q:\n%s", want, md)
		}
	}
	if !strings.Contains(Markdown(run), "## Targets from the HTTPS (13) and HTTP/2 (14) issues") {
		t.Error("Markdown has no TLS targets section")
	}
}

// A req/s target whose load generator ran flat out against both servers is
// flagged as the client's ceiling, with the servers' CPU per request beside
// it; one where either run left the client headroom is not.
func TestClientBound(t *testing.T) {
	run := &result.Run{Mode: "full", Rounds: 1, Baseline: "ringhttpd-uring", Env: map[string]string{},
		Servers:   []result.Server{{Name: "ringhttpd-uring"}, {Name: "h2o"}},
		Workloads: []result.Workload{{Name: "h2-f1m"}, {Name: "h2c-f1m"}}}
	add := oneRound(run)
	add("ringhttpd-uring", "h2-f1m", map[string]float64{result.CPUPerReq: 350, result.RPS: 1350, result.ClientUtil: 0.99})
	add("h2o", "h2-f1m", map[string]float64{result.CPUPerReq: 700, result.RPS: 1400, result.ClientUtil: 0.98})
	add("ringhttpd-uring", "h2c-f1m", map[string]float64{result.CPUPerReq: 230, result.RPS: 2800, result.ClientUtil: 0.99})
	add("h2o", "h2c-f1m", map[string]float64{result.CPUPerReq: 390, result.RPS: 2100, result.ClientUtil: 0.80})
	md := tlsTargets(run)
	want := "`h2-f1m`: the load generator was saturated (its CPU at 99% against ringhttpd-uring, 98% against h2o)"
	if !strings.Contains(md, want) || !strings.Contains(md, "350 µs against 700 µs, 0.50x") {
		t.Errorf("targets lack the saturated note for h2-f1m:\n%s", md)
	}
	if strings.Contains(md, "`h2c-f1m`: the load generator") {
		t.Errorf("h2c-f1m flagged though h2o's run left the client headroom:\n%s", md)
	}
	if !strings.Contains(Markdown(run), "| ringhttpd-uring | 1350 | 1.00x | 350 | 1.00x | 0.00 | 0.00 | 0.00 | 0.00 | 99% | 0 |") {
		t.Errorf("workload table lacks the load CPU column:\n%s", Markdown(run))
	}
	// The server issue's 1 MiB target against nginx gets the same note.
	run.Servers = append(run.Servers, result.Server{Name: "nginx"})
	add("ringhttpd-uring", "ka50", map[string]float64{result.CPUPerReq: 10, result.RPS: 1000})
	add("ringhttpd-uring", "f1m", map[string]float64{result.CPUPerReq: 200, result.RPS: 3000, result.ClientUtil: 1})
	add("nginx", "f1m", map[string]float64{result.CPUPerReq: 400, result.RPS: 2900, result.ClientUtil: 0.97})
	if md := targets(run); !strings.Contains(md, "`f1m`: the load generator was saturated (its CPU at 100% against ringhttpd-uring, 97% against nginx)") {
		t.Errorf("server targets lack the saturated note for f1m:\n%s", md)
	}
}

// A capped 1 MiB workload (each server held to a CPU share) gets its own
// target row, named with its share, and the saturated note of the uncapped
// one points to it; a run without it has neither.
func TestCappedTargets(t *testing.T) {
	run := &result.Run{Mode: "full", Rounds: 1, Baseline: "ringhttpd-uring", Env: map[string]string{},
		Servers:   []result.Server{{Name: "ringhttpd-uring"}, {Name: "h2o"}},
		Workloads: []result.Workload{{Name: "h2c-f1m"}}}
	add := oneRound(run)
	add("ringhttpd-uring", "h2c-f1m", map[string]float64{result.CPUPerReq: 230, result.RPS: 2500, result.ClientUtil: 0.99})
	add("h2o", "h2c-f1m", map[string]float64{result.CPUPerReq: 350, result.RPS: 2600, result.ClientUtil: 0.99})
	md := tlsTargets(run)
	if strings.Contains(md, "h2c-f1m-cap") {
		t.Errorf("targets name a capped workload that did not run:\n%s", md)
	}
	run.Workloads = append(run.Workloads, result.Workload{Name: "h2c-f1m-cap", CPUQuota: 25})
	add("ringhttpd-uring", "h2c-f1m-cap", map[string]float64{result.CPUPerReq: 240, result.RPS: 1000, result.ClientUtil: 0.4})
	add("h2o", "h2c-f1m-cap", map[string]float64{result.CPUPerReq: 400, result.RPS: 600, result.ClientUtil: 0.25})
	md = tlsTargets(run)
	for _, want := range []string{
		"| h2c 1 MiB req/s ÷ h2o (`h2c-f1m`) | 0.96x **no** | – | ≥ 1.00x |",
		"| h2c 1 MiB req/s ÷ h2o, each server held to 25% of a CPU (`h2c-f1m-cap`) | 1.67x yes | – | ≥ 1.00x |",
		"`h2c-f1m-cap` holds each server to 25% of a CPU, so that the server sets the pace",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("targets lack %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "h2-f1m-cap") {
		t.Errorf("targets name h2-f1m-cap, which did not run:\n%s", md)
	}
}
