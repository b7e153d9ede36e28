package h2

import "testing"

func TestSmokeGet(t *testing.T) {
	var c Conn
	h := okHost(&c, "hello")
	c.Init(&Config{}, h)
	cl := newClient().preface()
	cl.get(1, "/index.html?x=1", "accept-encoding", "gzip")
	if err := feedSplit(&c, cl.take()); err != nil {
		t.Fatal(err)
	}
	var out memSink
	c.Flush(&out, 1<<20)
	fs := newReader().frames(t, out.drain())
	for _, f := range fs {
		t.Log(f)
	}
	t.Logf("%+v", h.reqs)
}
