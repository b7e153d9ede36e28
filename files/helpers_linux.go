package files

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// jobQueue runs jobs on at most max helper goroutines, shared by every
// Handler: helpers start as jobs arrive and end when none is left. Used for
// the compressed forms (pack_linux.go) and the mappings (map_linux.go) that
// are made off the loops.
type jobQueue[T any] struct {
	max int
	run func(T)

	mu      sync.Mutex
	jobs    []T
	running int
	done    atomic.Int64 // jobs finished (for tests)
}

// maxHelpers bounds each queue's helpers, so that a cold cache never takes
// more than half the CPUs away from the loops.
var maxHelpers = max(1, runtime.NumCPU()/2)

// enqueue queues j and starts a helper when fewer than max run.
func (q *jobQueue[T]) enqueue(j T) {
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	if q.running < q.max {
		q.running++
		go q.helper()
	}
	q.mu.Unlock()
}

func (q *jobQueue[T]) helper() {
	var zero T
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.jobs = nil
			q.running--
			q.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs[0] = zero
		q.jobs = q.jobs[1:]
		q.mu.Unlock()
		q.run(j)
		q.done.Add(1)
	}
}
