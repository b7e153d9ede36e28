package result

import "testing"

func TestStatOf(t *testing.T) {
	tests := []struct {
		in   []float64
		want Stat
	}{
		{nil, Stat{}},
		{[]float64{7}, Stat{7, 7, 7, 1}},
		{[]float64{3, 1, 2}, Stat{2, 1, 3, 3}},
		{[]float64{4, 1, 3, 2}, Stat{2.5, 1, 4, 4}},
		{[]float64{5, 5, 1, 9, 5}, Stat{5, 1, 9, 5}},
	}
	for _, tc := range tests {
		if got := StatOf(tc.in); got != tc.want {
			t.Errorf("StatOf(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestAggregateSkipsFailedRounds(t *testing.T) {
	c := Cell{Rounds: []Round{
		{Round: 1, Metrics: map[string]float64{RPS: 100, CPUPerReq: 10}},
		{Round: 2, Metrics: map[string]float64{RPS: 1}, Error: "server died"},
		{Round: 3, Metrics: map[string]float64{RPS: 300, CPUPerReq: 30}},
		{Round: 4, Metrics: map[string]float64{RPS: 200, CPUPerReq: 20}},
	}}
	c.Aggregate()
	if got, want := c.Stats[RPS], (Stat{200, 100, 300, 3}); got != want {
		t.Errorf("rps = %+v, want %+v", got, want)
	}
	if got := c.MedianRound(CPUPerReq); got == nil || got.Round != 4 {
		t.Errorf("MedianRound = %+v, want round 4", got)
	}
}
