package report

import (
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/ringhttpd/ringhttpd/bench/internal/result"
)

// palette gives each server a stable colour by its position in the run.
var palette = []string{"#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

const (
	panelW  = 540
	labelW  = 130
	barMaxW = 300
	rowH    = 18
	gap     = 20
)

type svgDoc struct {
	b    strings.Builder
	y    int // top of the next row of panels
	col  int
	rowY int // height of the tallest panel in the current row
}

func (d *svgDoc) text(x, y int, size int, anchor, weight, fill, s string) {
	fmt.Fprintf(&d.b, `<text x="%d" y="%d" font-size="%d" text-anchor="%s" font-weight="%s" fill="%s">%s</text>`+"\n",
		x, y, size, anchor, weight, fill, html.EscapeString(s))
}

func (d *svgDoc) heading(s, sub string) {
	d.flush()
	d.y += 14
	d.text(20, d.y+18, 18, "start", "bold", "#222", s)
	if sub != "" {
		d.text(20, d.y+36, 12, "start", "normal", "#555", sub)
		d.y += 18
	}
	d.y += 30
}

func (d *svgDoc) flush() {
	if d.col != 0 {
		d.y += d.rowY + gap
		d.col, d.rowY = 0, 0
	}
}

// place returns the origin of the next panel of height h (two per row).
func (d *svgDoc) place(h int) (int, int) {
	x := 20 + d.col*(panelW+gap)
	y := d.y
	d.rowY = max(d.rowY, h)
	d.col++
	if d.col == 2 {
		d.y += d.rowY + gap
		d.col, d.rowY = 0, 0
	}
	return x, y
}

type bar struct {
	name          string
	color         string
	med, min, max float64
	base          bool
	note          string
}

// barPanel draws one horizontal bar chart with min–max whiskers.
func (d *svgDoc) barPanel(title, unit string, bars []bar) {
	if len(bars) == 0 {
		return
	}
	h := 28 + len(bars)*rowH + 8
	x0, y0 := d.place(h)
	fmt.Fprintf(&d.b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#fafafa" stroke="#ddd"/>`+"\n", x0, y0, panelW, h)
	d.text(x0+8, y0+18, 13, "start", "bold", "#222", title)
	top := 0.0
	for _, br := range bars {
		top = math.Max(top, math.Max(br.med, br.max))
	}
	if top <= 0 {
		top = 1
	}
	for i, br := range bars {
		y := y0 + 28 + i*rowH
		weight := "normal"
		if br.base {
			weight = "bold"
		}
		d.text(x0+labelW-6, y+12, 11, "end", weight, "#222", br.name)
		w := int(br.med / top * barMaxW)
		fmt.Fprintf(&d.b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s" opacity="0.85"/>`+"\n", x0+labelW, y+2, max(w, 1), rowH-5, br.color)
		if br.max > br.min {
			a, z := x0+labelW+int(br.min/top*barMaxW), x0+labelW+int(br.max/top*barMaxW)
			cy := y + rowH/2
			fmt.Fprintf(&d.b, `<path d="M%d %dH%dM%d %dV%dM%d %dV%d" stroke="#222" stroke-width="1"/>`+"\n", a, cy, z, a, cy-4, cy+4, z, cy-4, cy+4)
		}
		label := num(br.med) + unit
		if br.note != "" {
			label += "  " + br.note
		}
		d.text(x0+labelW+max(w, int(br.max/top*barMaxW))+6, y+12, 11, "start", weight, "#333", label)
	}
}

// linePanel draws one line per server over time.
func (d *svgDoc) linePanel(title, unit string, series map[string][]result.Point, order []string, colors map[string]string, get func(result.Point) float64) {
	if len(series) == 0 {
		return
	}
	const h, pw, ph = 230, 360, 170
	x0, y0 := d.place(h)
	fmt.Fprintf(&d.b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#fafafa" stroke="#ddd"/>`+"\n", x0, y0, panelW, h)
	d.text(x0+8, y0+18, 13, "start", "bold", "#222", title)
	top, tmax := 0.0, 0.0
	for _, pts := range series {
		for _, p := range pts {
			top, tmax = math.Max(top, get(p)), math.Max(tmax, p.Start)
		}
	}
	if top <= 0 {
		top = 1
	}
	if tmax <= 0 {
		tmax = 1
	}
	px, py := x0+50, y0+32
	fmt.Fprintf(&d.b, `<path d="M%d %dV%dH%d" stroke="#999" fill="none"/>`+"\n", px, py, py+ph, px+pw)
	d.text(px-4, py+8, 10, "end", "normal", "#555", num(top)+unit)
	d.text(px-4, py+ph, 10, "end", "normal", "#555", "0")
	d.text(px+pw, py+ph+14, 10, "end", "normal", "#555", fmt.Sprintf("%g s (interval start)", tmax))
	d.text(px, py+ph+14, 10, "start", "normal", "#555", "0 s")
	ly := py
	for _, name := range order {
		pts, ok := series[name]
		if !ok || len(pts) == 0 {
			continue
		}
		var path strings.Builder
		for i, p := range pts {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&path, "%s%d %d", cmd, px+int(p.Start/tmax*pw), py+ph-int(get(p)/top*ph))
		}
		fmt.Fprintf(&d.b, `<path d="%s" stroke="%s" stroke-width="2" fill="none"/>`+"\n", path.String(), colors[name])
		fmt.Fprintf(&d.b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/>`+"\n", px+pw+14, ly, colors[name])
		d.text(px+pw+28, ly+9, 11, "start", "normal", "#222", name)
		ly += 16
	}
}

// SVG renders the chart: CPU per request and req/s per workload, memory per
// idle connection, open-loop tail latency and the sustained run over time.
func SVG(run *result.Run) string {
	d := &svgDoc{}
	base := Baseline(run)
	servers := ran(run)
	colors := map[string]string{}
	for i, s := range run.Servers {
		colors[s.Name] = palette[i%len(palette)]
	}
	bars := func(w, metric string, scale float64) []bar {
		var out []bar
		for _, s := range servers {
			st, ok := stat(run, s.Name, w, metric)
			if !ok {
				continue
			}
			wb := baseFor(run, base, w)
			br := bar{name: s.Name, color: colors[s.Name], med: st.Median * scale, min: st.Min * scale, max: st.Max * scale, base: s.Name == wb}
			if base != "" && s.Name != wb {
				if r := ratio(run, s.Name, base, w, metric); !math.IsNaN(r) {
					br.note = "(" + x(r) + ")"
				}
			}
			out = append(out, br)
		}
		return out
	}
	has := func(name string) bool {
		for _, w := range run.Workloads {
			if w.Name == name {
				return true
			}
		}
		return false
	}
	sub := fmt.Sprintf("%s, %s run, median of %d round(s), whiskers min–max", run.Host, run.Mode, run.Rounds)
	if base != "" {
		sub += "; (x) = server ÷ " + base
	}
	d.heading("Server CPU per request, µs (lower is better)", sub)
	for _, w := range run.Workloads {
		if w.Name != "idle10k" {
			d.barPanel(w.Title, " µs", bars(w.Name, result.CPUPerReq, 1))
		}
	}
	d.heading("Requests per second (higher is better)", "the load generator shares the 2 cores, so CPU/request is the sturdier figure")
	for _, w := range run.Workloads {
		if w.Name != "idle10k" {
			d.barPanel(w.Title, "", bars(w.Name, result.RPS, 1))
		}
	}
	d.heading("Memory and latency", "")
	if has("idle10k") {
		d.barPanel("RSS per idle keep-alive connection", " B", bars("idle10k", result.RSSPerConn, 1))
	}
	if has("openloop") {
		d.barPanel("Open-loop p99 latency", " µs", bars("openloop", result.P99, 1))
		d.barPanel("Open-loop p99.9 latency", " µs", bars("openloop", result.P999, 1))
	}
	if has("sustained") {
		series := map[string][]result.Point{}
		var order []string
		for _, s := range servers {
			if c := run.Cell(s.Name, "sustained"); c != nil {
				if r := c.MedianRound(result.RPS); r != nil && len(r.Series) > 0 {
					series[s.Name] = r.Series
					order = append(order, s.Name)
				}
			}
		}
		d.linePanel("Sustained load: req/s per interval", "", series, order, colors, func(p result.Point) float64 { return p.RPS })
		d.linePanel("Sustained load: p99 per interval", " µs", series, order, colors, func(p result.Point) float64 { return p.P99 })
	}
	d.flush()
	height := d.y + 10
	width := 2*panelW + gap + 40
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="Helvetica, Arial, sans-serif">`+"\n"+
		`<rect width="100%%" height="100%%" fill="white"/>`+"\n%s</svg>\n", width, height, width, height, d.b.String())
}
