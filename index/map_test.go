package index

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

type kv struct {
	seq uint64
	v   string
}

func kvsOf(m *Map[string]) []kv {
	var out []kv
	m.Ascend(func(seq uint64, v string) bool { out = append(out, kv{seq, v}); return true })
	return out
}

func sortedKVs(model map[uint64]string) []kv {
	var out []kv
	for _, seq := range slices.Sorted(maps.Keys(model)) {
		out = append(out, kv{seq, model[seq]})
	}
	return out
}

// checkMap compares every query of m against the Go map model over [base, base+n).
func checkMap(t *testing.T, r *rand.Rand, m *Map[string], model map[uint64]string, base, n uint64) {
	t.Helper()
	want := sortedKVs(model)
	if got := kvsOf(m); !slices.Equal(got, want) {
		t.Fatalf("Ascend = %v, want %v", got, want)
	}
	if m.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", m.Len(), len(want))
	}
	for i := range n {
		wv, wok := model[base+i]
		if v, ok := m.Get(base + i); v != wv || ok != wok {
			t.Fatalf("Get(%d) = %q, %v; want %q, %v", base+i, v, ok, wv, wok)
		}
	}
	seq, v, ok := m.Min()
	if ok != (len(want) > 0) || (ok && (kv{seq, v}) != want[0]) {
		t.Fatalf("Min = %d, %q, %v; want %v", seq, v, ok, want)
	}
	from := base + r.Uint64N(n)
	k := 1 + r.IntN(10)
	var got []kv
	m.AscendFrom(from, func(seq uint64, v string) bool { got = append(got, kv{seq, v}); return len(got) < k })
	i, _ := slices.BinarySearchFunc(want, from, func(e kv, x uint64) int {
		if e.seq < x {
			return -1
		} else if e.seq > x {
			return 1
		}
		return 0
	})
	want = want[i:]
	if len(want) > k {
		want = want[:k]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("AscendFrom(%d) stopping after %d = %v, want %v", from, k, got, want)
	}
}

func TestMapModel(t *testing.T) {
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 3))
		n := uint64(20 + r.IntN(300))
		base := seqDomain(r, n)
		setWeight := 4 + r.IntN(5)
		var m Map[string]
		model := map[uint64]string{}
		var snap *Map[string]
		var snapModel map[uint64]string
		for op := range 2000 {
			x := base + r.Uint64N(n)
			switch k := r.IntN(20); {
			case k < 2*setWeight:
				v := fmt.Sprint(op)
				m.Set(x, v)
				model[x] = v
			case k < 17:
				wv, wok := model[x]
				if v, ok := m.Delete(x); v != wv || ok != wok {
					t.Fatalf("seed %d: Delete(%d) = %q, %v; want %q, %v", seed, x, v, ok, wv, wok)
				}
				delete(model, x)
			case k < 19:
				below := k == 17
				var want []kv
				for _, e := range sortedKVs(model) {
					if (e.seq < x) == below {
						want = append(want, e)
						delete(model, e.seq)
					}
				}
				var got []kv
				fn := func(seq uint64, v string) { got = append(got, kv{seq, v}) }
				if r.IntN(4) == 0 {
					fn = nil
				}
				var cnt int
				if below {
					cnt = m.DeleteBelow(x, fn)
				} else {
					cnt = m.DeleteFrom(x, fn)
					slices.Reverse(want) // DeleteFrom removes in decreasing order
				}
				if cnt != len(want) || (fn != nil && !slices.Equal(got, want)) {
					t.Fatalf("seed %d: delete below=%v %d removed %d %v, want %v", seed, below, x, cnt, got, want)
				}
			default:
				snap, snapModel = m.Clone(), maps.Clone(model)
			}
			checkMap(t, r, &m, model, base, n)
			if snap != nil {
				checkMap(t, r, snap, snapModel, base, n)
			}
		}
	}
}

func TestMapCloneIndependent(t *testing.T) {
	var a Map[string]
	for i := range uint64(1000) {
		a.Set(i, fmt.Sprint(i))
	}
	want := kvsOf(&a)
	b := a.Clone()
	b.Set(3, "changed")
	b.DeleteBelow(100, nil)
	b.DeleteFrom(900, nil)
	if !slices.Equal(kvsOf(&a), want) {
		t.Fatal("mutating the clone changed the original")
	}
	bWant := kvsOf(b)
	a.Set(500, "changed")
	a.DeleteFrom(0, nil)
	if !slices.Equal(kvsOf(b), bWant) {
		t.Fatal("mutating the original changed the clone")
	}
}

func TestMapFreeListPerType(t *testing.T) {
	if mapFreeList[int]() != mapFreeList[int]() {
		t.Fatal("Map[int] free list is not shared")
	}
	// Different instantiations must not share (the node types differ).
	if fmt.Sprintf("%p", mapFreeList[int]()) == fmt.Sprintf("%p", mapFreeList[int64]()) {
		t.Fatal("Map[int] and Map[int64] share a free list")
	}
	var m Map[any]
	m.Set(1, "x")
	if v, _ := m.Get(1); v != "x" {
		t.Fatal("Map[any] lost its value")
	}
}
