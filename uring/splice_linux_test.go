package uring

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSpliceFilePipeSocket(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		pipeSize int // 0: the default (64 KiB)
		offset   int64
	}{
		{"small", 1000, 0, 0},
		{"pipe-sized", 64 << 10, 0, 0},
		{"enlarged-pipe", 200 << 10, 256 << 10, 0},
		{"from-offset", 10000, 0, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRing(t, 8, nil)
			requireOps(t, r, OpSplice)
			content := make([]byte, tt.size)
			for i := range content {
				content[i] = byte(i*31 + i>>8)
			}
			_, file := tempFile(t, content)
			var p [2]int
			must(t, unix.Pipe2(p[:], unix.O_CLOEXEC))
			t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
			if tt.pipeSize > 0 {
				if _, err := unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, tt.pipeSize); err != nil {
					t.Fatalf("F_SETPIPE_SZ: %v", err)
				}
			}
			a, b := tcpPair(t)
			want := content[tt.offset:]
			done := make(chan []byte)
			go func() { done <- readFullNoT(b, len(want)) }()

			// file -> pipe, linked to pipe -> socket; repeat until everything went out.
			off := tt.offset
			sent := 0
			for sent < len(want) {
				n := uint32(min(len(want)-sent, max(tt.pipeSize, 64<<10)))
				s := mustSQE(t, r)
				s.PrepSplice(file, off, p[1], -1, n, 0)
				s.SetFlags(SQEIOLink)
				s.SetData(1)
				s = mustSQE(t, r)
				s.PrepSplice(p[0], -1, a, -1, n, 0)
				s.SetData(2)
				cqes := reap(t, r, 2)
				in, out := cqes[0], cqes[1]
				if in.UserData != 1 || in.Res <= 0 {
					t.Fatalf("file->pipe CQE %+v", in)
				}
				if out.UserData != 2 || out.Res <= 0 {
					t.Fatalf("pipe->socket CQE %+v", out)
				}
				// Drain what the second splice left in the pipe (a short send).
				for left := in.Res - out.Res; left > 0; {
					s := mustSQE(t, r)
					s.PrepSplice(p[0], -1, a, -1, uint32(left), 0)
					c := reap(t, r, 1)[0]
					if c.Res <= 0 {
						t.Fatalf("drain splice %+v", c)
					}
					left -= c.Res
				}
				off += int64(in.Res)
				sent += int(in.Res)
			}
			if got := <-done; !bytes.Equal(got, want) {
				t.Fatalf("peer got %d bytes, want %d (equal prefix: %v)", len(got), len(want), bytes.HasPrefix(want, got))
			}
		})
	}
}
