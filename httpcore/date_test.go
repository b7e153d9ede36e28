package httpcore

import (
	"math/rand"
	"net/http"
	"testing"
	"time"
)

func TestAppendHTTPDate(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	times := []time.Time{
		time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC),
		time.Date(2000, 2, 29, 23, 59, 59, 999, time.UTC),
		time.Date(2026, 11, 24, 5, 0, 0, 0, time.FixedZone("x", -7*3600)),
		time.Unix(0, 0),
	}
	for i := 0; i < 1000; i++ {
		times = append(times, time.Unix(rng.Int63n(1<<36), rng.Int63n(1e9)))
	}
	for _, tm := range times {
		got := string(AppendHTTPDate([]byte("x"), tm))
		if want := "x" + tm.UTC().Format(http.TimeFormat); got != want {
			t.Fatalf("AppendHTTPDate(%v) = %q, want %q", tm, got, want)
		}
	}
}

func TestParseHTTPDate(t *testing.T) {
	ref := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time // zero: invalid
	}{
		{"Sun, 06 Nov 1994 08:49:37 GMT", ref},
		{"Sunday, 06-Nov-94 08:49:37 GMT", ref},
		{"Sun Nov  6 08:49:37 1994", ref},
		{"Sun Nov 06 08:49:37 1994", ref},
		{"Thu, 29 Feb 2024 00:00:00 GMT", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"Wednesday, 09-Sep-26 01:02:03 GMT", time.Date(2026, 9, 9, 1, 2, 3, 0, time.UTC)},
		{"Sun, 06 Nov 1994 08:49:37 UTC", time.Time{}},
		{"Sun, 06 Nov 1994 08:49:37 gmt", time.Time{}},
		{"sun, 06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"Xyz, 06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"Sun, 06 Foo 1994 08:49:37 GMT", time.Time{}},
		{"Sun, 6 Nov 1994 08:49:37 GMT", time.Time{}},
		{"Sun,  06 Nov 1994 08:49:37 GMT", time.Time{}},
		{"Sun, 31 Nov 1994 08:49:37 GMT", time.Time{}},
		{"Thu, 29 Feb 2023 00:00:00 GMT", time.Time{}},
		{"Sun, 00 Nov 1994 08:49:37 GMT", time.Time{}},
		{"Sun, 06 Nov 1994 24:00:00 GMT", time.Time{}},
		{"Sun, 06 Nov 1994 08:60:00 GMT", time.Time{}},
		{"Sun, 06 Nov 1994 08-49-37 GMT", time.Time{}},
		{"Sun, 06 Nov 199x 08:49:37 GMT", time.Time{}},
		{"Sun, 06 Nov 1994 08:49:37 GMT ", time.Time{}},
		{"Funday, 06-Nov-94 08:49:37 GMT", time.Time{}},
		{"Sunday, 06-Nov-94 08:49:37 UTC", time.Time{}},
		{"Sun Nov  x 08:49:37 1994", time.Time{}},
		{"Sun Nov  6 08:49:37 94", time.Time{}},
		{"", time.Time{}},
		{"1994-11-06T08:49:37Z", time.Time{}},
	}
	for _, c := range cases {
		got, ok := ParseHTTPDate([]byte(c.in))
		if ok != !c.want.IsZero() || !got.Equal(c.want) {
			t.Errorf("ParseHTTPDate(%q) = %v, %v; want %v", c.in, got, ok, c.want)
		}
		// net/http agrees on everything it accepts, except the calendar
		// checks it leaves to time.Parse.
		if nt, err := http.ParseTime(c.in); err == nil && ok && !nt.Equal(got) {
			t.Errorf("ParseHTTPDate(%q) = %v, net/http says %v", c.in, got, nt)
		}
	}
	// Formatting then parsing is the identity (to the second).
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 1000; i++ {
		tm := time.Unix(rng.Int63n(1<<36), 0).UTC()
		if got, ok := ParseHTTPDate(AppendHTTPDate(nil, tm)); !ok || !got.Equal(tm) {
			t.Fatalf("round trip of %v: %v %v", tm, got, ok)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		ParseHTTPDate([]byte("Sunday, 06-Nov-94 08:49:37 GMT"))
	}); n != 0 {
		t.Fatalf("ParseHTTPDate allocates %v times", n)
	}
}

func TestDateCache(t *testing.T) {
	var d DateCache
	if line := string(d.Line()); len(line) != len("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n") {
		t.Fatalf("zero DateCache Line = %q", line)
	}
	t0 := time.Date(2026, 11, 24, 5, 0, 0, 100, time.UTC)
	d.Update(t0)
	want := "Date: Tue, 24 Nov 2026 05:00:00 GMT\r\n"
	if got := string(d.Line()); got != want {
		t.Fatalf("Line = %q, want %q", got, want)
	}
	// Within the same second Update does not reformat: a marker written into
	// the cached line survives.
	d.line[6] = '#'
	d.Update(t0.Add(900 * time.Millisecond))
	if d.Line()[6] != '#' {
		t.Fatalf("Update reformatted within the same second")
	}
	d.Update(t0.Add(time.Second))
	if got := string(d.Line()); got != "Date: Tue, 24 Nov 2026 05:00:01 GMT\r\n" {
		t.Fatalf("next second: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { d.Update(time.Now()); _ = d.Line() }); n != 0 {
		t.Fatalf("DateCache allocates %v times", n)
	}
}
