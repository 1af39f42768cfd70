package index

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// seqDomain picks a test domain [base, base+n) at 0 or at the top of the uint64 range.
func seqDomain(r *rand.Rand, n uint64) uint64 {
	if r.IntN(2) == 0 {
		return 0
	}
	return math.MaxUint64 - n + 1
}

func seqsOf(s *SeqSet) []uint64 {
	var out []uint64
	s.Ascend(func(x uint64) bool { out = append(out, x); return true })
	return out
}

// checkSeqSet compares every query of s against the bool-array model over [base, base+n).
func checkSeqSet(t *testing.T, r *rand.Rand, s *SeqSet, model []bool, base uint64) {
	t.Helper()
	var want []uint64
	for i, in := range model {
		x := base + uint64(i)
		if in {
			want = append(want, x)
		}
		if s.Has(x) != in {
			t.Fatalf("Has(%d) = %v, want %v", x, !in, in)
		}
	}
	if got := seqsOf(s); !slices.Equal(got, want) {
		t.Fatalf("Ascend = %v, want %v", got, want)
	}
	if s.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", s.Len(), len(want))
	}
	m, ok := s.Min()
	if ok != (len(want) > 0) || (ok && m != want[0]) {
		t.Fatalf("Min = %d, %v; want %v", m, ok, want)
	}
	from := base + r.Uint64N(uint64(len(model)))
	k := 1 + r.IntN(10)
	var got []uint64
	s.AscendFrom(from, func(x uint64) bool { got = append(got, x); return len(got) < k })
	i, _ := slices.BinarySearch(want, from)
	want = want[i:]
	if len(want) > k {
		want = want[:k]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("AscendFrom(%d) stopping after %d = %v, want %v", from, k, got, want)
	}
}

func TestSeqSetModel(t *testing.T) {
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 2))
		n := uint64(20 + r.IntN(300))
		base := seqDomain(r, n)
		addWeight := 4 + r.IntN(5)
		var s SeqSet
		model := make([]bool, n)
		var snap *SeqSet
		var snapModel []bool
		for range 2000 {
			i := r.Uint64N(n)
			x := base + i
			switch k := r.IntN(20); {
			case k < 2*addWeight:
				if got := s.Add(x); got != !model[i] {
					t.Fatalf("seed %d: Add(%d) = %v", seed, x, got)
				}
				model[i] = true
			case k < 17:
				if got := s.Remove(x); got != model[i] {
					t.Fatalf("seed %d: Remove(%d) = %v", seed, x, got)
				}
				model[i] = false
			case k < 18:
				want := 0
				for j := range i {
					if model[j] {
						want++
					}
					model[j] = false
				}
				if got := s.DeleteBelow(x); got != want {
					t.Fatalf("seed %d: DeleteBelow(%d) = %d, want %d", seed, x, got, want)
				}
			case k < 19:
				want := 0
				for j := i; j < n; j++ {
					if model[j] {
						want++
					}
					model[j] = false
				}
				if got := s.DeleteFrom(x); got != want {
					t.Fatalf("seed %d: DeleteFrom(%d) = %d, want %d", seed, x, got, want)
				}
			default:
				snap, snapModel = s.Clone(), slices.Clone(model)
			}
			checkSeqSet(t, r, &s, model, base)
			if snap != nil {
				checkSeqSet(t, r, snap, snapModel, base)
			}
		}
	}
}

func TestSeqSetCloneIndependent(t *testing.T) {
	var a SeqSet
	for i := range uint64(1000) {
		a.Add(i * 3)
	}
	want := seqsOf(&a)
	b := a.Clone()
	b.DeleteBelow(900)
	b.Add(1)
	b.DeleteFrom(2000)
	if !slices.Equal(seqsOf(&a), want) {
		t.Fatal("mutating the clone changed the original")
	}
	bWant := seqsOf(b)
	a.DeleteFrom(0)
	a.Add(1500)
	if !slices.Equal(seqsOf(b), bWant) {
		t.Fatal("mutating the original changed the clone")
	}
}
