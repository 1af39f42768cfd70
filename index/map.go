package index

import (
	"reflect"
	"sync"

	"github.com/google/btree"
)

type mapEntry[V any] struct {
	seq uint64
	v   V
}

func mapLess[V any](a, b mapEntry[V]) bool { return a.seq < b.seq }

// mapFreeLists holds one node free list per value type V, keyed by reflect.Type: Go has no
// generic package-level variables. The lookup (a reflect.TypeFor and a sync.Map load, tens
// of nanoseconds) happens once per Map, when its first entry is set.
var mapFreeLists sync.Map // reflect.Type -> *btree.FreeListG[mapEntry[V]]

func mapFreeList[V any]() *btree.FreeListG[mapEntry[V]] {
	key := reflect.TypeFor[V]()
	f, ok := mapFreeLists.Load(key)
	if !ok {
		f, _ = mapFreeLists.LoadOrStore(key, btree.NewFreeListG[mapEntry[V]](freeListSize))
	}
	return f.(*btree.FreeListG[mapEntry[V]])
}

// Map is an ordered map from sequence number to V: per-message delivery metadata.
//
// The zero value is an empty map ready to use; it allocates nothing until the first Set.
// A Map is not safe for concurrent use.
type Map[V any] struct {
	t *btree.BTreeG[mapEntry[V]]
}

// Get returns the value stored for seq, or false if there is none.
func (m *Map[V]) Get(seq uint64) (V, bool) {
	if m.t == nil {
		var zero V
		return zero, false
	}
	e, ok := m.t.Get(mapEntry[V]{seq: seq})
	return e.v, ok
}

// Set stores v for seq, replacing any previous value.
func (m *Map[V]) Set(seq uint64, v V) {
	if m.t == nil {
		m.t = btree.NewWithFreeListG(degree, mapLess[V], mapFreeList[V]())
	}
	m.t.ReplaceOrInsert(mapEntry[V]{seq: seq, v: v})
}

// Delete removes seq and returns its value, or false if it was absent.
func (m *Map[V]) Delete(seq uint64) (V, bool) {
	if m.t == nil {
		var zero V
		return zero, false
	}
	e, ok := m.t.Delete(mapEntry[V]{seq: seq})
	release(m.t)
	return e.v, ok
}

// Len returns the number of entries.
func (m *Map[V]) Len() int {
	if m.t == nil {
		return 0
	}
	return m.t.Len()
}

// Min returns the entry with the smallest sequence number, or false if m is empty.
func (m *Map[V]) Min() (uint64, V, bool) {
	if m.t == nil {
		var zero V
		return 0, zero, false
	}
	e, ok := m.t.Min()
	return e.seq, e.v, ok
}

// Ascend calls fn for each entry in increasing seq order until fn returns false. fn must
// not modify m.
func (m *Map[V]) Ascend(fn func(seq uint64, v V) bool) {
	if m.t == nil {
		return
	}
	m.t.Ascend(func(e mapEntry[V]) bool { return fn(e.seq, e.v) })
}

// AscendFrom calls fn for each entry with seq >= from in increasing order until fn
// returns false. fn must not modify m.
func (m *Map[V]) AscendFrom(from uint64, fn func(seq uint64, v V) bool) {
	if m.t == nil {
		return
	}
	m.t.AscendGreaterOrEqual(mapEntry[V]{seq: from}, func(e mapEntry[V]) bool { return fn(e.seq, e.v) })
}

// DeleteBelow removes every entry below seq, in increasing order, calling fn (if not
// nil) with each after removing it. It returns how many it removed.
func (m *Map[V]) DeleteBelow(seq uint64, fn func(seq uint64, v V)) int {
	if m.t == nil {
		return 0
	}
	n := 0
	for {
		e, ok := m.t.Min()
		if !ok || e.seq >= seq {
			break
		}
		m.t.DeleteMin()
		n++
		if fn != nil {
			fn(e.seq, e.v)
		}
	}
	release(m.t)
	return n
}

// DeleteFrom removes every entry at or above seq, in decreasing order, calling fn (if not
// nil) with each after removing it. It returns how many it removed.
func (m *Map[V]) DeleteFrom(seq uint64, fn func(seq uint64, v V)) int {
	if m.t == nil {
		return 0
	}
	n := 0
	for {
		e, ok := m.t.Max()
		if !ok || e.seq < seq {
			break
		}
		m.t.DeleteMax()
		n++
		if fn != nil {
			fn(e.seq, e.v)
		}
	}
	release(m.t)
	return n
}

// Clone returns a copy of m in O(1); the two share nodes copy-on-write. Values are copied
// as by assignment, so values that hold pointers share what they point to.
func (m *Map[V]) Clone() *Map[V] {
	if m.t == nil {
		return &Map[V]{}
	}
	return &Map[V]{t: m.t.Clone()}
}
