// Package result holds the benchmark's result model (what results.json
// contains) and the median/min/max aggregation over rounds.
package result

import (
	"slices"
	"sort"
)

// Metric names used across the harness and the report. Every figure is a
// float64; units are in the name.
const (
	RPS        = "rps"             // answered requests per second
	CPUPerReq  = "cpu_us_per_req"  // server utime+stime per answered request, microseconds
	P50        = "p50_us"          // latency percentiles, microseconds
	P90        = "p90_us"          //
	P99        = "p99_us"          //
	P999       = "p999_us"         //
	PeakRSS    = "peak_rss_kb"     // VmHWM summed over the server's processes during the run
	Errors     = "errors"          // socket errors, timeouts, unanswered requests
	Non2xx     = "non2xx"          // answers outside 2xx/3xx
	Requests   = "requests"        // answered requests
	MBps       = "mb_per_s"        // MB (1e6 bytes) of response read per second
	RSSPerConn = "rss_per_conn_b"  // idle: RSS growth per open connection, bytes
	Ready      = "ready_conns"     // idle: connections that got their answer
	RPSFirst   = "rps_first"       // sustained: throughput of the first interval
	RPSLast    = "rps_last"        // sustained: throughput of the last interval
	Sustain    = "sustain_ratio"   // sustained: whole-run throughput / first interval's
	P99First   = "p99_first_us"    // sustained: p99 of the first interval
	P99Worst   = "p99_worst_us"    // sustained: highest interval p99
	Late       = "late_sends"      // open: sends more than 1 ms behind schedule (generator lag)
	TargetRate = "target_rate"     // open: scheduled requests per second
	ClientUtil = "client_cpu_util" // the load generator's utime+stime ÷ wall time over the run (h2load: its measured phase) ÷ client CPUs; 1 = all busy
)

// Point is one interval of a run that reports over time (sustained load).
type Point struct {
	Start float64 `json:"start_s"`
	RPS   float64 `json:"rps"`
	P99   float64 `json:"p99_us"`
}

// Round is one measured run of one server on one workload.
type Round struct {
	Round   int                `json:"round"`
	Metrics map[string]float64 `json:"metrics"`
	Series  []Point            `json:"series,omitempty"`
	Error   string             `json:"error,omitempty"`
}

// Stat is the median of a metric over rounds, with its extremes.
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	N      int     `json:"n"`
}

// Cell is everything measured for one server on one workload.
type Cell struct {
	Server   string          `json:"server"`
	Workload string          `json:"workload"`
	Rounds   []Round         `json:"rounds"`
	Stats    map[string]Stat `json:"stats"`
}

// Server describes one server under test.
type Server struct {
	Name    string `json:"name"`
	Port    int    `json:"port"`
	TLSPort int    `json:"tls_port,omitempty"` // HTTPS listener (HTTP/1.1 and h2 by ALPN); 0: none
	H2CPort int    `json:"h2c_port,omitempty"` // HTTP/2 by prior knowledge on plaintext; 0: none
	Class   string `json:"class"`              // "files" (serves the document root), "const" (floor) or "dynamic" (the dyn workloads only)
	Command string `json:"command"`
	Skipped string `json:"skipped,omitempty"` // why it did not run; empty when it ran
}

// Workload describes one load pattern.
type Workload struct {
	Name     string `json:"name"`
	Title    string `json:"title"`
	Tool     string `json:"tool"`
	Detail   string `json:"detail"`
	CPUQuota int    `json:"cpu_quota,omitempty"` // >0: each server was held to this % of one CPU for the run
}

// Bench is one parser benchmark line (median of its -count runs).
type Bench struct {
	Name     string  `json:"name"`
	NsOp     float64 `json:"ns_op"`
	BOp      float64 `json:"b_op"`
	AllocsOp float64 `json:"allocs_op"`
}

// Run is the whole of results.json.
type Run struct {
	Date        string            `json:"date"`
	Host        string            `json:"host"`
	Mode        string            `json:"mode"` // "quick" or "full"
	Rounds      int               `json:"rounds"`
	Seconds     float64           `json:"duration_s"` // wall time of the measuring part
	Baseline    string            `json:"baseline"`
	Env         map[string]string `json:"env"`
	Servers     []Server          `json:"servers"`
	Workloads   []Workload        `json:"workloads"`
	Cells       []Cell            `json:"cells"`
	Parser      []Bench           `json:"parser,omitempty"`
	ParserInput string            `json:"parser_input,omitempty"`
}

// Aggregate fills c.Stats from c.Rounds: for every metric, the median, min
// and max over the rounds that have it (the median of an even count is the
// mean of the middle two).
func (c *Cell) Aggregate() {
	vals := map[string][]float64{}
	for _, r := range c.Rounds {
		if r.Error != "" {
			continue
		}
		for k, v := range r.Metrics {
			vals[k] = append(vals[k], v)
		}
	}
	c.Stats = map[string]Stat{}
	for k, v := range vals {
		c.Stats[k] = StatOf(v)
	}
}

// StatOf returns the median, min and max of v (zero Stat for an empty v).
func StatOf(v []float64) Stat {
	if len(v) == 0 {
		return Stat{}
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Stat{Median: med, Min: s[0], Max: s[n-1], N: n}
}

// Cell returns the cell for server and workload, or nil.
func (r *Run) Cell(server, workload string) *Cell {
	for i := range r.Cells {
		if r.Cells[i].Server == server && r.Cells[i].Workload == workload {
			return &r.Cells[i]
		}
	}
	return nil
}

// MedianRound returns the round whose value of metric is the median one (the
// lower middle for an even count), for series that cannot be averaged.
func (c *Cell) MedianRound(metric string) *Round {
	var ok []*Round
	for i := range c.Rounds {
		if c.Rounds[i].Error == "" {
			ok = append(ok, &c.Rounds[i])
		}
	}
	if len(ok) == 0 {
		return nil
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i].Metrics[metric] < ok[j].Metrics[metric] })
	return ok[(len(ok)-1)/2]
}
