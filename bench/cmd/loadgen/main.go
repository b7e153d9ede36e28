// Command loadgen is the benchmark's Go load tool for what wrk cannot do:
//
//	loadgen open   -addr A -path P -rate R -conns N -duration D
//	    fixed-rate open-loop load: requests are scheduled at R per second
//	    spread over N keep-alive connections and sent at their scheduled time
//	    whether or not earlier answers have arrived (they pipeline), and each
//	    latency is measured from the scheduled send time, so a stalled server
//	    is charged for every request it delayed (no coordinated omission).
//	loadgen closed -addr A -path P -conns N -duration D -interval I
//	    closed-loop sustained load: N clients each send, wait, repeat; reports
//	    throughput and p99 for every interval I, so a server that degrades
//	    over time shows it.
//	loadgen idle   -addr A -path P -conns N
//	    opens N keep-alive connections, makes one request on each, prints
//	    "ready K" (K connections answered) and holds them open until standard
//	    input closes or -hold passes; then closes them and exits.
//
// open and closed print one JSON object on standard output.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ringhttpd/ringhttpd/bench/internal/h1"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen open|closed|idle [flags]")
		os.Exit(2)
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "server address")
	path := fs.String("path", "/", "request path")
	rate := fs.Float64("rate", 10000, "open: requests per second, all connections together")
	conns := fs.Int("conns", 50, "connections")
	duration := fs.Duration("duration", 10*time.Second, "open, closed: how long to send")
	interval := fs.Duration("interval", 5*time.Second, "closed: reporting interval")
	hold := fs.Duration("hold", 60*time.Second, "idle: longest time to hold the connections")
	fs.Parse(os.Args[2:])
	raiseNoFile()

	req := h1.Request(*addr, *path)
	var out any
	switch mode {
	case "open":
		out = openLoop(*addr, req, *rate, *conns, *duration)
	case "closed":
		out = closedLoop(*addr, req, *conns, *duration, *interval)
	case "idle":
		idle(*addr, req, *conns, *hold)
		return
	default:
		fmt.Fprintln(os.Stderr, "loadgen: unknown mode", mode)
		os.Exit(2)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

// raiseNoFile lifts the descriptor limit to its hard maximum (thousands of
// connections need it).
func raiseNoFile() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// Percentiles are latencies in microseconds.
type Percentiles struct {
	P50  float64 `json:"p50_us"`
	P90  float64 `json:"p90_us"`
	P99  float64 `json:"p99_us"`
	P999 float64 `json:"p999_us"`
	Max  float64 `json:"max_us"`
}

func percentiles(lat []time.Duration) Percentiles {
	if len(lat) == 0 {
		return Percentiles{}
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		i := int(q * float64(len(lat)-1))
		return float64(lat[i]) / 1e3
	}
	return Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999), Max: float64(lat[len(lat)-1]) / 1e3}
}

// OpenResult is what the open-loop mode prints.
type OpenResult struct {
	Mode       string      `json:"mode"`
	TargetRate float64     `json:"target_rate"`
	Conns      int         `json:"conns"`
	Seconds    float64     `json:"seconds"`
	Requests   int64       `json:"requests"`   // answered
	Scheduled  int64       `json:"scheduled"`  // sent or due
	Errors     int64       `json:"errors"`     // socket errors and unanswered requests
	Non2xx     int64       `json:"non2xx"`     // answered with a status outside 2xx
	RPS        float64     `json:"rps"`        // answered per second of the send window
	Late       int64       `json:"late_sends"` // sends more than 1 ms after schedule (generator lag)
	Latency    Percentiles `json:"latency"`    // from the scheduled send time
}

func openLoop(addr string, req []byte, rate float64, conns int, d time.Duration) OpenResult {
	per := time.Duration(float64(time.Second) * float64(conns) / rate) // gap on one connection
	res := OpenResult{Mode: "open", TargetRate: rate, Conns: conns}
	var (
		mu        sync.Mutex
		all       []time.Duration
		wg        sync.WaitGroup
		errs      atomic.Int64
		non2xx    atomic.Int64
		scheduled atomic.Int64
		late      atomic.Int64
	)
	start := time.Now().Add(200 * time.Millisecond)
	end := start.Add(d)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				errs.Add(1)
				return
			}
			defer c.Close()
			due := make(chan time.Time, int(d/per)+2) // never blocks the writer, even after the reader quit
			var lat []time.Duration
			done := make(chan struct{})
			go func() { // reader: answers come in request order
				defer close(done)
				r := bufio.NewReaderSize(c, 64<<10)
				for t := range due {
					st, _, err := h1.ReadResponse(r)
					if err != nil {
						return // what stays unanswered counts as errors
					}
					lat = append(lat, time.Since(t))
					if st < 200 || st > 299 {
						non2xx.Add(1)
					}
				}
			}()
			offset := time.Duration(int64(per) * int64(i) / int64(conns))
			for k := int64(0); ; k++ {
				t := start.Add(offset + time.Duration(k)*per)
				if !t.Before(end) {
					break
				}
				if w := time.Until(t); w > 0 {
					time.Sleep(w)
				} else if w < -time.Millisecond {
					late.Add(1)
				}
				scheduled.Add(1)
				due <- t
				if _, err := c.Write(req); err != nil {
					break // the reader sees the failure and counts it
				}
			}
			close(due)
			c.SetReadDeadline(end.Add(5 * time.Second))
			<-done
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	res.Seconds = d.Seconds()
	res.Requests = int64(len(all))
	res.Scheduled = scheduled.Load()
	res.Errors = errs.Load() + res.Scheduled - res.Requests
	res.Non2xx = non2xx.Load()
	res.Late = late.Load()
	res.RPS = float64(res.Requests) / d.Seconds()
	res.Latency = percentiles(all)
	return res
}

