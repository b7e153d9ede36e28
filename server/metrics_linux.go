package server

// kernelOps counts the ring operations whose final completion has not been
// reaped: connections' receives, sends and splices, armed accepts, handler
// ops on the ring and the wake-up read. Worker thread (metrics publish).
func (l *uringLoop) kernelOps() int {
	n := 0
	for _, c := range l.w.conns {
		n += int(c.io.inflight)
	}
	for _, a := range l.listenArmed {
		if a {
			n++
		}
	}
	if l.wakeArm {
		n++
	}
	return n + len(l.ops) - len(l.freeO)
}
