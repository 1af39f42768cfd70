package index

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func rangesOf(s *RangeSet) []Range {
	var out []Range
	s.Ascend(func(r Range) bool { out = append(out, r); return true })
	return out
}

// runs returns the maximal runs of the bool-array model over [base, base+len(model)).
func runs(model []bool, base uint64) []Range {
	var out []Range
	for i := 0; i < len(model); i++ {
		if !model[i] {
			continue
		}
		j := i
		for j < len(model) && model[j] {
			j++
		}
		out = append(out, Range{base + uint64(i), base + uint64(j)})
		i = j
	}
	return out
}

func countModel(model []bool, lo, hi uint64) uint64 {
	var n uint64
	for i := lo; i < hi; i++ {
		if model[i] {
			n++
		}
	}
	return n
}

// checkRangeSet compares every query of s against the bool-array model over
// [base, base+len(model)).
func checkRangeSet(t *testing.T, r *rand.Rand, s *RangeSet, model []bool, base uint64) {
	t.Helper()
	n := uint64(len(model))
	want := runs(model, base)
	if got := rangesOf(s); !slices.Equal(got, want) {
		t.Fatalf("Ascend = %v, want %v", got, want)
	}
	if s.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", s.Len(), len(want))
	}
	if c := countModel(model, 0, n); s.Count() != c {
		t.Fatalf("Count = %d, want %d", s.Count(), c)
	}
	m, ok := s.Min()
	if ok != (len(want) > 0) || (ok && m != want[0]) {
		t.Fatalf("Min = %v, %v; want %v", m, ok, want)
	}
	absent := n // model's NextAbsent, computed from the top down
	for i := n; i > 0; i-- {
		x := base + i - 1
		if !model[i-1] {
			absent = i - 1
		}
		if s.Contains(x) != model[i-1] {
			t.Fatalf("Contains(%d) = %v", x, !model[i-1])
		}
		if got := s.NextAbsent(x); got != base+absent {
			t.Fatalf("NextAbsent(%d) = %d, want %d", x, got, base+absent)
		}
	}
	for range 5 {
		lo, hi := r.Uint64N(n+1), r.Uint64N(n+1)
		want := uint64(0)
		if lo < hi {
			want = countModel(model, lo, hi)
		}
		if got := s.CountRange(base+lo, base+hi); got != want {
			t.Fatalf("CountRange(%d, %d) = %d, want %d", base+lo, base+hi, got, want)
		}
	}
}

func TestRangeSetModel(t *testing.T) {
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 4))
		n := uint64(20 + r.IntN(300))
		base := seqDomain(r, n+1) // the top domain ends at MaxUint64-1, the largest member
		addWeight := 3 + r.IntN(6)
		var s RangeSet
		model := make([]bool, n)
		var snap *RangeSet
		var snapModel []bool
		for range 2000 {
			i := r.Uint64N(n)
			x := base + i
			switch k := r.IntN(20); {
			case k < addWeight:
				if got := s.Add(x); got != !model[i] {
					t.Fatalf("seed %d: Add(%d) = %v", seed, x, got)
				}
				model[i] = true
			case k < 2*addWeight-1:
				hi := min(n, i+r.Uint64N(20))
				if r.IntN(10) == 0 {
					hi = i - min(i, r.Uint64N(3)) // empty or inverted
				}
				s.AddRange(x, base+hi)
				for j := i; j < hi; j++ {
					model[j] = true
				}
			case k < 17:
				if got := s.Remove(x); got != model[i] {
					t.Fatalf("seed %d: Remove(%d) = %v", seed, x, got)
				}
				model[i] = false
			case k < 18:
				i = r.Uint64N(n + 1)
				want := countModel(model, 0, i)
				clear(model[:i])
				if got := s.DeleteBelow(base + i); got != want {
					t.Fatalf("seed %d: DeleteBelow(%d) = %d, want %d", seed, base+i, got, want)
				}
			case k < 19:
				i = r.Uint64N(n + 1)
				want := countModel(model, i, n)
				clear(model[i:])
				if got := s.DeleteFrom(base + i); got != want {
					t.Fatalf("seed %d: DeleteFrom(%d) = %d, want %d", seed, base+i, got, want)
				}
			default:
				snap, snapModel = s.Clone(), slices.Clone(model)
			}
			checkRangeSet(t, r, &s, model, base)
			if snap != nil {
				checkRangeSet(t, r, snap, snapModel, base)
			}
		}
	}
}

