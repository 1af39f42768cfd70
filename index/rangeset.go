package index

import "github.com/google/btree"

// Range is the half-open interval [Lo, Hi) of a RangeSet.
type Range struct{ Lo, Hi uint64 }

// rangeLess orders the disjoint intervals of a RangeSet by their first member.
func rangeLess(a, b Range) bool { return a.Lo < b.Lo }

// rangeFree is the node free list shared by all RangeSet trees.
var rangeFree = btree.NewFreeListG[Range](freeListSize)

// RangeSet is a set of uint64 stored as disjoint, non-adjacent half-open intervals: the
// sequence numbers deleted out of order above a queue's head. Consumption is mostly in
// order, so it stays small: a run of consecutive deletions is a single interval.
//
// Members are less than math.MaxUint64 (which no interval [Lo, Hi) can contain); adding
// math.MaxUint64 panics. Operations cost O(log n) in the number n of intervals, plus the
// intervals they remove or visit.
//
// The zero value is an empty set ready to use; it allocates nothing until the first Add.
// A RangeSet is not safe for concurrent use.
type RangeSet struct {
	t     *btree.BTreeG[Range]
	count uint64 // members
}

func (s *RangeSet) tree() *btree.BTreeG[Range] {
	if s.t == nil {
		s.t = btree.NewWithFreeListG(degree, rangeLess, rangeFree)
	}
	return s.t
}

// floor returns the interval with the greatest Lo <= x.
func (s *RangeSet) floor(x uint64) (r Range, ok bool) {
	if s.t == nil {
		return Range{}, false
	}
	s.t.DescendLessOrEqual(Range{Lo: x}, func(e Range) bool {
		r, ok = e, true
		return false
	})
	return r, ok
}

// ceil returns the interval with the least Lo >= x.
func (s *RangeSet) ceil(x uint64) (r Range, ok bool) {
	if s.t == nil {
		return Range{}, false
	}
	s.t.AscendGreaterOrEqual(Range{Lo: x}, func(e Range) bool {
		r, ok = e, true
		return false
	})
	return r, ok
}

// Add inserts seq, merging it with adjacent intervals, and reports whether it was absent.
func (s *RangeSet) Add(seq uint64) bool {
	if seq == ^uint64(0) {
		panic("index: RangeSet cannot hold math.MaxUint64")
	}
	p, left := s.floor(seq)
	if left && p.Hi > seq {
		return false
	}
	left = left && p.Hi == seq
	n, right := s.ceil(seq + 1)
	right = right && n.Lo == seq+1
	t := s.tree()
	switch {
	case left && right: // bridge p and n
		t.Delete(n)
		t.ReplaceOrInsert(Range{p.Lo, n.Hi})
	case left: // extend p
		t.ReplaceOrInsert(Range{p.Lo, seq + 1})
	case right: // extend n downwards; its key changes
		t.Delete(n)
		t.ReplaceOrInsert(Range{seq, n.Hi})
	default:
		t.ReplaceOrInsert(Range{seq, seq + 1})
	}
	s.count++
	return true
}

// AddRange inserts every member of [lo, hi), merging overlapping and adjacent intervals.
// It is a no-op if lo >= hi.
func (s *RangeSet) AddRange(lo, hi uint64) {
	if lo >= hi {
		return
	}
	t := s.tree()
	if p, ok := s.floor(lo); ok && p.Hi >= lo {
		t.Delete(p)
		s.count -= p.Hi - p.Lo
		lo, hi = p.Lo, max(hi, p.Hi)
	}
	for {
		n, ok := s.ceil(lo)
		if !ok || n.Lo > hi {
			break
		}
		t.Delete(n)
		s.count -= n.Hi - n.Lo
		hi = max(hi, n.Hi)
	}
	t.ReplaceOrInsert(Range{lo, hi})
	s.count += hi - lo
}

