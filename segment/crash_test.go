package segment

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
)

// crashSeeds overrides the number of seeds of the randomized tests, for soak runs:
// go test -run Crash -segment.seeds=2000 ./segment/
var crashSeeds = flag.Int("segment.seeds", 0, "seeds per randomized test (0: default)")

func seedCount(def, short int) int {
	switch {
	case *crashSeeds > 0:
		return *crashSeeds
	case testing.Short():
		return short
	}
	return def
}

type testRec struct {
	typ  byte
	data []byte
}

// fileSizes returns the size of every file in dir.
func fileSizes(t testing.TB, fs vfs.FS, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	names, err := fs.List(dir)
	if vfs.IsNotExist(err) {
		return out // crashed before the directory was durable
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		size, _, err := fs.Stat(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Join(dir, n)] = size
	}
	return out
}

// reopenCrashed opens the log on a crash clone, checks that Stats().Recovered accounts for
// every byte that changed, and returns the log and all its records.
func reopenCrashed(t *testing.T, clone *vfs.MemFS, o Options) (*Log, map[uint64]testRec) {
	t.Helper()
	before := fileSizes(t, clone, testDir)
	o.FS = clone
	l, err := Open(testDir, o)
	if err != nil {
		t.Fatalf("Open after crash: %v", err)
	}
	after := fileSizes(t, clone, testDir)
	rep := l.Stats().Recovered
	pendingReset := false
	for path := range before {
		if _, ok := parseName(filepath.Base(path), resetSuffix); ok {
			pendingReset = true // finishing a committed reset replaces the segments
		}
	}
	for path, size := range after {
		was, existed := before[path]
		switch {
		case pendingReset:
		case path == rep.File:
			if rep.Offset == 0 && size == headerSize { // torn header rewritten
				if was != rep.TruncatedBytes {
					t.Fatalf("Recovered %+v but the file had %d bytes", rep, was)
				}
			} else if was != rep.Offset+rep.TruncatedBytes || size != rep.Offset {
				t.Fatalf("Recovered %+v but %s went from %d to %d bytes", rep, path, was, size)
			}
		case !existed:
			// A pending reset renamed into place.
			if _, ok := parseName(filepath.Base(path), segSuffix); !ok || size != headerSize {
				t.Fatalf("Open created %s (%d bytes)", path, size)
			}
		case was != size:
			t.Fatalf("%s changed from %d to %d bytes, Recovered %+v", path, was, size, rep)
		}
	}
	st := l.Stats()
	recs := map[uint64]testRec{}
	it := l.NewIterator(0)
	next := st.FirstSeq
	for it.Next() {
		if it.Seq() != next {
			t.Fatalf("iterator returned seq %d, want %d (not dense)", it.Seq(), next)
		}
		recs[it.Seq()] = testRec{it.Type(), bytes.Clone(it.Data())}
		next++
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterating the recovered log: %v", err)
	}
	it.Close()
	if next != st.LastSeq+1 {
		t.Fatalf("iterated up to %d, LastSeq %d", next-1, st.LastSeq)
	}
	if st.DurableSeq != st.LastSeq {
		t.Fatalf("after Open DurableSeq %d != LastSeq %d", st.DurableSeq, st.LastSeq)
	}
	return l, recs
}

// checkRecoveryDurable crashes the recovered file system again, without any further
// operation: Open must have made its repairs durable, so nothing changes.
func checkRecoveryDurable(t *testing.T, clone *vfs.MemFS, o Options, seed uint64, want Stats, wantRecs map[uint64]testRec) {
	t.Helper()
	again := clone.CrashClone(newRand(seed))
	o.FS = again
	l, err := Open(testDir, o)
	if err != nil {
		t.Fatalf("second crash: %v", err)
	}
	defer l.Close()
	st := l.Stats()
	if st.FirstSeq != want.FirstSeq || st.LastSeq != want.LastSeq || st.Recovered != (RecoveryReport{}) {
		t.Fatalf("second crash changed the log: %+v, was %+v", st, want)
	}
	for seq, r := range wantRecs {
		checkRecord(t, l, seq, r.typ, r.data)
	}
}

// TestCrashConcurrentAppenders runs appenders (single records and batches) that wait for
// durability, takes a crash image at a random file-system operation, and checks the log
// recovered from it: it opens, every record confirmed durable before the crash is there
// byte for byte, records are dense, every record is one that was appended at that seq,
// and Recovered accounts for every byte Open dropped. Segments are small so rolls, with
// their file creations and directory syncs, happen all the time.
func TestCrashConcurrentAppenders(t *testing.T) {
	for seed := range uint64(seedCount(40, 10)) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { crashConcurrent(t, seed) })
	}
}

