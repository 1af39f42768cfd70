package index

import "github.com/google/btree"

// Deadline is an entry of a Deadlines set: a sequence number due at time At.
type Deadline struct {
	At  int64
	Seq uint64
}

func deadlineLess(a, b Deadline) bool {
	return a.At < b.At || (a.At == b.At && a.Seq < b.Seq)
}

// deadlineFree is the node free list shared by all Deadlines trees.
var deadlineFree = btree.NewFreeListG[Deadline](freeListSize)

// Deadlines is a set of (At, Seq) pairs ordered by At, then Seq: in-flight messages by
// visibility deadline, delayed messages by due time, queues by next deadline.
//
// The zero value is an empty set ready to use; it allocates nothing until the first Add.
// A Deadlines is not safe for concurrent use.
type Deadlines struct {
	t *btree.BTreeG[Deadline]
}

// Add inserts the pair (at, seq). Adding a pair already present is a no-op.
func (d *Deadlines) Add(at int64, seq uint64) {
	if d.t == nil {
		d.t = btree.NewWithFreeListG(degree, deadlineLess, deadlineFree)
	}
	d.t.ReplaceOrInsert(Deadline{At: at, Seq: seq})
}

// Remove deletes the pair (at, seq) and reports whether it was present.
func (d *Deadlines) Remove(at int64, seq uint64) bool {
	if d.t == nil {
		return false
	}
	_, ok := d.t.Delete(Deadline{At: at, Seq: seq})
	release(d.t)
	return ok
}

// Min returns the earliest entry, or false if the set is empty.
func (d *Deadlines) Min() (Deadline, bool) {
	if d.t == nil {
		return Deadline{}, false
	}
	return d.t.Min()
}

// Len returns the number of entries.
func (d *Deadlines) Len() int {
	if d.t == nil {
		return 0
	}
	return d.t.Len()
}

// PopDue removes the entries with At <= now in order, calling fn with each one after it
// has been removed. If fn returns false PopDue stops, leaving the next due entry in place.
// fn may modify d; an entry it adds with At <= now is popped in its turn.
func (d *Deadlines) PopDue(now int64, fn func(Deadline) bool) {
	if d.t == nil {
		return
	}
	defer release(d.t)
	for {
		m, ok := d.t.Min()
		if !ok || m.At > now {
			return
		}
		d.t.DeleteMin()
		if !fn(m) {
			return
		}
	}
}

// CountDue returns the number of entries with At <= now, in O(log n + due) time.
func (d *Deadlines) CountDue(now int64) int {
	if d.t == nil {
		return 0
	}
	n := 0
	d.t.Ascend(func(e Deadline) bool {
		if e.At > now {
			return false
		}
		n++
		return true
	})
	return n
}

// Ascend calls fn for each entry in order until fn returns false. fn must not modify d.
func (d *Deadlines) Ascend(fn func(Deadline) bool) {
	if d.t == nil {
		return
	}
	d.t.Ascend(fn)
}

// RemoveSeqRange removes every entry whose Seq is in [lo, hi) and returns how many it
// removed. The set is ordered by At, so this scans all of it: O(n + k log n) for k
// removals. It serves rare bulk operations (purge, rewind, retention), not the hot path.
func (d *Deadlines) RemoveSeqRange(lo, hi uint64) int {
	if d.t == nil || lo >= hi {
		return 0
	}
	var doomed []Deadline
	d.t.Ascend(func(e Deadline) bool {
		if e.Seq >= lo && e.Seq < hi {
			doomed = append(doomed, e)
		}
		return true
	})
	for _, e := range doomed {
		d.t.Delete(e)
	}
	release(d.t)
	return len(doomed)
}

// Clone returns a copy of d in O(1). The two share nodes copy-on-write: each copies a node
// the first time it modifies it, so mutating either leaves the other unchanged.
func (d *Deadlines) Clone() *Deadlines {
	if d.t == nil {
		return &Deadlines{}
	}
	return &Deadlines{t: d.t.Clone()}
}
