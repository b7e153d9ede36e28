package server

// freeList is a worker's bounded stack of reusable objects: exchanges,
// input holds, TLS and HTTP/2 connection states. Worker thread only.
// Invariant: items holds at most max objects, each reset by its owner
// before put.
type freeList[T any] struct {
	items []*T
	max   int
}

// get pops an object, or returns nil when the list is empty (the caller
// makes a new one).
func (f *freeList[T]) get() *T {
	k := len(f.items)
	if k == 0 {
		return nil
	}
	x := f.items[k-1]
	f.items[k-1] = nil
	f.items = f.items[:k-1]
	return x
}

// put keeps x for reuse unless the list is full.
func (f *freeList[T]) put(x *T) {
	if len(f.items) < f.max {
		f.items = append(f.items, x)
	}
}

// trim drops every kept object (a worker gone quiet gives memory back).
func (f *freeList[T]) trim() {
	clear(f.items)
	f.items = f.items[:0:0]
}
