package site

// CacheStats sums the file cache counters of the worker's files handlers
// (one per site of its snapshot, see files' CacheStats), so the engine's
// metrics see the caches behind the site layer. Like Serve, it runs on the
// worker's own thread. The counters of a site that a reload dropped go
// with it (Prometheus reads the drop as a counter reset).
func (w *worker) CacheStats() (hits, misses, entries, bytes int64) {
	if w.mu != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
	}
	type cacheStatser interface {
		CacheStats() (hits, misses, entries, bytes int64)
	}
	for _, h := range w.fw {
		if cs, ok := h.(cacheStatser); ok {
			a, b, c, d := cs.CacheStats()
			hits, misses, entries, bytes = hits+a, misses+b, entries+c, bytes+d
		}
	}
	return hits, misses, entries, bytes
}
