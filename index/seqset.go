package index

import "github.com/google/btree"

func seqLess(a, b uint64) bool { return a < b }

// seqFree is the node free list shared by all SeqSet trees.
var seqFree = btree.NewFreeListG[uint64](freeListSize)

// SeqSet is an ordered set of sequence numbers: messages ready for redelivery.
//
// The zero value is an empty set ready to use; it allocates nothing until the first Add.
// A SeqSet is not safe for concurrent use.
type SeqSet struct {
	t *btree.BTreeG[uint64]
}

// Add inserts seq and reports whether it was absent.
func (s *SeqSet) Add(seq uint64) bool {
	if s.t == nil {
		s.t = btree.NewWithFreeListG(degree, seqLess, seqFree)
	}
	_, found := s.t.ReplaceOrInsert(seq)
	return !found
}

// Remove deletes seq and reports whether it was present.
func (s *SeqSet) Remove(seq uint64) bool {
	if s.t == nil {
		return false
	}
	_, ok := s.t.Delete(seq)
	release(s.t)
	return ok
}

// Has reports whether seq is in the set.
func (s *SeqSet) Has(seq uint64) bool {
	return s.t != nil && s.t.Has(seq)
}

// Min returns the smallest member, or false if the set is empty.
func (s *SeqSet) Min() (uint64, bool) {
	if s.t == nil {
		return 0, false
	}
	return s.t.Min()
}

// Len returns the number of members.
func (s *SeqSet) Len() int {
	if s.t == nil {
		return 0
	}
	return s.t.Len()
}

// Ascend calls fn for each member in increasing order until fn returns false. fn must not
// modify s.
func (s *SeqSet) Ascend(fn func(uint64) bool) {
	if s.t == nil {
		return
	}
	s.t.Ascend(fn)
}

// AscendFrom calls fn for each member >= from in increasing order until fn returns false.
// fn must not modify s.
func (s *SeqSet) AscendFrom(from uint64, fn func(uint64) bool) {
	if s.t == nil {
		return
	}
	s.t.AscendGreaterOrEqual(from, fn)
}

// DeleteBelow removes every member < seq and returns how many it removed.
func (s *SeqSet) DeleteBelow(seq uint64) int {
	if s.t == nil {
		return 0
	}
	n := 0
	for {
		m, ok := s.t.Min()
		if !ok || m >= seq {
			break
		}
		s.t.DeleteMin()
		n++
	}
	release(s.t)
	return n
}

// DeleteFrom removes every member >= seq and returns how many it removed.
func (s *SeqSet) DeleteFrom(seq uint64) int {
	if s.t == nil {
		return 0
	}
	n := 0
	for {
		m, ok := s.t.Max()
		if !ok || m < seq {
			break
		}
		s.t.DeleteMax()
		n++
	}
	release(s.t)
	return n
}

// Clone returns a copy of s in O(1); the two share nodes copy-on-write.
func (s *SeqSet) Clone() *SeqSet {
	if s.t == nil {
		return &SeqSet{}
	}
	return &SeqSet{t: s.t.Clone()}
}
