package index

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func deadlinesOf(d *Deadlines) []Deadline {
	var out []Deadline
	d.Ascend(func(e Deadline) bool { out = append(out, e); return true })
	return out
}

// checkDeadlines compares every query of d against the sorted slice model.
func checkDeadlines(t *testing.T, r *rand.Rand, d *Deadlines, model []Deadline) {
	t.Helper()
	if got := deadlinesOf(d); !slices.Equal(got, model) {
		t.Fatalf("Ascend = %v, want %v", got, model)
	}
	if d.Len() != len(model) {
		t.Fatalf("Len = %d, want %d", d.Len(), len(model))
	}
	m, ok := d.Min()
	if ok != (len(model) > 0) || (ok && m != model[0]) {
		t.Fatalf("Min = %v, %v; model %v", m, ok, model)
	}
	for range 3 {
		now := r.Int64N(60) - 5
		want := 0
		for want < len(model) && model[want].At <= now {
			want++
		}
		if got := d.CountDue(now); got != want {
			t.Fatalf("CountDue(%d) = %d, want %d", now, got, want)
		}
	}
	if len(model) > 0 {
		k := r.IntN(len(model)) + 1
		var got []Deadline
		d.Ascend(func(e Deadline) bool { got = append(got, e); return len(got) < k })
		if !slices.Equal(got, model[:k]) {
			t.Fatalf("Ascend stopping after %d = %v, want %v", k, got, model[:k])
		}
	}
}

func TestDeadlinesModel(t *testing.T) {
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 1))
		span := int64(10 + r.IntN(200)) // At and Seq domain: small spans collide often
		addWeight := 3 + r.IntN(6)      // out of 10: some seeds grow deep trees, some stay small
		var d Deadlines
		var model []Deadline
		var snap *Deadlines // a clone that must keep its contents while d changes
		var snapModel []Deadline
		for range 2000 {
			at, seq := r.Int64N(span), r.Uint64N(uint64(span))
			e := Deadline{at, seq}
			i, found := slices.BinarySearchFunc(model, e, func(a, b Deadline) int {
				if deadlineLess(a, b) {
					return -1
				} else if deadlineLess(b, a) {
					return 1
				}
				return 0
			})
			switch k := r.IntN(10); {
			case k < addWeight:
				d.Add(at, seq)
				if !found {
					model = slices.Insert(model, i, e)
				}
			case k < 8:
				if got := d.Remove(at, seq); got != found {
					t.Fatalf("seed %d: Remove(%v) = %v, want %v", seed, e, got, found)
				}
				if found {
					model = slices.Delete(model, i, i+1)
				}
			case k < 9:
				if r.IntN(2) == 0 {
					lo, hi := r.Uint64N(uint64(span)), r.Uint64N(uint64(span))
					want := slices.DeleteFunc(slices.Clone(model), func(e Deadline) bool { return e.Seq >= lo && e.Seq < hi })
					if got := d.RemoveSeqRange(lo, hi); got != len(model)-len(want) {
						t.Fatalf("seed %d: RemoveSeqRange(%d, %d) = %d, want %d", seed, lo, hi, got, len(model)-len(want))
					}
					model = want
					break
				}
				now, stop := at, 1+r.IntN(8)
				var popped []Deadline
				d.PopDue(now, func(e Deadline) bool {
					popped = append(popped, e)
					if d.Len() != len(model)-len(popped) {
						t.Fatalf("seed %d: PopDue called fn before removing %v", seed, e)
					}
					return len(popped) < stop
				})
				n := 0
				for n < len(model) && model[n].At <= now && n < stop {
					n++
				}
				if !slices.Equal(popped, model[:n]) {
					t.Fatalf("seed %d: PopDue(%d) stopping at %d popped %v, want %v", seed, now, stop, popped, model[:n])
				}
				model = model[n:]
			default:
				snap, snapModel = d.Clone(), slices.Clone(model)
			}
			checkDeadlines(t, r, &d, model)
			if snap != nil {
				checkDeadlines(t, r, snap, snapModel)
			}
		}
	}
}

func TestDeadlinesPopDueReAdd(t *testing.T) {
	var d Deadlines
	d.Add(5, 1)
	d.Add(5, 2)
	d.Add(9, 3)
	var got []Deadline
	d.PopDue(6, func(e Deadline) bool {
		got = append(got, e)
		if e.Seq == 1 {
			d.Add(6, 4) // due: popped in its turn
			d.Add(7, 5) // not due
		}
		return true
	})
	want := []Deadline{{5, 1}, {5, 2}, {6, 4}}
	if !slices.Equal(got, want) {
		t.Fatalf("popped %v, want %v", got, want)
	}
	if rest := deadlinesOf(&d); !slices.Equal(rest, []Deadline{{7, 5}, {9, 3}}) {
		t.Fatalf("left %v", rest)
	}
}

func TestDeadlinesCloneIndependent(t *testing.T) {
	var a Deadlines
	for i := range 1000 {
		a.Add(int64(i%37), uint64(i))
	}
	want := deadlinesOf(&a)
	b := a.Clone()
	b.Add(-1, 5000)
	b.RemoveSeqRange(0, 500)
	b.PopDue(10, func(Deadline) bool { return true })
	if got := deadlinesOf(&a); !slices.Equal(got, want) {
		t.Fatal("mutating the clone changed the original")
	}
	bWant := deadlinesOf(b)
	a.PopDue(1<<62, func(Deadline) bool { return true })
	a.Add(3, 3)
	if got := deadlinesOf(b); !slices.Equal(got, bWant) {
		t.Fatal("mutating the original changed the clone")
	}
	var z Deadlines
	zc := z.Clone()
	zc.Add(1, 1)
	if z.Len() != 0 {
		t.Fatal("zero-value clone shares with the original")
	}
}