func TestRangeSetEdges(t *testing.T) {
	const top = math.MaxUint64
	type op struct {
		name   string
		lo, hi uint64 // for "addRange"; lo alone for the others
		want   uint64 // return value, where the op has one (bool as 0/1)
	}
	add := func(x uint64, added bool) op { return op{"add", x, 0, b2u(added)} }
	addRange := func(lo, hi uint64) op { return op{"addRange", lo, hi, 0} }
	remove := func(x uint64, removed bool) op { return op{"remove", x, 0, b2u(removed)} }
	below := func(x, removed uint64) op { return op{"deleteBelow", x, 0, removed} }
	from := func(x, removed uint64) op { return op{"deleteFrom", x, 0, removed} }
	for _, tt := range []struct {
		name string
		ops  []op
		want []Range
		// probes: NextAbsent(x) == y for each pair
		next [][2]uint64
	}{
		{"single", []op{add(5, true), add(5, false)}, []Range{{5, 6}}, [][2]uint64{{4, 4}, {5, 6}, {6, 6}}},
		{"merge left", []op{add(5, true), add(6, true)}, []Range{{5, 7}}, nil},
		{"merge right", []op{add(6, true), add(5, true)}, []Range{{5, 7}}, nil},
		{"bridge", []op{add(4, true), add(6, true), add(5, true)}, []Range{{4, 7}}, [][2]uint64{{4, 7}}},
		{"gap stays", []op{add(4, true), add(6, true)}, []Range{{4, 5}, {6, 7}}, [][2]uint64{{4, 5}, {5, 5}, {6, 7}}},
		{"range bridges many", []op{add(1, true), add(3, true), add(5, true), add(9, true), addRange(2, 9)},
			[]Range{{1, 10}}, [][2]uint64{{0, 0}, {1, 10}}},
		{"range adjacent both sides", []op{addRange(0, 3), addRange(6, 9), addRange(3, 6)}, []Range{{0, 9}}, [][2]uint64{{0, 9}}},
		{"range inside", []op{addRange(0, 10), addRange(3, 5)}, []Range{{0, 10}}, nil},
		{"range empty", []op{addRange(5, 5), addRange(6, 2)}, nil, nil},
		{"split", []op{addRange(0, 10), remove(4, true), remove(4, false)}, []Range{{0, 4}, {5, 10}}, [][2]uint64{{0, 4}, {4, 4}, {5, 10}}},
		{"remove first", []op{addRange(3, 6), remove(3, true)}, []Range{{4, 6}}, nil},
		{"remove last", []op{addRange(3, 6), remove(5, true)}, []Range{{3, 5}}, nil},
		{"remove only", []op{add(3, true), remove(3, true), remove(3, false)}, nil, nil},
		{"remove absent", []op{remove(0, false), remove(top, false)}, nil, nil},
		{"delete below cuts", []op{addRange(2, 6), addRange(8, 12), below(10, 6)}, []Range{{10, 12}}, nil},
		{"delete below at boundary", []op{addRange(2, 6), addRange(8, 12), below(8, 4)}, []Range{{8, 12}}, nil},
		{"delete below all", []op{addRange(2, 6), below(top, 4)}, nil, nil},
		{"delete from cuts", []op{addRange(2, 6), addRange(8, 12), from(4, 6)}, []Range{{2, 4}}, nil},
		{"delete from zero", []op{addRange(2, 6), from(0, 4)}, nil, nil},
		{"zero", []op{add(0, true), add(1, true)}, []Range{{0, 2}}, [][2]uint64{{0, 2}, {2, 2}}},
		{"below zero", []op{add(0, true), below(0, 0), below(1, 1)}, nil, nil},
		{"top", []op{add(top-1, true), add(top-2, true)}, []Range{{top - 2, top}}, [][2]uint64{{top - 2, top}, {top, top}}},
		{"top range", []op{addRange(top-5, top), remove(top-1, true), from(top-3, 2)}, []Range{{top - 5, top - 3}}, nil},
		{"whole space", []op{addRange(0, top), remove(1<<63, true)}, []Range{{0, 1 << 63}, {1<<63 + 1, top}}, [][2]uint64{{0, 1 << 63}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s RangeSet
			for _, o := range tt.ops {
				var got uint64
				switch o.name {
				case "add":
					got = b2u(s.Add(o.lo))
				case "addRange":
					s.AddRange(o.lo, o.hi)
				case "remove":
					got = b2u(s.Remove(o.lo))
				case "deleteBelow":
					got = s.DeleteBelow(o.lo)
				case "deleteFrom":
					got = s.DeleteFrom(o.lo)
				}
				if got != o.want {
					t.Fatalf("%s(%d, %d) = %d, want %d", o.name, o.lo, o.hi, got, o.want)
				}
			}
			if got := rangesOf(&s); !slices.Equal(got, tt.want) {
				t.Fatalf("intervals %v, want %v", got, tt.want)
			}
			var count uint64
			for _, r := range tt.want {
				count += r.Hi - r.Lo
			}
			if s.Count() != count || s.Len() != len(tt.want) {
				t.Fatalf("Count, Len = %d, %d; want %d, %d", s.Count(), s.Len(), count, len(tt.want))
			}
			if c := s.CountRange(0, top); c != count {
				t.Fatalf("CountRange(0, max) = %d, want %d", c, count)
			}
			for _, p := range tt.next {
				if got := s.NextAbsent(p[0]); got != p[1] {
					t.Fatalf("NextAbsent(%d) = %d, want %d", p[0], got, p[1])
				}
			}
		})
	}
}

func TestRangeSetAddMaxPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Add(MaxUint64) did not panic")
		}
	}()
	var s RangeSet
	s.Add(math.MaxUint64)
}

func TestRangeSetCloneIndependent(t *testing.T) {
	var a RangeSet
	for i := range uint64(1000) {
		a.Add(i * 2)
	}
	want, wantCount := rangesOf(&a), a.Count()
	b := a.Clone()
	b.AddRange(0, 500)
	b.Remove(1000)
	b.DeleteFrom(1500)
	if !slices.Equal(rangesOf(&a), want) || a.Count() != wantCount {
		t.Fatal("mutating the clone changed the original")
	}
	bWant, bCount := rangesOf(b), b.Count()
	a.DeleteBelow(1200)
	a.Add(1)
	if !slices.Equal(rangesOf(b), bWant) || b.Count() != bCount {
		t.Fatal("mutating the original changed the clone")
	}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
