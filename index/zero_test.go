package index

import (
	"testing"
	"unsafe"
)

// TestZeroValuesAllocateNothing proves that an empty queue's indexes cost only their
// headers: zero values answer every read, and every deletion, without allocating.
func TestZeroValuesAllocateNothing(t *testing.T) {
	var (
		d  Deadlines
		s  SeqSet
		m  Map[string]
		rs RangeSet
		x  TimeIndex
	)
	yes := func(Deadline) bool { return true }
	allocs := testing.AllocsPerRun(100, func() {
		d.Min()
		d.Len()
		d.Remove(1, 1)
		d.PopDue(10, yes)
		d.CountDue(10)
		d.Ascend(yes)
		d.RemoveSeqRange(0, 10)

		s.Has(1)
		s.Min()
		s.Len()
		s.Remove(1)
		s.Ascend(func(uint64) bool { return true })
		s.AscendFrom(1, func(uint64) bool { return true })
		s.DeleteBelow(10)
		s.DeleteFrom(0)

		m.Get(1)
		m.Delete(1)
		m.Len()
		m.Min()
		m.Ascend(func(uint64, string) bool { return true })
		m.AscendFrom(1, func(uint64, string) bool { return true })
		m.DeleteBelow(10, nil)
		m.DeleteFrom(0, nil)

		rs.Contains(1)
		rs.NextAbsent(1)
		rs.Count()
		rs.Len()
		rs.Remove(1)
		rs.DeleteBelow(10)
		rs.DeleteFrom(0)
		rs.CountRange(0, 10)
		rs.Ascend(func(Range) bool { return true })
		rs.Min()

		x.Lookup(5, 0)
		x.TrimBelow(5)
		x.Last()
		x.Len()
		x.Ascend(func(int64, uint64) bool { return true })
		x.Entries()
	})
	if allocs != 0 {
		t.Fatalf("zero values allocated %v times per run", allocs)
	}
	if d != (Deadlines{}) || s != (SeqSet{}) || m != (Map[string]{}) || rs != (RangeSet{}) || x.buf != nil {
		t.Fatal("reads or deletions on a zero value changed it")
	}
	const word = unsafe.Sizeof(uintptr(0))
	for name, size := range map[string]uintptr{
		"Deadlines": unsafe.Sizeof(d), "SeqSet": unsafe.Sizeof(s), "Map": unsafe.Sizeof(m),
		"RangeSet": unsafe.Sizeof(rs), "TimeIndex": unsafe.Sizeof(x),
	} {
		if size > 7*word {
			t.Errorf("empty %s costs %d bytes", name, size)
		}
	}
}

// TestReadsAllocateNothing checks the read paths the engine runs per request.
func TestReadsAllocateNothing(t *testing.T) {
	var (
		d  Deadlines
		s  SeqSet
		m  Map[string]
		rs RangeSet
		x  TimeIndex
	)
	for i := range uint64(5000) {
		d.Add(int64(i), i)
		s.Add(i * 2)
		m.Set(i, "v")
		rs.Add(i * 2)
		x.Add(int64(i), i)
	}
	allocs := testing.AllocsPerRun(100, func() {
		d.Min()
		d.CountDue(100)
		s.Has(77)
		s.Min()
		m.Get(77)
		m.Min()
		rs.Contains(77)
		rs.NextAbsent(78)
		rs.CountRange(100, 4000)
		x.Lookup(3000, 0)
	})
	if allocs != 0 {
		t.Fatalf("reads allocated %v times per run", allocs)
	}
}

// TestEmptiedIndexesReleaseNodes checks that an index emptied by any of its deletion
// methods gives its nodes back, keeping only the tree header (about 64 bytes) rather
// than a root node sized for a full leaf (about 1 KB).
func TestEmptiedIndexesReleaseNodes(t *testing.T) {
	const n, fill = 4000, 63
	for _, tt := range []struct {
		name string
		make func() any
	}{
		{"Deadlines.Remove", func() any {
			var d Deadlines
			for i := range fill {
				d.Add(int64(i), 0)
			}
			for i := range fill {
				d.Remove(int64(i), 0)
			}
			return &d
		}},
		{"Deadlines.PopDue", func() any {
			var d Deadlines
			for i := range fill {
				d.Add(int64(i), 0)
			}
			d.PopDue(fill, func(Deadline) bool { return true })
			return &d
		}},
		{"Deadlines.RemoveSeqRange", func() any {
			var d Deadlines
			for i := range fill {
				d.Add(0, uint64(i))
			}
			d.RemoveSeqRange(0, fill)
			return &d
		}},
		{"SeqSet.Remove", func() any {
			var s SeqSet
			for i := range uint64(fill) {
				s.Add(i)
			}
			for i := range uint64(fill) {
				s.Remove(i)
			}
			return &s
		}},
		{"SeqSet.DeleteBelow", func() any {
			var s SeqSet
			for i := range uint64(fill) {
				s.Add(i)
			}
			s.DeleteBelow(fill)
			return &s
		}},
		{"SeqSet.DeleteFrom", func() any {
			var s SeqSet
			for i := range uint64(fill) {
				s.Add(i)
			}
			s.DeleteFrom(0)
			return &s
		}},
		{"Map.Delete", func() any {
			var m Map[uint64]
			for i := range uint64(fill) {
				m.Set(i, i)
			}
			for i := range uint64(fill) {
				m.Delete(i)
			}
			return &m
		}},
		{"Map.DeleteBelow", func() any {
			var m Map[uint64]
			for i := range uint64(fill) {
				m.Set(i, i)
			}
			m.DeleteBelow(fill, nil)
			return &m
		}},
		{"Map.DeleteFrom", func() any {
			var m Map[uint64]
			for i := range uint64(fill) {
				m.Set(i, i)
			}
			m.DeleteFrom(0, nil)
			return &m
		}},
		{"RangeSet.Remove", func() any {
			var s RangeSet
			for i := range uint64(fill) {
				s.Add(2 * i)
			}
			for i := range uint64(fill) {
				s.Remove(2 * i)
			}
			return &s
		}},
		{"RangeSet.DeleteBelow", func() any {
			var s RangeSet
			for i := range uint64(fill) {
				s.Add(2 * i)
			}
			s.DeleteBelow(2 * fill)
			return &s
		}},
		{"RangeSet.DeleteFrom", func() any {
			var s RangeSet
			for i := range uint64(fill) {
				s.Add(2 * i)
			}
			s.DeleteFrom(0)
			return &s
		}},
	} {
		got := heapPerEntry(n, func(n int) any {
			all := make([]any, n)
			for i := range all {
				all[i] = tt.make()
			}
			return all
		})
		if got > 200 {
			t.Errorf("%s: an emptied index retains %.0f bytes", tt.name, got)
		} else {
			t.Logf("%s: an emptied index retains %.0f bytes", tt.name, got)
		}
	}
}
