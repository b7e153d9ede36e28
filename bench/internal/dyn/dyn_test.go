package dyn

import (
	"encoding/json"
	"testing"
)

func TestAppendJSON(t *testing.T) {
	if len(Text) != 13 {
		t.Fatalf("Text is %d bytes, want 13", len(Text))
	}
	got := AppendJSON(nil)
	want, _ := json.Marshal(map[string]string{"message": Message})
	if string(got) != string(want) {
		t.Fatalf("AppendJSON = %s, want %s", got, want)
	}
	for _, s := range []string{"", "plain", "q\"b\\s", "c\x00\x1f\n\r\t", "é ✓"} {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil || back != s {
			t.Fatalf("appendString(%q) = %s: %v, %q", s, got, err, back)
		}
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = AppendJSON(buf[:0]) }); n != 0 {
		t.Fatalf("AppendJSON allocates %.0f times", n)
	}
}
