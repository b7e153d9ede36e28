package uring

// Probe is the kernel's answer to IORING_REGISTER_PROBE: which opcodes this kernel
// supports. The zero value supports nothing.
type Probe struct {
	// LastOp is the highest opcode the kernel knows (not necessarily supported).
	LastOp Op
	ops    [maxProbeOps]bool
}

// Supported reports whether the kernel supports op.
func (p *Probe) Supported(op Op) bool { return p != nil && p.ops[op] }

// Ops returns the supported opcodes in increasing order.
func (p *Probe) Ops() []Op {
	var out []Op
	for i, ok := range p.ops {
		if ok {
			out = append(out, Op(i))
		}
	}
	return out
}

// KnownOps returns every opcode this package has a name for, in order: the list a report
// walks to show what the kernel has and lacks.
func KnownOps() []Op {
	out := make([]Op, 0, opKnownEnd)
	for op := Op(0); op < opKnownEnd; op++ {
		out = append(out, op)
	}
	return out
}
