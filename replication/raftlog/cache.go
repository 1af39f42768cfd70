package raftlog

import (
	"sort"

	"go.etcd.io/raft/v3/raftpb"
)

// entryOverhead approximates the memory of a cached entry beyond its encoded size.
const entryOverhead = 96

// tailCache holds the most recent entries, contiguous and ending at the last index, so
// that raft's reads of recent entries (MsgApp to followers, committed entries to apply)
// never touch the log files. Its size is bounded by max bytes (encoded size plus
// entryOverhead per entry); max <= 0 disables it.
type tailCache struct {
	max   int
	lo    uint64 // index of ents[0]
	ents  []*raftpb.Entry
	sizes []int // encoded size of each entry
	bytes int
}

func (c *tailCache) get(i uint64) (*raftpb.Entry, int, bool) {
	if i < c.lo || i-c.lo >= uint64(len(c.ents)) {
		return nil, 0, false
	}
	k := i - c.lo
	return c.ents[k], c.sizes[k], true
}

func (c *tailCache) reset() {
	clear(c.ents)
	c.ents, c.sizes, c.bytes, c.lo = c.ents[:0], c.sizes[:0], 0, 0
}

// add appends e, the entry following the cached ones (otherwise the cache restarts at e).
func (c *tailCache) add(e *raftpb.Entry, size int) {
	if c.max <= 0 {
		return
	}
	if len(c.ents) > 0 && e.GetIndex() != c.lo+uint64(len(c.ents)) {
		c.reset()
	}
	if len(c.ents) == 0 {
		c.lo = e.GetIndex()
	}
	c.ents = append(c.ents, e)
	c.sizes = append(c.sizes, size)
	c.bytes += size + entryOverhead
	k := 0
	for c.bytes > c.max && k < len(c.ents) {
		c.bytes -= c.sizes[k] + entryOverhead
		c.ents[k] = nil
		k++
	}
	c.drop(k)
}

// drop removes the first k cached entries (already cleared by the caller or not).
func (c *tailCache) drop(k int) {
	if k == 0 {
		return
	}
	if k >= len(c.ents) {
		c.reset()
		return
	}
	clear(c.ents[:k])
	c.ents, c.sizes, c.lo = c.ents[k:], c.sizes[k:], c.lo+uint64(k)
}

// truncateFrom removes the cached entries with index >= i.
func (c *tailCache) truncateFrom(i uint64) {
	if len(c.ents) == 0 || i >= c.lo+uint64(len(c.ents)) {
		return
	}
	if i <= c.lo {
		c.reset()
		return
	}
	k := int(i - c.lo)
	for j := k; j < len(c.ents); j++ {
		c.bytes -= c.sizes[j] + entryOverhead
	}
	clear(c.ents[k:])
	c.ents, c.sizes = c.ents[:k], c.sizes[:k]
}

// dropBefore removes the cached entries with index < i.
func (c *tailCache) dropBefore(i uint64) {
	if len(c.ents) == 0 || i <= c.lo {
		return
	}
	k := min(int(min(i-c.lo, uint64(len(c.ents)))), len(c.ents))
	for j := 0; j < k; j++ {
		c.bytes -= c.sizes[j] + entryOverhead
	}
	c.drop(k)
}

// termRun says that the entries from start on (up to the next run) have term.
type termRun struct{ start, term uint64 }

// termRuns maps every index in [dummy, last] to its term with one run per term change:
// Term never reads the log files, and the whole index is a few runs long.
type termRuns []termRun

// at returns the term of i, which must be at or after the first run's start.
func (r termRuns) at(i uint64) uint64 {
	k := sort.Search(len(r), func(k int) bool { return r[k].start > i }) - 1
	return r[k].term
}

// add records the term of index i, the index after the last one recorded.
func (r *termRuns) add(i, term uint64) {
	if n := len(*r); n > 0 && (*r)[n-1].term == term {
		return
	}
	*r = append(*r, termRun{i, term})
}

// truncateFrom forgets the terms of indexes >= i (i must be after the first run's start).
func (r *termRuns) truncateFrom(i uint64) {
	k := sort.Search(len(*r), func(k int) bool { return (*r)[k].start >= i })
	*r = (*r)[:max(k, 1)]
}

// compact makes d the first index covered.
func (r *termRuns) compact(d uint64) {
	k := sort.Search(len(*r), func(k int) bool { return (*r)[k].start > d }) - 1
	nr := append(termRuns(nil), (*r)[k:]...)
	nr[0].start = d
	*r = nr
}
