package index

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// timeModel is the log a TimeIndex indexes: times[i] is the (clamped) enqueue time of
// message start+i; messages below first are gone.
type timeModel struct {
	start, first uint64
	times        []int64
}

func (m *timeModel) end() uint64 { return m.start + uint64(len(m.times)) }

// checkLookup verifies Lookup's contract for t against the model.
func checkLookup(t *testing.T, x *TimeIndex, m *timeModel, tm int64) {
	t.Helper()
	iv := x.interval()
	got := x.Lookup(tm, m.first)
	if got < m.first || got > m.end() {
		t.Fatalf("Lookup(%d, %d) = %d, outside [first, end] = [%d, %d]", tm, m.first, got, m.first, m.end())
	}
	for s := m.first; s < got; s++ {
		if m.times[s-m.start] >= tm {
			t.Fatalf("Lookup(%d, %d) = %d skips message %d at time %d", tm, m.first, got, s, m.times[s-m.start])
		}
	}
	s := got
	for s < m.end() && m.times[s-m.start] < tm {
		s++
	}
	// The scan from got reads messages got..s inclusive (or to the end when none is found).
	if s < m.end() && s-got+1 > iv || s == m.end() && s-got > iv-1 {
		t.Fatalf("Lookup(%d, %d) = %d: scan to %d (end %d) exceeds interval %d", tm, m.first, got, s, m.end(), iv)
	}
}

func checkTimeIndex(t *testing.T, r *rand.Rand, x *TimeIndex, m *timeModel) {
	t.Helper()
	if len(m.times) == 0 {
		if _, _, ok := x.Last(); ok || x.Len() != 0 {
			t.Fatalf("empty index: Last ok = %v, Len = %d", ok, x.Len())
		}
		return
	}
	lt, ls, ok := x.Last()
	if !ok || ls != m.end()-1 || lt != m.times[len(m.times)-1] {
		t.Fatalf("Last = %d, %d, %v; want %d, %d", lt, ls, ok, m.times[len(m.times)-1], m.end()-1)
	}
	iv := x.interval()
	if max := (m.end()-m.first+iv-1)/iv + 1; uint64(x.Len()) > max {
		t.Fatalf("Len = %d for %d live messages at interval %d, want <= %d", x.Len(), m.end()-m.first, iv, max)
	}
	if x.off > x.Len() {
		t.Fatalf("dead prefix %d outgrew live entries %d", x.off, x.Len())
	}
	var es []TimeEntry
	x.Ascend(func(tm int64, seq uint64) bool { es = append(es, TimeEntry{tm, seq}); return true })
	for i, e := range es {
		if e.Seq < m.start || e.Seq >= m.end() || m.times[e.Seq-m.start] != e.T || i > 0 && e.Seq <= es[i-1].Seq {
			t.Fatalf("bad entries %v", es)
		}
	}
	lo, hi := m.times[0], m.times[len(m.times)-1]
	probes := []int64{lo - 1, lo, hi, hi + 1}
	for range 6 {
		tm := m.times[r.IntN(len(m.times))]
		probes = append(probes, tm, tm+1, lo+r.Int64N(hi-lo+1))
	}
	for _, tm := range probes {
		checkLookup(t, x, m, tm)
	}
}

// timeStep applies one random operation to x and the model.
func timeStep(r *rand.Rand, x *TimeIndex, m *timeModel, trimWeight int) {
	if r.IntN(100) < trimWeight {
		if live := m.end() - m.first; live > 0 {
			m.first += r.Uint64N(live + 1)
			x.TrimBelow(m.first)
		}
		return
	}
	var tm int64
	if n := len(m.times); n > 0 {
		tm = m.times[n-1]
	}
	switch k := r.IntN(10); {
	case k < 5: // same time
	case k < 9:
		tm += r.Int64N(5)
	case len(m.times) > 0: // earlier: clamped
		x.Add(tm-1-r.Int64N(5), m.end())
		m.times = append(m.times, tm)
		return
	}
	x.Add(tm, m.end())
	m.times = append(m.times, tm)
}

func TestTimeIndexLookupContract(t *testing.T) {
	for _, interval := range []int{1, 2, 7, 256} {
		for seed := range uint64(20) {
			r := rand.New(rand.NewPCG(seed, uint64(interval)))
			x := &TimeIndex{Interval: interval}
			start := r.Uint64N(1000)
			m := &timeModel{start: start, first: start}
			trimWeight := 1 + r.IntN(10)
			for range 3000 {
				timeStep(r, x, m, trimWeight)
				checkTimeIndex(t, r, x, m)
			}
		}
	}
}