// Interval is one reporting interval of the closed-loop mode.
type Interval struct {
	Start float64 `json:"start_s"`
	RPS   float64 `json:"rps"`
	P99   float64 `json:"p99_us"`
}

// ClosedResult is what the closed-loop mode prints.
type ClosedResult struct {
	Mode      string      `json:"mode"`
	Conns     int         `json:"conns"`
	Seconds   float64     `json:"seconds"`
	Requests  int64       `json:"requests"`
	Errors    int64       `json:"errors"`
	Non2xx    int64       `json:"non2xx"`
	Bytes     int64       `json:"body_bytes"` // response bodies read
	RPS       float64     `json:"rps"`
	Latency   Percentiles `json:"latency"`
	Intervals []Interval  `json:"intervals"`
}

func closedLoop(addr string, req []byte, conns int, d, every time.Duration) ClosedResult {
	n := int((d + every - 1) / every)
	var (
		mu       sync.Mutex
		buckets  = make([][]time.Duration, n)
		wg       sync.WaitGroup
		errs     atomic.Int64
		non2xx   atomic.Int64
		bytes    atomic.Int64
		startAll = time.Now()
		end      = startAll.Add(d)
	)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([][]time.Duration, n)
			defer func() {
				mu.Lock()
				for b := range local {
					buckets[b] = append(buckets[b], local[b]...)
				}
				mu.Unlock()
			}()
			var c net.Conn
			var r *bufio.Reader
			for time.Now().Before(end) {
				if c == nil {
					var err error
					c, err = net.DialTimeout("tcp", addr, 5*time.Second)
					if err != nil {
						errs.Add(1)
						time.Sleep(10 * time.Millisecond)
						continue
					}
					c.SetDeadline(end.Add(5 * time.Second))
					r = bufio.NewReaderSize(c, 64<<10)
				}
				t := time.Now()
				_, err := c.Write(req)
				var st int
				var body int64
				if err == nil {
					st, body, err = h1.ReadResponse(r)
				}
				if err != nil {
					errs.Add(1)
					c.Close()
					c = nil
					continue
				}
				now := time.Now()
				b := int(t.Sub(startAll) / every)
				if b >= n {
					b = n - 1
				}
				local[b] = append(local[b], now.Sub(t))
				bytes.Add(body)
				if st < 200 || st > 299 {
					non2xx.Add(1)
				}
			}
			if c != nil {
				c.Close()
			}
		}()
	}
	wg.Wait()
	// Answers that were in flight at the end count, so the run lasted until
	// the last of them arrived.
	elapsed := time.Since(startAll)
	res := ClosedResult{Mode: "closed", Conns: conns, Seconds: elapsed.Seconds(), Errors: errs.Load(), Non2xx: non2xx.Load(), Bytes: bytes.Load()}
	var all []time.Duration
	for b, lat := range buckets {
		span := every
		if rest := d - time.Duration(b)*every; rest < span {
			span = rest
		}
		iv := Interval{Start: (time.Duration(b) * every).Seconds(), RPS: float64(len(lat)) / span.Seconds()}
		all = append(all, lat...)
		iv.P99 = percentiles(lat).P99
		res.Intervals = append(res.Intervals, iv)
	}
	res.Requests = int64(len(all))
	res.RPS = float64(res.Requests) / elapsed.Seconds()
	res.Latency = percentiles(all)
	return res
}

func idle(addr string, req []byte, conns int, hold time.Duration) {
	var (
		mu    sync.Mutex
		open  []net.Conn
		ok    atomic.Int64
		wg    sync.WaitGroup
		slots = make(chan struct{}, 64) // dial concurrency: a burst of 10k SYNs overflows backlogs
		// The whole opening phase is bounded: a server at its connection
		// limit leaves the rest in its backlog, unanswered.
		deadline = time.Now().Add(30 * time.Second)
	)
	for i := 0; i < conns && time.Now().Before(deadline); i++ {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			c, err := net.DialTimeout("tcp", addr, min(5*time.Second, time.Until(deadline)))
			if err != nil {
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			c.SetDeadline(deadline)
			if _, err := c.Write(req); err != nil {
				return
			}
			if st, _, err := h1.ReadResponse(bufio.NewReaderSize(c, 4096)); err == nil && st/100 == 2 {
				ok.Add(1)
			}
			c.SetDeadline(time.Time{})
		}()
	}
	wg.Wait()
	fmt.Printf("ready %d\n", ok.Load())
	os.Stdout.Sync()
	gone := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(gone) }()
	select {
	case <-gone:
	case <-time.After(hold):
	}
	for _, c := range open {
		c.Close()
	}
}
