package uring

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func tempFile(t *testing.T, content []byte) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return path, fd
}

func TestFixedReadWrite(t *testing.T) {
	tests := []struct {
		name       string
		fixedFile  bool
		offset     int64
		writeBytes string
	}{
		{"plain-fd", false, 0, "written through a registered buffer"},
		{"fixed-file", true, 0, "fixed file and fixed buffer"},
		{"offset", false, 4096, "at an offset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRing(t, 8, nil)
			requireOps(t, r, OpReadFixed, OpWriteFixed)
			_, fd := tempFile(t, nil)
			bufs := [][]byte{mapped(t, 4096), mapped(t, 4096)}
			if err := r.RegisterBuffers(bufs); err != nil {
				t.Fatal(err)
			}
			target := fd
			if tt.fixedFile {
				if err := r.RegisterFiles([]int32{-1, int32(fd)}); err != nil {
					t.Fatal(err)
				}
				target = 1
			}
			n := copy(bufs[0][100:], tt.writeBytes)
			s := mustSQE(t, r)
			s.PrepWriteFixed(target, bufs[0][100:100+n], tt.offset, 0)
			s.SetData(1)
			if tt.fixedFile {
				s.SetFlags(SQEFixedFile)
			}
			s.SetFlags(SQEIOLink) // the read starts after the write
			s = mustSQE(t, r)
			s.PrepReadFixed(target, bufs[1][:n], tt.offset, 1)
			s.SetData(2)
			if tt.fixedFile {
				s.SetFlags(SQEFixedFile)
			}
			for _, c := range reap(t, r, 2) {
				if int(c.Res) != n {
					t.Fatalf("CQE %+v, want res %d", c, n)
				}
			}
			if !bytes.Equal(bufs[1][:n], []byte(tt.writeBytes)) {
				t.Fatalf("read back %q", bufs[1][:n])
			}
			// The file has it too (checked with a plain pread).
			got := make([]byte, n)
			if _, err := unix.Pread(fd, got, tt.offset); err != nil || string(got) != tt.writeBytes {
				t.Fatalf("pread %q, %v", got, err)
			}
			if err := r.UnregisterBuffers(); err != nil {
				t.Fatal(err)
			}
			// Without registered buffers, a fixed read fails.
			s = mustSQE(t, r)
			s.PrepReadFixed(fd, bufs[1][:n], 0, 0)
			if c := reap(t, r, 1)[0]; c.Res >= 0 {
				t.Fatalf("READ_FIXED without buffers: %+v", c)
			}
		})
	}
}

func TestReadWritePlainAndVectored(t *testing.T) {
	r := newTestRing(t, 8, nil)
	requireOps(t, r, OpRead, OpWrite, OpReadv, OpWritev)
	_, fd := tempFile(t, nil)
	mem := mapped(t, 4096)
	copy(mem, "abcdefgh")
	iov := []unix.Iovec{{Base: &mem[0]}, {Base: &mem[4]}}
	iov[0].SetLen(4)
	iov[1].SetLen(4)
	s := mustSQE(t, r)
	s.PrepWritev(fd, iov, 0)
	s.SetFlags(SQEIOLink)
	s = mustSQE(t, r)
	s.PrepRead(fd, mem[100:108], 0)
	s.SetFlags(SQEIOLink)
	s = mustSQE(t, r)
	s.PrepWrite(fd, mem[4:8], 8)
	s.SetFlags(SQEIOLink)
	rv := []unix.Iovec{{Base: &mem[200]}}
	rv[0].SetLen(12)
	s = mustSQE(t, r)
	s.PrepReadv(fd, rv, 0)
	want := []int32{8, 8, 4, 12}
	for i, c := range reap(t, r, 4) {
		if c.Res != want[i] {
			t.Fatalf("CQE %d = %+v, want res %d", i, c, want[i])
		}
	}
	if string(mem[100:108]) != "abcdefgh" || string(mem[200:212]) != "abcdefghefgh" {
		t.Fatalf("read %q and %q", mem[100:108], mem[200:212])
	}
}

func TestFilesUpdate(t *testing.T) {
	r := newTestRing(t, 8, nil)
	requireOps(t, r, OpFilesUpdate, OpRead)
	_, fd := tempFile(t, []byte("via slot two"))
	if err := r.RegisterFiles([]int32{-1, -1, -1, -1}); err != nil {
		t.Fatal(err)
	}
	fds := []int32{int32(fd)} // heap, reachable until the CQE
	mem := mapped(t, 64)
	s := mustSQE(t, r)
	s.PrepFilesUpdate(fds, 2)
	s.SetData(1)
	linked := r.Features()&FeatLinkedFile != 0
	if linked {
		// Since 5.17 (FeatLinkedFile) a linked request resolves its fixed file when it
		// starts, so it sees the update made by the request before it.
		s.SetFlags(SQEIOLink)
	} else if c := reap(t, r, 1)[0]; c.Res != 1 {
		t.Fatalf("files update CQE %+v", c)
	}
	s = mustSQE(t, r)
	s.PrepRead(2, mem[:12], 0)
	s.SetFlags(SQEFixedFile)
	s.SetData(2)
	cqes := reap(t, r, map[bool]int{true: 2, false: 1}[linked])
	read := cqes[len(cqes)-1]
	if linked && cqes[0].Res != 1 || read.UserData != 2 || read.Res != 12 || string(mem[:12]) != "via slot two" {
		t.Fatalf("CQEs %+v, data %q", cqes, mem[:12])
	}
	// The registration API does the same synchronously: empty the slot again.
	if n, err := r.RegisterFilesUpdate(2, []int32{-1}); err != nil || n != 1 {
		t.Fatalf("RegisterFilesUpdate = %d, %v", n, err)
	}
	s = mustSQE(t, r)
	s.PrepRead(2, mem[:12], 0)
	s.SetFlags(SQEFixedFile)
	if c := reap(t, r, 1)[0]; c.Res != -int32(unix.EBADF) {
		t.Fatalf("read from an emptied slot: %+v", c)
	}
	if err := r.UnregisterFiles(); err != nil {
		t.Fatal(err)
	}
}