func crashConcurrent(t *testing.T, seed uint64) {
	rng := newRand(seed)
	o := Options{
		MaxSegmentBytes: int64(400 + rng.IntN(3000)),
		IndexInterval:   32 << rng.IntN(5),
		LazyOpen:        rng.IntN(2) == 0,
	}
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, o)

	var (
		mu        sync.Mutex
		appended  = map[uint64]testRec{}
		confirmed = map[uint64]bool{}
		snapshot  map[uint64]bool
		clone     *vfs.MemFS
		ops       atomic.Int64
	)
	crashAt := int64(20 + rng.IntN(400))
	crashRng := newRand(seed ^ 0xc0ffee)
	// Half the seeds make every fsync yield a few times before it happens, so that appends,
	// joiners and the next group's syncer arrive while a group's fsync is in flight.
	slowSyncs := rng.IntN(2) == 0
	fs.InjectError(func(op vfs.Op, _ string) error {
		if slowSyncs && op == vfs.OpSync {
			for range 3 {
				runtime.Gosched()
			}
		}
		if ops.Add(1) == crashAt {
			mu.Lock()
			snapshot = maps.Clone(confirmed)
			clone = fs.CrashClone(crashRng)
			mu.Unlock()
		}
		return nil
	})

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newRand(seed*1000 + uint64(g))
			for i := range 40 {
				n := 1
				if r.IntN(4) == 0 {
					n = 1 + r.IntN(4)
				}
				recs := make([][]byte, n)
				for k := range recs {
					recs[k] = payloadFor(uint64(g)<<40|uint64(i)<<8|uint64(k), uint32(seed), r.IntN(300))
				}
				typ := byte(g)
				var first uint64
				var err error
				if n == 1 && r.IntN(2) == 0 {
					first, err = l.Append(typ, recs[0])
				} else {
					first, err = l.AppendBatch(typ, recs)
				}
				if err != nil {
					t.Errorf("append: %v", err)
					return
				}
				mu.Lock()
				for k, d := range recs {
					appended[first+uint64(k)] = testRec{typ, d}
				}
				mu.Unlock()
				if r.IntN(3) == 0 {
					continue // not waited for: may or may not survive
				}
				last := first + uint64(n) - 1
				if err := l.WaitDurable(last); err != nil {
					t.Errorf("WaitDurable(%d): %v", last, err)
					return
				}
				mu.Lock()
				for s := first; s <= last; s++ {
					confirmed[s] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	fs.InjectError(nil)
	if clone == nil { // the workload ended first: crash after Close
		snapshot = confirmed
		clone = fs.CrashClone(crashRng)
		for s := range appended {
			snapshot[s] = true // Close synced everything
		}
	}

	r, recs := reopenCrashed(t, clone, o)
	st := r.Stats()
	if st.FirstSeq != 1 {
		t.Fatalf("FirstSeq %d", st.FirstSeq)
	}
	for seq := range snapshot {
		got, ok := recs[seq]
		want := appended[seq]
		if !ok || got.typ != want.typ || !bytes.Equal(got.data, want.data) {
			t.Fatalf("confirmed record %d lost or changed (present %v; LastSeq %d; %d confirmed)", seq, ok, st.LastSeq, len(snapshot))
		}
	}
	for seq, got := range recs {
		want, ok := appended[seq]
		if !ok || got.typ != want.typ || !bytes.Equal(got.data, want.data) {
			t.Fatalf("record %d was never appended with that content", seq)
		}
	}
	// The recovered log takes appends and stays consistent.
	if seq := mustAppend(t, r, 1, []byte("after")); seq != st.LastSeq+1 {
		t.Fatalf("Append after recovery got %d", seq)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	recs[st.LastSeq+1] = testRec{1, []byte("after")}
	st.LastSeq++
	checkRecoveryDurable(t, clone, o, seed, st, recs)
}

// crashOp describes the operation during which the crash image was taken.
type crashOp struct {
	kind    string // append, truncate, drop, reset, other
	arg     uint64
	newRecs []testRec // records being appended (append)
}

type crashModel struct {
	first, next, durable uint64
	recs                 map[uint64]testRec
}

func (m crashModel) clone() crashModel { m.recs = maps.Clone(m.recs); return m }

type crashSnap struct {
	m     crashModel
	op    crashOp
	clone *vfs.MemFS
}

// TestCrashSequentialOps runs a random single-goroutine workload of appends, batches,
// syncs, reads, iterations, DropBefore, TruncateFrom, Reset and close/reopen against an
// in-memory model, takes a crash image before a random file-system operation, and checks
// that the recovered log is one the operations allow: nothing confirmed durable is lost,
// nothing removed comes back, a Reset is all or nothing, and no record is invented.
func TestCrashSequentialOps(t *testing.T) {
	for seed := range uint64(seedCount(60, 15)) {
		total := crashSequential(t, seed, -1)
		rng := newRand(seed + 99)
		for range 8 {
			at := 1 + rng.Int64N(total)
			t.Run(fmt.Sprintf("seed%d/op%d", seed, at), func(t *testing.T) { crashSequential(t, seed, at) })
		}
	}
}

// crashSequential runs the workload of seed, crashing before file-system operation
// crashAt (never if -1), verifies the crash image, and returns the operations it counted.
func crashSequential(t *testing.T, seed uint64, crashAt int64) int64 {
	rng := newRand(seed)
	o := Options{
		MaxSegmentBytes: int64(200 + rng.IntN(1500)),
		IndexInterval:   16 << rng.IntN(6),
		LazyOpen:        rng.IntN(2) == 0,
	}
	fs := vfs.NewMem()
	m := crashModel{first: 1, next: 1, recs: map[uint64]testRec{}}
	var cur crashOp
	var snap *crashSnap
	var count int64
	crashRng := newRand(seed ^ uint64(crashAt))
	fs.InjectError(func(vfs.Op, string) error {
		count++
		if count == crashAt {
			snap = &crashSnap{m: m.clone(), op: cur, clone: fs.CrashClone(crashRng)}
		}
		return nil
	})
	cur = crashOp{kind: "other"}
	l := mustOpen(t, fs, testDir, o)
	newRec := func() testRec {
		return testRec{byte(rng.IntN(4)), payloadFor(rng.Uint64(), uint32(seed), rng.IntN(120))}
	}
	for step := 0; step < 120 && snap == nil; step++ {
		switch p := rng.IntN(100); {
		case p < 40:
			r := newRec()
			cur = crashOp{kind: "append", newRecs: []testRec{r}}
			seq := mustAppend(t, l, r.typ, r.data)
			if seq != m.next {
				t.Fatalf("Append got %d, model %d", seq, m.next)
			}
			m.recs[seq] = r
			m.next++
		case p < 50:
			n := 1 + rng.IntN(5)
			cur = crashOp{kind: "append"}
			var datas [][]byte
			typ := byte(rng.IntN(4))
			for range n {
				r := newRec()
				r.typ = typ
				cur.newRecs = append(cur.newRecs, r)
				datas = append(datas, r.data)
			}
			first, err := l.AppendBatch(typ, datas)
			if err != nil || first != m.next {
				t.Fatalf("AppendBatch = %d, %v; model %d", first, err, m.next)
			}
			for k, r := range cur.newRecs {
				m.recs[first+uint64(k)] = r
			}
			m.next += uint64(n)
		case p < 65:
			cur = crashOp{kind: "other"}
			if m.next == m.first {
				continue
			}
			seq := m.first + rng.Uint64N(m.next-m.first)
			if err := l.WaitDurable(seq); err != nil {
				t.Fatal(err)
			}
			m.durable = max(m.durable, seq)
		case p < 70:
			cur = crashOp{kind: "other"}
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			m.durable = max(m.durable, m.next-1)
		case p < 75:
			cur = crashOp{kind: "other"}
			if m.next > m.first {
				seq := m.first + rng.Uint64N(m.next-m.first)
				checkRecord(t, l, seq, m.recs[seq].typ, m.recs[seq].data)
			}
		case p < 80:
			s := m.first + rng.Uint64N(m.next-m.first+1)
			cur = crashOp{kind: "drop", arg: s}
			if err := l.DropBefore(s); err != nil {
				t.Fatal(err)
			}
			f := l.FirstSeq()
			if f < m.first || f > max(m.first, s) {
				t.Fatalf("DropBefore(%d): FirstSeq %d, was %d", s, f, m.first)
			}
			for q := m.first; q < f; q++ {
				delete(m.recs, q)
			}
			m.first = f
		case p < 88:
			s := m.first + rng.Uint64N(m.next-m.first+1)
			cur = crashOp{kind: "truncate", arg: s}
			if err := l.TruncateFrom(s); err != nil {
				t.Fatal(err)
			}
			for q := s; q < m.next; q++ {
				delete(m.recs, q)
			}
			if s < m.next {
				m.durable = s - 1 // documented: DurableSeq() == seq-1 afterwards
			}
			m.next = s
		case p < 91:
			n := 1 + rng.Uint64N(m.next+20)
			cur = crashOp{kind: "reset", arg: n}
			if err := l.Reset(n); err != nil {
				t.Fatal(err)
			}
			m = crashModel{first: n, next: n, durable: n - 1, recs: map[uint64]testRec{}}
		default:
			cur = crashOp{kind: "other"}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			m.durable = m.next - 1
			l = mustOpen(t, fs, testDir, o)
			if l.FirstSeq() != m.first || l.LastSeq() != m.next-1 {
				t.Fatalf("reopen: %+v, model first %d next %d", l.Stats(), m.first, m.next)
			}
		}
		if step%10 == 0 { // the whole log matches the model
			seqs, datas := collect(t, l, 0)
			if len(seqs) != int(m.next-m.first) {
				t.Fatalf("step %d: %d records, model %d..%d", step, len(seqs), m.first, m.next-1)
			}
			for i, s := range seqs {
				if !bytes.Equal(datas[i], m.recs[s].data) {
					t.Fatalf("step %d: record %d differs from the model", step, s)
				}
			}
		}
	}
	cur = crashOp{kind: "other"}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	fs.InjectError(nil)
	if snap != nil {
		verifyCrash(t, snap, o, seed)
	}
	return count
}

func verifyCrash(t *testing.T, snap *crashSnap, o Options, seed uint64) {
	t.Helper()
	S, X := snap.m, snap.op
	l, recs := reopenCrashed(t, snap.clone, o)
	st := l.Stats()
	defer func() {
		if t.Failed() {
			t.Logf("crash during %s(%d); model before: first %d next %d durable %d; recovered %+v", X.kind, X.arg, S.first, S.next, S.durable, st)
		}
	}()
	if X.kind == "reset" && st.FirstSeq == X.arg && st.LastSeq == X.arg-1 {
		l.Close()
		checkRecoveryDurable(t, snap.clone, o, seed, st, recs)
		return // the reset happened, entirely
	}
	minLast := S.durable
	switch X.kind {
	case "drop":
		if st.FirstSeq < S.first || st.FirstSeq > max(S.first, X.arg) {
			t.Fatalf("FirstSeq %d", st.FirstSeq)
		}
	case "truncate":
		minLast = min(S.durable, X.arg-1)
		fallthrough
	default:
		if st.FirstSeq != S.first {
			t.Fatalf("FirstSeq %d, want %d", st.FirstSeq, S.first)
		}
	}
	if st.LastSeq < minLast || st.LastSeq+1 < st.FirstSeq {
		t.Fatalf("LastSeq %d, but records up to %d were durable", st.LastSeq, minLast)
	}
	for seq, got := range recs {
		var want testRec
		switch {
		case seq < S.next:
			want = S.recs[seq]
		case X.kind == "append" && seq-S.next < uint64(len(X.newRecs)):
			want = X.newRecs[seq-S.next]
		default:
			t.Fatalf("record %d exists but was never appended", seq)
		}
		if got.typ != want.typ || !bytes.Equal(got.data, want.data) {
			t.Fatalf("record %d differs from the one appended (a removed record came back?)", seq)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	checkRecoveryDurable(t, snap.clone, o, seed, st, recs)
}

// TestCrashBeforeRollDirSync takes a crash image just before each directory sync (the
// moment a new segment file's entry is not yet durable) and just before each fsync,
// during a workload that confirms every record: all confirmed records survive.
func TestCrashBeforeRollDirSync(t *testing.T) {
	for _, op := range []vfs.Op{vfs.OpSyncDir, vfs.OpSync, vfs.OpCreate} {
		for k := int64(1); k <= 12; k++ {
			t.Run(fmt.Sprintf("%s#%d", op, k), func(t *testing.T) {
				fs := vfs.NewMem()
				o := Options{MaxSegmentBytes: 200}
				l := mustOpen(t, fs, testDir, o)
				var seen int64
				var clone *vfs.MemFS
				confirmed := 0
				var snap int
				fs.InjectError(func(o vfs.Op, _ string) error {
					if o == op {
						if seen++; seen == k {
							snap, clone = confirmed, fs.CrashClone(newRand(uint64(k)))
						}
					}
					return nil
				})
				for i := 1; i <= 40; i++ {
					seq := mustAppend(t, l, 0, payloadFor(uint64(i), 0, 60))
					if err := l.WaitDurable(seq); err != nil {
						t.Fatal(err)
					}
					confirmed = i
				}
				l.Close()
				fs.InjectError(nil)
				if clone == nil {
					t.Skip("fewer operations than k")
				}
				r, recs := reopenCrashed(t, clone, o)
				defer r.Close()
				for s := 1; s <= snap; s++ {
					if got, ok := recs[uint64(s)]; !ok || !bytes.Equal(got.data, payloadFor(uint64(s), 0, 60)) {
						t.Fatalf("confirmed record %d lost (%d confirmed, recovered %+v)", s, snap, r.Stats())
					}
				}
			})
		}
	}
}