// Remove deletes seq, splitting its interval if needed, and reports whether it was
// present.
func (s *RangeSet) Remove(seq uint64) bool {
	p, ok := s.floor(seq)
	if !ok || p.Hi <= seq {
		return false
	}
	t := s.t
	switch {
	case p.Lo == seq && p.Hi == seq+1:
		t.Delete(p)
	case p.Lo == seq: // key changes
		t.Delete(p)
		t.ReplaceOrInsert(Range{seq + 1, p.Hi})
	case p.Hi == seq+1:
		t.ReplaceOrInsert(Range{p.Lo, seq})
	default: // split
		t.ReplaceOrInsert(Range{p.Lo, seq})
		t.ReplaceOrInsert(Range{seq + 1, p.Hi})
	}
	s.count--
	release(t)
	return true
}

// Contains reports whether seq is in the set.
func (s *RangeSet) Contains(seq uint64) bool {
	p, ok := s.floor(seq)
	return ok && p.Hi > seq
}

// NextAbsent returns the smallest x >= seq that is not in the set.
func (s *RangeSet) NextAbsent(seq uint64) uint64 {
	if p, ok := s.floor(seq); ok && p.Hi > seq {
		return p.Hi // intervals are never adjacent, so p.Hi is absent
	}
	return seq
}

// Count returns the number of members, in O(1).
func (s *RangeSet) Count() uint64 { return s.count }

// Len returns the number of intervals.
func (s *RangeSet) Len() int {
	if s.t == nil {
		return 0
	}
	return s.t.Len()
}

// DeleteBelow removes every member < seq, cutting an interval that straddles seq, and
// returns how many members it removed.
func (s *RangeSet) DeleteBelow(seq uint64) uint64 {
	if s.t == nil {
		return 0
	}
	var n uint64
	for {
		m, ok := s.t.Min()
		if !ok || m.Lo >= seq {
			break
		}
		s.t.DeleteMin()
		if m.Hi > seq {
			n += seq - m.Lo
			s.t.ReplaceOrInsert(Range{seq, m.Hi})
			break
		}
		n += m.Hi - m.Lo
	}
	s.count -= n
	release(s.t)
	return n
}

// DeleteFrom removes every member >= seq, cutting an interval that straddles seq, and
// returns how many members it removed.
func (s *RangeSet) DeleteFrom(seq uint64) uint64 {
	if s.t == nil {
		return 0
	}
	var n uint64
	for {
		m, ok := s.t.Max()
		if !ok || m.Hi <= seq {
			break
		}
		if m.Lo < seq {
			n += m.Hi - seq
			s.t.ReplaceOrInsert(Range{m.Lo, seq})
			break
		}
		s.t.DeleteMax()
		n += m.Hi - m.Lo
	}
	s.count -= n
	release(s.t)
	return n
}

// CountRange returns the number of members in [lo, hi), in O(log n + k) for the k
// intervals that overlap it.
func (s *RangeSet) CountRange(lo, hi uint64) uint64 {
	if s.t == nil || lo >= hi {
		return 0
	}
	var n uint64
	if p, ok := s.floor(lo); ok && p.Lo < lo && p.Hi > lo {
		n += min(p.Hi, hi) - lo
	}
	s.t.AscendGreaterOrEqual(Range{Lo: lo}, func(r Range) bool {
		if r.Lo >= hi {
			return false
		}
		n += min(r.Hi, hi) - r.Lo
		return true
	})
	return n
}

// Ascend calls fn for each interval in increasing order until fn returns false. fn must
// not modify s.
func (s *RangeSet) Ascend(fn func(Range) bool) {
	if s.t == nil {
		return
	}
	s.t.Ascend(fn)
}

// Min returns the lowest interval, or false if the set is empty.
func (s *RangeSet) Min() (Range, bool) {
	if s.t == nil {
		return Range{}, false
	}
	return s.t.Min()
}

// Clone returns a copy of s in O(1); the two share nodes copy-on-write.
func (s *RangeSet) Clone() *RangeSet {
	if s.t == nil {
		return &RangeSet{}
	}
	return &RangeSet{t: s.t.Clone(), count: s.count}
}
