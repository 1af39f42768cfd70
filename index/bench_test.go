package index

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// heapPerEntry returns the heap growth per entry caused by build(n), whose result is
// kept alive until measured.
func heapPerEntry(n int, build func(n int) any) float64 {
	before := liveHeap()
	v := build(n)
	after := liveHeap()
	runtime.KeepAlive(v)
	return (float64(after) - float64(before)) / float64(n)
}

// The builders below are shared by TestBytesPerEntry (which bounds them) and the
// benchmarks (which report them). Random builders use a fixed seed.

func buildDeadlines(n int, inOrder bool) any {
	r := rand.New(rand.NewPCG(1, 1))
	d := new(Deadlines)
	for i := range n {
		at := int64(i)
		if !inOrder {
			at = r.Int64()
		}
		d.Add(at, uint64(i))
	}
	return d
}

func buildSeqSet(n int) any {
	r := rand.New(rand.NewPCG(1, 2))
	s := new(SeqSet)
	for s.Len() < n {
		s.Add(r.Uint64())
	}
	return s
}

func buildMap(n int) any {
	r := rand.New(rand.NewPCG(1, 3))
	m := new(Map[uint64])
	for m.Len() < n {
		m.Set(r.Uint64(), 1)
	}
	return m
}

// buildRangeSet adds n random members, almost all of them singleton intervals: the
// worst case, so the cost per entry is the cost per interval.
func buildRangeSet(n int) any {
	r := rand.New(rand.NewPCG(1, 4))
	s := new(RangeSet)
	for s.Len() < n {
		s.Add(r.Uint64N(math.MaxUint64))
	}
	return s
}

// buildTimeIndex adds n messages with dense seqs at the default interval; its cost per
// entry is per message.
func buildTimeIndex(n int) any {
	x := new(TimeIndex)
	for i := range n {
		x.Add(int64(i/100), uint64(i))
	}
	return x
}

// TestBytesPerEntry measures the heap cost of each index at 1<<18 entries (the figures
// in the package doc) and fails if one regresses far past them.
func TestBytesPerEntry(t *testing.T) {
	const n = 1 << 18
	for _, tt := range []struct {
		name  string
		build func(int) any
		limit float64
	}{
		{"Deadlines/random", func(n int) any { return buildDeadlines(n, false) }, 40},
		{"Deadlines/inorder", func(n int) any { return buildDeadlines(n, true) }, 48},
		{"SeqSet/random", buildSeqSet, 24},
		{"Map[uint64]/random", buildMap, 40},
		{"RangeSet/singletons", buildRangeSet, 40},
		{"TimeIndex/message", buildTimeIndex, 0.5},
	} {
		got := heapPerEntry(n, tt.build)
		t.Logf("%-20s %6.2f bytes/entry", tt.name, got)
		if got > tt.limit {
			t.Errorf("%s: %.2f bytes/entry, want <= %v", tt.name, got, tt.limit)
		}
	}
}

// reportBytes reports the heap cost per entry of build(b.N), outside the timer.
func reportBytes(b *testing.B, build func(int) any) {
	b.StopTimer()
	b.ReportMetric(heapPerEntry(b.N, build), "bytes/entry")
	b.StartTimer()
}

func BenchmarkDeadlinesAdd(b *testing.B) {
	for _, inOrder := range []bool{false, true} {
		name := "random"
		if inOrder {
			name = "inorder"
		}
		b.Run(name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			var d Deadlines
			for i := range b.N {
				at := int64(i)
				if !inOrder {
					at = r.Int64()
				}
				d.Add(at, uint64(i))
			}
			reportBytes(b, func(n int) any { return buildDeadlines(n, inOrder) })
		})
	}
}

func BenchmarkDeadlinesPopDue(b *testing.B) {
	const due = 64 // entries popped per call
	var d Deadlines
	for i := range b.N {
		d.Add(int64(i), uint64(i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i += due {
		d.PopDue(int64(i+due-1), func(Deadline) bool { return true })
	}
	if d.Len() != 0 {
		b.Fatal("entries left")
	}
}

func BenchmarkSeqSetAdd(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var s SeqSet
	for range b.N {
		s.Add(r.Uint64())
	}
	reportBytes(b, buildSeqSet)
}

func BenchmarkMapSet(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 3))
	var m Map[uint64]
	for range b.N {
		m.Set(r.Uint64(), 1)
	}
	reportBytes(b, buildMap)
}

func BenchmarkRangeSetAdd(b *testing.B) {
	b.Run("inorder", func(b *testing.B) {
		var s RangeSet
		for i := range b.N {
			s.Add(uint64(i))
		}
		reportBytes(b, func(n int) any {
			var s RangeSet
			for i := range n {
				s.Add(uint64(i))
			}
			return &s
		})
	})
	b.Run("random", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 4))
		var s RangeSet
		for range b.N {
			s.Add(r.Uint64N(math.MaxUint64))
		}
		reportBytes(b, buildRangeSet)
	})
}

func BenchmarkTimeIndexAdd(b *testing.B) {
	var x TimeIndex
	for i := range b.N {
		x.Add(int64(i/100), uint64(i))
	}
	reportBytes(b, buildTimeIndex)
}
