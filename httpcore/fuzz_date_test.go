package httpcore

import (
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// The three HTTP-date forms of RFC 9110 5.6.7, spelled out as ParseHTTPDate's
// reference: exact case, exact spacing, two-digit fields.
const (
	refDay   = `(Mon|Tue|Wed|Thu|Fri|Sat|Sun)`
	refMonth = `(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)`
	refClock = `([0-9]{2}):([0-9]{2}):([0-9]{2})`
)

var (
	refIMF     = regexp.MustCompile(`^` + refDay + `, ([0-9]{2}) ` + refMonth + ` ([0-9]{4}) ` + refClock + ` GMT$`)
	refRFC850  = regexp.MustCompile(`^(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), ([0-9]{2})-` + refMonth + `-([0-9]{2}) ` + refClock + ` GMT$`)
	refAsctime = regexp.MustCompile(`^` + refDay + ` ` + refMonth + ` ( [0-9]|[0-9]{2}) ` + refClock + ` ([0-9]{4})$`)
)

// refHTTPDate is ParseHTTPDate's reference: match one of the three forms,
// then check the ranges (hour 0-23, minute 0-59, second 0-60, a day that
// exists in that month and year). A two-digit year is put in the century
// that keeps it at most 50 years ahead of now. It also says whether s has
// a leap second (60) and whether its year had two digits.
func refHTTPDate(s string) (t time.Time, ok, leap, twoDigit bool) {
	atoi := func(s string) int {
		if s[0] == ' ' {
			s = s[1:]
		}
		n, _ := strconv.Atoi(s)
		return n
	}
	var day, mon, year, hh, mm, ss int
	var monName string
	if m := refIMF.FindStringSubmatch(s); m != nil {
		day, monName, year, hh, mm, ss = atoi(m[2]), m[3], atoi(m[4]), atoi(m[5]), atoi(m[6]), atoi(m[7])
	} else if m := refAsctime.FindStringSubmatch(s); m != nil {
		monName, day, hh, mm, ss, year = m[2], atoi(m[3]), atoi(m[4]), atoi(m[5]), atoi(m[6]), atoi(m[7])
	} else if m := refRFC850.FindStringSubmatch(s); m != nil {
		day, monName, year, hh, mm, ss = atoi(m[2]), m[3], atoi(m[4]), atoi(m[5]), atoi(m[6]), atoi(m[7])
		twoDigit = true
		now := time.Now().UTC().Year()
		year += now - now%100
		if year > now+50 {
			year -= 100
		}
	} else {
		return time.Time{}, false, false, false
	}
	for i := 0; i < 12; i++ {
		if monthNames[i*3:i*3+3] == monName {
			mon = i + 1
		}
	}
	if hh > 23 || mm > 59 || ss > 60 || day < 1 {
		return time.Time{}, false, false, false
	}
	// time.Date normalizes an impossible day into the next month.
	if time.Date(year, time.Month(mon), day, 0, 0, 0, 0, time.UTC).Day() != day {
		return time.Time{}, false, false, false
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, 0, time.UTC), true, ss == 60, twoDigit
}

// FuzzParseHTTPDate checks ParseHTTPDate, which the conditional requests
// (If-Modified-Since, If-Unmodified-Since, If-Range) depend on, against
// refHTTPDate; against net/http.ParseTime, which must accept every date it
// accepts and read the same instant (but for a leap second, which net/http
// refuses, and the century of a two-digit year, which it picks otherwise);
// and against AppendHTTPDate, whose output it must read back. On a sample of
// inputs it must allocate nothing.
func FuzzParseHTTPDate(f *testing.F) {
	for _, s := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
		"Sun Nov 06 08:49:37 1994", "Thu, 29 Feb 2024 00:00:00 GMT", "Thu, 29 Feb 2023 00:00:00 GMT",
		"Wednesday, 09-Sep-26 01:02:03 GMT", "Sun, 06 Nov 1994 08:49:37 UTC", "sun, 06 nov 1994 08:49:37 GMT",
		"Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sat, 31 Dec 2016 23:59:60 GMT",
		"Sun, 06 Nov 1994 8:49:37 GMT", "Sun Nov  x 08:49:37 1994", "Mon, 01 Jan 0000 00:00:00 GMT",
		"Fri, 31 Dec 9999 23:59:59 GMT", "Funday, 06-Nov-94 08:49:37 GMT", "",
	} {
		f.Add(s)
	}
	calls := 0
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		got, ok := ParseHTTPDate(b)
		want, wantOK, leap, twoDigit := refHTTPDate(s)
		if ok != wantOK || !got.Equal(want) || (ok && got.Location() != time.UTC) {
			t.Fatalf("ParseHTTPDate(%q) = %v, %v; reference %v, %v", s, got, ok, want, wantOK)
		}
		if !ok {
			return
		}
		if !leap {
			std, err := http.ParseTime(s)
			std = std.UTC()
			switch {
			case err != nil:
				t.Fatalf("ParseHTTPDate(%q) = %v, but net/http refuses it: %v", s, got, err)
			case twoDigit && (std.Year()%100 != got.Year()%100 || !sameButYear(std, got)),
				!twoDigit && !std.Equal(got):
				t.Fatalf("ParseHTTPDate(%q) = %v, net/http reads %v", s, got, std)
			}
		}
		if y := got.Year(); y >= 0 && y <= 9999 {
			again, ok := ParseHTTPDate(AppendHTTPDate(nil, got))
			if !ok || !again.Equal(got) {
				t.Fatalf("ParseHTTPDate(AppendHTTPDate(%v)) = %v, %v", got, again, ok)
			}
		}
		if calls++; calls%64 == 1 && testing.AllocsPerRun(1, func() { ParseHTTPDate(b) }) != 0 {
			t.Fatalf("ParseHTTPDate(%q) allocates", s)
		}
	})
}

// sameButYear reports whether a and b agree in all but the year.
func sameButYear(a, b time.Time) bool {
	return a.Month() == b.Month() && a.Day() == b.Day() && a.Hour() == b.Hour() &&
		a.Minute() == b.Minute() && a.Second() == b.Second() && a.Nanosecond() == b.Nanosecond()
}
