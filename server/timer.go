package server

// The connection timers are h2o-style timeout lists: one doubly linked list
// per timeout kind. Every entry of a list was armed with the same duration,
// so appending at the tail keeps each list sorted by deadline; arming,
// re-arming and disarming are O(1), and expiry only looks at list heads.
// Deadlines are exact (milliseconds on the worker's monotonic clock); the
// loop wakes at the earliest head, and at least once a second.

// timerKind says which timeout a connection waits on.
type timerKind uint8

const (
	timerNone   timerKind = iota
	timerHeader           // a request started and is not complete yet
	timerIdle             // keep-alive: waiting for the next request
	timerSend             // output pending, waiting for the peer to take it
	timerLinger           // closing: output sent, waiting for the peer's FIN
	numTimers
)

// tlist is one timeout list. Invariant: entries are in deadline order.
type tlist struct {
	head, tail *conn
	d          int64 // duration in ms
}

// timers is a worker's set of timeout lists.
type timers struct {
	lists [numTimers]tlist
}

// arm (re)starts c's timer of kind k at now: c moves to the tail of list k.
func (t *timers) arm(c *conn, k timerKind, now int64) {
	t.disarm(c)
	if k == timerNone {
		return
	}
	l := &t.lists[k]
	c.tkind = k
	c.deadline = now + l.d
	c.tprev = l.tail
	c.tnext = nil
	if l.tail != nil {
		l.tail.tnext = c
	} else {
		l.head = c
	}
	l.tail = c
}

// disarm removes c from its list, if any.
func (t *timers) disarm(c *conn) {
	if c.tkind == timerNone {
		return
	}
	l := &t.lists[c.tkind]
	if c.tprev != nil {
		c.tprev.tnext = c.tnext
	} else {
		l.head = c.tnext
	}
	if c.tnext != nil {
		c.tnext.tprev = c.tprev
	} else {
		l.tail = c.tprev
	}
	c.tprev, c.tnext = nil, nil
	c.tkind = timerNone
}

// next returns the earliest deadline of all lists, or -1 when none is armed.
func (t *timers) next() int64 {
	min := int64(-1)
	for k := timerHeader; k < numTimers; k++ {
		if h := t.lists[k].head; h != nil && (min < 0 || h.deadline < min) {
			min = h.deadline
		}
	}
	return min
}

// expired pops one connection whose deadline is <= now, or returns nil.
// The connection is disarmed; its kind is returned.
func (t *timers) expired(now int64) (*conn, timerKind) {
	for k := timerHeader; k < numTimers; k++ {
		if h := t.lists[k].head; h != nil && h.deadline <= now {
			t.disarm(h)
			return h, k
		}
	}
	return nil, timerNone
}