func TestTimeIndexDefaultInterval(t *testing.T) {
	var x TimeIndex
	for s := range uint64(1000) {
		x.Add(int64(s), s)
	}
	if x.Len() != 4 { // seqs 0, 256, 512, 768
		t.Fatalf("Len = %d, want 4", x.Len())
	}
	if got := x.Lookup(600, 0); got != 513 {
		t.Fatalf("Lookup(600) = %d, want 513", got)
	}
}

func TestTimeIndexRestore(t *testing.T) {
	for _, interval := range []int{0, 1, 2, 7, 256} {
		for seed := range uint64(10) {
			r := rand.New(rand.NewPCG(seed, 7))
			x := &TimeIndex{Interval: interval}
			m := &timeModel{start: 5, first: 5}
			for range r.IntN(3000) {
				timeStep(r, x, m, 3)
			}
			// Serialise as the engine does: Ascend plus Last.
			var es []TimeEntry
			x.Ascend(func(tm int64, seq uint64) bool { es = append(es, TimeEntry{tm, seq}); return true })
			lt, ls, _ := x.Last()
			y, err := RestoreTimeIndex(interval, es, ls, lt)
			if err != nil {
				t.Fatal(err)
			}
			m2 := *m
			m2.times = slices.Clone(m.times)
			r1, r2 := rand.New(rand.NewPCG(seed, 8)), rand.New(rand.NewPCG(seed, 8))
			for range 2000 {
				if !slices.Equal(x.Entries(), y.Entries()) {
					t.Fatalf("interval %d seed %d: restored entries %v, want %v", interval, seed, y.Entries(), x.Entries())
				}
				xt, xs, xok := x.Last()
				yt, ys, yok := y.Last()
				if xt != yt || xs != ys || xok != yok {
					t.Fatalf("restored Last = %d, %d, %v; want %d, %d, %v", yt, ys, yok, xt, xs, xok)
				}
				timeStep(r1, x, m, 3)
				timeStep(r2, y, &m2, 3)
			}
			checkTimeIndex(t, r1, y, &m2)
		}
	}
}

func TestTimeIndexRestoreRejects(t *testing.T) {
	for _, tt := range []struct {
		name    string
		entries []TimeEntry
		lastSeq uint64
		lastT   int64
	}{
		{"seq order", []TimeEntry{{1, 5}, {2, 5}}, 9, 9},
		{"time order", []TimeEntry{{3, 5}, {2, 6}}, 9, 9},
		{"last seq", []TimeEntry{{1, 5}, {2, 9}}, 8, 9},
		{"last time", []TimeEntry{{1, 5}, {2, 9}}, 9, 1},
	} {
		x := TimeIndex{Interval: 3}
		x.Add(1, 1)
		if err := x.Restore(1, tt.entries, tt.lastSeq, tt.lastT); err == nil {
			t.Errorf("%s: Restore accepted %v", tt.name, tt.entries)
		}
		if x.Interval != 3 || x.Len() != 1 {
			t.Errorf("%s: failed Restore changed the index", tt.name)
		}
	}
	y, err := RestoreTimeIndex(5, nil, 7, 7)
	if err != nil || y.Len() != 0 || y.Interval != 5 {
		t.Fatalf("empty restore = %+v, %v", y, err)
	}
	if _, _, ok := y.Last(); ok {
		t.Fatal("empty restore has a last message")
	}
}

func TestTimeIndexClampAndPanic(t *testing.T) {
	var x TimeIndex
	x.Add(10, 1)
	x.Add(5, 2)
	if tm, seq, _ := x.Last(); tm != 10 || seq != 2 {
		t.Fatalf("Last = %d, %d; want clamped 10, 2", tm, seq)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Add with a repeated seq did not panic")
		}
	}()
	x.Add(11, 2)
}

func TestTimeIndexCloneIndependent(t *testing.T) {
	x := &TimeIndex{Interval: 1}
	for s := range uint64(10) {
		x.Add(int64(s), s)
	}
	x.TrimBelow(3)
	want := x.Entries()
	c := x.Clone()
	// Both append into what is spare capacity of the shared array.
	x.Add(100, 10)
	c.Add(200, 10)
	c.Add(201, 11)
	if got := x.Entries(); !slices.Equal(got, append(want, TimeEntry{100, 10})) {
		t.Fatalf("original = %v", got)
	}
	if got := c.Entries(); !slices.Equal(got, append(slices.Clone(want), TimeEntry{200, 10}, TimeEntry{201, 11})) {
		t.Fatalf("clone = %v", got)
	}
	c.TrimBelow(11)
	x.TrimBelow(5)
	if got := x.Lookup(201, 0); got != 11 {
		t.Fatalf("original Lookup after clone trim = %d", got)
	}
	if got := c.Lookup(202, 11); got != 12 {
		t.Fatalf("clone Lookup = %d", got)
	}
}
