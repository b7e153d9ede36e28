package httpcore

import "time"

const (
	dayNames   = "SunMonTueWedThuFriSat"
	monthNames = "JanFebMarAprMayJunJulAugSepOctNovDec"
)

// longDays are the day names of the RFC 850 format.
var longDays = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// AppendHTTPDate appends t in IMF-fixdate form (RFC 9110 §5.6.7), always in
// GMT: "Sun, 06 Nov 1994 08:49:37 GMT". Years outside 0..9999 are clamped.
func AppendHTTPDate(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	if year < 0 {
		year = 0
	} else if year > 9999 {
		year = 9999
	}
	wd := int(t.Weekday()) * 3
	m := (int(month) - 1) * 3
	return append(dst,
		dayNames[wd], dayNames[wd+1], dayNames[wd+2], ',', ' ',
		byte('0'+day/10), byte('0'+day%10), ' ',
		monthNames[m], monthNames[m+1], monthNames[m+2], ' ',
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), ' ',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+min/10), byte('0'+min%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), ' ', 'G', 'M', 'T')
}

// ParseHTTPDate parses an HTTP-date in any of the three forms a recipient
// must accept (RFC 9110 §5.6.7): IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT",
// RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37
// 1994". The day name must be valid but is not checked against the date. A
// two-digit year that would be more than 50 years in the future is taken in
// the previous century. It reports false for anything else and never
// allocates.
func ParseHTTPDate(b []byte) (time.Time, bool) {
	var year, month, day, hour, min, sec int
	var ok bool
	switch {
	case len(b) == 29 && b[3] == ',':
		// Sun, 06 Nov 1994 08:49:37 GMT
		if dayIndex(b[:3]) < 0 || b[4] != ' ' || b[7] != ' ' || b[11] != ' ' || b[16] != ' ' ||
			string(b[25:]) != " GMT" {
			return time.Time{}, false
		}
		day, ok = num(b[5:7])
		if !ok {
			return time.Time{}, false
		}
		month = monthIndex(b[8:11])
		year, ok = num(b[12:16])
		if !ok {
			return time.Time{}, false
		}
		hour, min, sec, ok = clock(b[17:25])
	case len(b) == 24 && b[3] == ' ':
		// Sun Nov  6 08:49:37 1994
		if dayIndex(b[:3]) < 0 || b[7] != ' ' || b[10] != ' ' || b[19] != ' ' {
			return time.Time{}, false
		}
		month = monthIndex(b[4:7])
		if b[8] == ' ' {
			if !isDigit(b[9]) {
				return time.Time{}, false
			}
			day, ok = int(b[9]-'0'), true
		} else {
			day, ok = num(b[8:10])
		}
		if !ok {
			return time.Time{}, false
		}
		year, ok = num(b[20:24])
		if !ok {
			return time.Time{}, false
		}
		hour, min, sec, ok = clock(b[11:19])
	default:
		// Sunday, 06-Nov-94 08:49:37 GMT
		c := indexByte(b, ',')
		if c < 6 || c > 9 || len(b) != c+24 {
			return time.Time{}, false
		}
		wd := -1
		for i, name := range longDays {
			if string(b[:c]) == name {
				wd = i
			}
		}
		r := b[c:]
		if wd < 0 || r[1] != ' ' || r[4] != '-' || r[8] != '-' || r[11] != ' ' || string(r[20:]) != " GMT" {
			return time.Time{}, false
		}
		day, ok = num(r[2:4])
		if !ok {
			return time.Time{}, false
		}
		month = monthIndex(r[5:8])
		var yy int
		yy, ok = num(r[9:11])
		if !ok {
			return time.Time{}, false
		}
		now := time.Now().UTC().Year()
		year = now - now%100 + yy
		if year > now+50 {
			year -= 100
		}
		hour, min, sec, ok = clock(r[12:20])
	}
	if !ok || month < 1 || day < 1 || day > daysIn(month, year) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, min, sec, 0, time.UTC), true
}

// clock parses "HH:MM:SS".
func clock(b []byte) (h, m, s int, ok bool) {
	if b[2] != ':' || b[5] != ':' {
		return 0, 0, 0, false
	}
	h, ok1 := num(b[0:2])
	m, ok2 := num(b[3:5])
	s, ok3 := num(b[6:8])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || s > 60 {
		return 0, 0, 0, false
	}
	return h, m, s, true
}

// num parses an all-digit b.
func num(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func dayIndex(b []byte) int {
	for i := 0; i < 7; i++ {
		if string(b) == dayNames[i*3:i*3+3] {
			return i
		}
	}
	return -1
}

// monthIndex returns 1..12, or 0 when b is no month name.
func monthIndex(b []byte) int {
	for i := 0; i < 12; i++ {
		if string(b) == monthNames[i*3:i*3+3] {
			return i + 1
		}
	}
	return 0
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// DateCache holds the Date field line of the current second. One per worker:
// it is not safe for concurrent use. The zero value is ready to use.
type DateCache struct {
	sec  int64
	n    int
	line [64]byte
}

// Update makes Line current for now. It only compares seconds unless the
// second has changed since the last Update.
func (d *DateCache) Update(now time.Time) {
	s := now.Unix()
	if s == d.sec && d.n != 0 {
		return
	}
	d.sec = s
	b := append(d.line[:0], "Date: "...)
	b = AppendHTTPDate(b, now)
	b = append(b, "\r\n"...)
	d.n = len(b)
}

// Line returns "Date: <IMF-fixdate>\r\n" for the second of the last Update
// (updating to the current time when there was none). The slice aliases d and
// changes on the next Update.
func (d *DateCache) Line() []byte {
	if d.n == 0 {
		d.Update(time.Now())
	}
	return d.line[:d.n]
}
