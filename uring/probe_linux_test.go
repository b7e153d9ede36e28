package uring

import (
	"strings"
	"testing"
)

func TestProbe(t *testing.T) {
	p, err := GetProbe()
	if err != nil {
		requireKernel(t, 5, 6, "IORING_REGISTER_PROBE")
		t.Fatalf("GetProbe: %v", err)
	}
	// Every op this package's tests use, with the kernel that introduced it: a kernel at
	// least that new must report it.
	tests := []struct {
		op           Op
		major, minor int
	}{
		{OpNop, 5, 1}, {OpReadFixed, 5, 1}, {OpWriteFixed, 5, 1}, {OpPollAdd, 5, 1},
		{OpSendmsg, 5, 3}, {OpTimeout, 5, 4}, {OpAccept, 5, 5}, {OpAsyncCancel, 5, 5},
		{OpLinkTimeout, 5, 5}, {OpTimeoutRemove, 5, 5}, {OpOpenat2, 5, 6}, {OpStatx, 5, 6},
		{OpClose, 5, 6}, {OpRead, 5, 6}, {OpWrite, 5, 6}, {OpSend, 5, 6}, {OpRecv, 5, 6},
		{OpFilesUpdate, 5, 6}, {OpSplice, 5, 7}, {OpShutdown, 5, 11}, {OpMsgRing, 5, 18},
		{OpSendZC, 6, 0}, {OpSendmsgZC, 6, 1},
	}
	ma, mi := kernelVersion(t)
	for _, tt := range tests {
		newEnough := ma > tt.major || ma == tt.major && mi >= tt.minor
		if newEnough && !p.Supported(tt.op) {
			t.Errorf("%s not supported on %d.%d (since %d.%d)", tt.op, ma, mi, tt.major, tt.minor)
		}
		if tt.op > p.LastOp && p.Supported(tt.op) {
			t.Errorf("%s supported beyond LastOp %s", tt.op, p.LastOp)
		}
	}
	if got := len(p.Ops()); got == 0 || got > int(p.LastOp)+1 {
		t.Errorf("%d supported ops with LastOp %d", got, p.LastOp)
	}
	var nilProbe *Probe
	if nilProbe.Supported(OpNop) {
		t.Error("nil probe supports NOP")
	}
}

func TestOpNames(t *testing.T) {
	if len(opNames) != int(opKnownEnd) {
		t.Fatalf("%d names for %d ops", len(opNames), opKnownEnd)
	}
	tests := []struct {
		op   Op
		want string
	}{
		{OpNop, "NOP"}, {OpOpenat2, "OPENAT2"}, {OpSplice, "SPLICE"}, {OpMsgRing, "MSG_RING"},
		{OpSendZC, "SEND_ZC"}, {OpSendmsgZC, "SENDMSG_ZC"}, {OpPipe, "PIPE"}, {200, "OP(200)"},
	}
	for _, tt := range tests {
		if got := tt.op.String(); got != tt.want {
			t.Errorf("Op(%d).String() = %q, want %q", tt.op, got, tt.want)
		}
	}
	if ops := KnownOps(); len(ops) != int(opKnownEnd) || strings.HasPrefix(ops[len(ops)-1].String(), "OP(") {
		t.Errorf("KnownOps = %v", ops)
	}
}
