package h2

import "bytes"

// This file is the encoder's block cache: the encoded field blocks of
// recent responses whose encoding did not change the dynamic table, keyed
// by status, field lines and table state (encoder.gen). A server answers
// the same few resources over and over, and their heads differ only in the
// date, which changes once a second: most blocks are then a compare and a
// copy instead of a parse, a lower-casing, table look-ups and Huffman
// coding.

// Block cache bounds: entries per encoder (per connection), and the longest
// field lines worth keeping (a static file's head is about 250 bytes).
const (
	blockCacheLen  = 4
	maxCachedLines = 1024
)

// cachedBlock is one block cache entry.
//
// Invariant: when gen equals the encoder's gen (and no size update is
// pending), encoding status and lines appends exactly block and leaves the
// table unchanged.
type cachedBlock struct {
	gen    uint64
	status int
	lines  []byte
	block  []byte
}

// cached returns the cached block for status and lines on the current
// table, nil when there is none.
func (e *encoder) cached(status int, lines []byte) []byte {
	for i := range e.cache {
		c := &e.cache[i]
		if c.gen == e.gen && c.status == status && len(c.lines) == len(lines) && bytes.Equal(c.lines, lines) && c.block != nil {
			return c.block
		}
	}
	return nil
}

// store keeps block, the encoding of status and lines that left the table
// unchanged, in a stale entry if there is one, else in the next in turn.
func (e *encoder) store(status int, lines, block []byte) {
	if len(lines) > maxCachedLines {
		return
	}
	slot := -1
	for i := range e.cache {
		if e.cache[i].gen != e.gen {
			slot = i
			break
		}
	}
	if slot < 0 {
		slot = e.next
		e.next = (e.next + 1) % blockCacheLen
	}
	c := &e.cache[slot]
	c.gen, c.status = e.gen, status
	c.lines = append(c.lines[:0], lines...)
	c.block = append(c.block[:0], block...)
}
