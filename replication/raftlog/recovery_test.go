package raftlog

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// buildLog writes n entries (the last one large enough for a 2-byte length field) with
// Commit n-1, syncs and closes.
func buildLog(t *testing.T, n int, segSize int) (string, []*raftpb.Entry) {
	t.Helper()
	dir := t.TempDir()
	s := mustOpen(t, dir, testOptions(segSize))
	r := rand.New(rand.NewPCG(7, uint64(n)))
	var ents []*raftpb.Entry
	for i := 1; i <= n; i++ {
		data := append([]byte{byte(i)}, randData(r, 60)...)
		if i == n {
			data = append(data, make([]byte, 150)...)
		}
		ents = append(ents, ent(uint64(i), 1+uint64(i/10), data))
	}
	for i := 0; i < n; i += 3 {
		must(t, s.Append(ents[i:min(i+3, n)]))
	}
	must(t, s.SetHardState(hardState(9, 1, uint64(n-1))))
	must(t, s.Sync())
	must(t, s.Close())
	return dir, ents
}

// relocate maps a path under dir to the same path under copy.
func relocate(t *testing.T, path, dir, copy string) string {
	rel, err := filepath.Rel(dir, path)
	must(t, err)
	return filepath.Join(copy, rel)
}

func checkEntries(t *testing.T, s *Storage, want []*raftpb.Entry) {
	t.Helper()
	if last, _ := s.LastIndex(); last != uint64(len(want)) {
		t.Fatalf("LastIndex %d, want %d", last, len(want))
	}
	got, err := s.Entries(1, uint64(len(want))+1, math.MaxUint64)
	must(t, err)
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i := range got {
		if !entriesEqual(got[i], want[i]) {
			t.Fatalf("entry %d = %v, want %v", i+1, got[i], want[i])
		}
	}
}

func TestTornTailEveryOffset(t *testing.T) {
	const n = 30
	opts := testOptions(1024)
	dir, ents := buildLog(t, n, 1024)
	segs := segmentsOf(t, dir)
	if len(segs) < 2 {
		t.Fatalf("want several segments, have %d", len(segs))
	}
	data, err := os.ReadFile(segs[len(segs)-1].path)
	must(t, err)
	offs := frameOffsets(t, data)
	if len(offs) < 3 {
		t.Fatalf("last segment holds %d records, want >= 2", len(offs)-1)
	}
	recStart, recEnd := offs[len(offs)-2], offs[len(offs)-1]
	for cut := recStart; cut < recEnd; cut++ {
		d := copyDir(t, dir)
		path := relocate(t, segs[len(segs)-1].path, dir, d)
		must(t, os.Truncate(path, int64(cut)))
		s, err := Open(d, opts)
		if err != nil {
			t.Fatalf("cut at %d (record %d..%d): Open: %v", cut, recStart, recEnd, err)
		}
		rep := s.Stats().Recovery
		if rep.TornBytes != int64(cut-recStart) {
			t.Fatalf("cut at %d: reported %d torn bytes, want %d", cut, rep.TornBytes, cut-recStart)
		}
		if cut > recStart && (rep.TornFile != path || rep.TornOffset != int64(recStart)) {
			t.Fatalf("cut at %d: report %+v", cut, rep)
		}
		checkEntries(t, s, ents[:n-1])
		if fi, err := os.Stat(path); err != nil || fi.Size() != int64(recStart) {
			t.Fatalf("cut at %d: file not truncated to %d: %v %v", cut, recStart, fi.Size(), err)
		}
		// The log goes on: the dropped entry can be written again.
		must(t, s.Append(ents[n-1:]))
		must(t, s.Sync())
		must(t, s.Close())
		s = mustOpen(t, d, opts)
		checkEntries(t, s, ents)
		if tb := s.Stats().Recovery.TornBytes; tb != 0 {
			t.Fatalf("cut at %d: second Open found %d torn bytes", cut, tb)
		}
		must(t, s.Close())
	}
}

func TestZeroTail(t *testing.T) {
	const n = 30
	opts := testOptions(1024)
	dir, ents := buildLog(t, n, 1024)
	segs := segmentsOf(t, dir)
	last := segs[len(segs)-1].path
	for _, zeros := range []int{1, 2, 9, 100, 5000} {
		d := copyDir(t, dir)
		path := relocate(t, last, dir, d)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		must(t, err)
		_, err = f.Write(make([]byte, zeros))
		must(t, err)
		must(t, f.Close())
		s, err := Open(d, opts)
		if err != nil {
			t.Fatalf("%d zero bytes: %v", zeros, err)
		}
		if rep := s.Stats().Recovery; rep.TornBytes != int64(zeros) || !strings.Contains(rep.TornReason, "zero") {
			t.Fatalf("%d zero bytes: report %+v", zeros, rep)
		}
		checkEntries(t, s, ents)
		must(t, s.Close())
	}

	// The final record's payload never written (length field present, zeros after it).
	d := copyDir(t, dir)
	path := relocate(t, last, dir, d)
	data, err := os.ReadFile(path)
	must(t, err)
	offs := frameOffsets(t, data)
	recStart := offs[len(offs)-2]
	n0 := uvarintLen(uint64(len(data) - recStart))
	_ = n0
	_, nlen := uvarintDecode(data[recStart:])
	clear(data[recStart+nlen:])
	must(t, os.WriteFile(path, data, 0o640))
	s, err := Open(d, opts)
	if err != nil {
		t.Fatalf("zeroed final payload: %v", err)
	}
	if rep := s.Stats().Recovery; rep.TornBytes != int64(len(data)-recStart) {
		t.Fatalf("zeroed final payload: report %+v", rep)
	}
	checkEntries(t, s, ents[:n-1])
	must(t, s.Close())
}

// flipPositions returns the bit positions to flip in the record data[rec:next]: every
// bit of its length field, checksum and version byte, and a sample of its entry bytes.
func flipPositions(data []byte, rec, next int) [][2]int {
	_, n := uvarintDecode(data[rec:])
	var pos [][2]int
	for b := rec; b < rec+n+recordPrefix; b++ {
		for bit := 0; bit < 8; bit++ {
			pos = append(pos, [2]int{b, bit})
		}
	}
	for b := rec + n + recordPrefix; b < next; b += 5 {
		pos = append(pos, [2]int{b, b % 8})
	}
	return pos
}

func TestBitFlipsFailOpen(t *testing.T) {
	const n = 40
	opts := testOptions(700)
	dir, _ := buildLog(t, n, 700)
	segs := segmentsOf(t, dir)
	if len(segs) < 3 {
		t.Fatalf("want >= 3 segments, have %d", len(segs))
	}
	type target struct {
		name string
		seg  segFile
		rec  int // record number in the segment; -1 = last
	}
	lastSeg := segs[len(segs)-1]
	targets := []target{
		{"sealed segment, middle record", segs[0], 2},
		{"sealed segment, last record", segs[1], -1},
		{"last segment, first record", lastSeg, 0},
		{"last segment, last complete record", lastSeg, -1},
	}
	flips := 0
	for _, tg := range targets {
		data, err := os.ReadFile(tg.seg.path)
		must(t, err)
		offs := frameOffsets(t, data)
		k := tg.rec
		if k < 0 {
			k = len(offs) - 2
		}
		if k+1 >= len(offs) {
			t.Fatalf("%s: segment has %d records", tg.name, len(offs)-1)
		}
		for _, p := range flipPositions(data, offs[k], offs[k+1]) {
			d := copyDir(t, dir)
			path := relocate(t, tg.seg.path, dir, d)
			b := append([]byte(nil), data...)
			b[p[0]] ^= 1 << p[1]
			must(t, os.WriteFile(path, b, 0o640))
			s, err := Open(d, opts)
			if err == nil {
				s.Close()
				t.Fatalf("%s: flip of bit %d at offset %d: Open succeeded", tg.name, p[1], p[0])
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Fatalf("%s: flip of bit %d at offset %d: error %v does not name %s as corrupt", tg.name, p[1], p[0], err, path)
			}
			// Nothing was repaired: the file is as the flip left it.
			if got, _ := os.ReadFile(path); string(got) != string(b) {
				t.Fatalf("%s: flip at %d: Open modified the damaged file", tg.name, p[0])
			}
			flips++
		}
	}
	t.Logf("%d bit flips, all refused", flips)
}

func TestStateFileDamageFailsOpen(t *testing.T) {
	opts := testOptions(1024)
	dir, _ := buildLog(t, 10, 1024)
	state, err := os.ReadFile(filepath.Join(dir, stateFile))
	must(t, err)
	for i := range state {
		d := copyDir(t, dir)
		b := append([]byte(nil), state...)
		b[i] ^= 0x10
		must(t, os.WriteFile(filepath.Join(d, stateFile), b, 0o640))
		if s, err := Open(d, opts); err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), stateFile) {
			if s != nil {
				s.Close()
			}
			t.Fatalf("flip at %d: %v", i, err)
		}
	}
	for name, mutate := range map[string]func(d string){
		"empty state file":   func(d string) { must(t, os.WriteFile(filepath.Join(d, stateFile), nil, 0o640)) },
		"missing state file": func(d string) { must(t, os.Remove(filepath.Join(d, stateFile))) },
		"truncated state":    func(d string) { must(t, os.WriteFile(filepath.Join(d, stateFile), state[:len(state)-3], 0o640)) },
	} {
		d := copyDir(t, dir)
		mutate(d)
		if s, err := Open(d, opts); err == nil || !errors.Is(err, ErrCorrupt) {
			if s != nil {
				s.Close()
			}
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestStructuralDamageFailsOpen(t *testing.T) {
	opts := testOptions(700)
	dir, ents := buildLog(t, 40, 700)
	segs := segmentsOf(t, dir)
	walDir := filepath.Dir(segs[0].path)
	cases := map[string]func(d string){
		"missing middle segment": func(d string) { must(t, os.Remove(relocate(t, segs[1].path, dir, d))) },
		"empty middle segment":   func(d string) { must(t, os.Truncate(relocate(t, segs[1].path, dir, d), 0)) },
		"missing first segment":  func(d string) { must(t, os.Remove(relocate(t, segs[0].path, dir, d))) },
		"missing log directory":  func(d string) { must(t, os.RemoveAll(relocate(t, walDir, dir, d))) },
		"tidwall START leftover": func(d string) {
			must(t, os.WriteFile(filepath.Join(relocate(t, walDir, dir, d), segmentName(5)+".START"), nil, 0o640))
		},
		"swapped segments": func(d string) {
			a, b := relocate(t, segs[0].path, dir, d), relocate(t, segs[1].path, dir, d)
			da, _ := os.ReadFile(a)
			db, _ := os.ReadFile(b)
			must(t, os.WriteFile(a, db, 0o640))
			must(t, os.WriteFile(b, da, 0o640))
		},
		"garbage appended": func(d string) {
			p := relocate(t, segs[len(segs)-1].path, dir, d)
			b, _ := os.ReadFile(p)
			must(t, os.WriteFile(p, append(b, 0x20, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32), 0o640))
		},
		// A 4 GiB length field: never believed, never allocated.
		"4 GiB length, middle record": func(d string) { hugeLength(t, relocate(t, segs[len(segs)-1].path, dir, d), 1) },
		"4 GiB length, last record":   func(d string) { hugeLength(t, relocate(t, segs[len(segs)-1].path, dir, d), -1) },
		// Commit says entry 39 was acknowledged; losing it entirely is not a torn tail.
		"committed entry missing": func(d string) {
			p := relocate(t, segs[len(segs)-1].path, dir, d)
			b, _ := os.ReadFile(p)
			offs := frameOffsets(t, b)
			must(t, os.Truncate(p, int64(offs[len(offs)-3])))
		},
	}
	for name, mutate := range cases {
		d := copyDir(t, dir)
		mutate(d)
		s, err := Open(d, opts)
		if err == nil {
			s.Close()
			t.Fatalf("%s: Open succeeded", name)
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s: %v is not ErrCorrupt", name, err)
		}
		t.Logf("%s: %v", name, err)
	}

	// Not damage: an empty segment after the last (tidwall/wal started it just before a
	// crash) is a valid, empty tail.
	d := copyDir(t, dir)
	last := ents[len(ents)-1].GetIndex()
	must(t, os.WriteFile(filepath.Join(relocate(t, walDir, dir, d), segmentName(last+1)), nil, 0o640))
	s := mustOpen(t, d, opts)
	checkEntries(t, s, ents)
	must(t, s.Append([]*raftpb.Entry{ent(last+1, 9, []byte("next"))}))
	must(t, s.Sync())
	checkTail(t, s)
	must(t, s.Close())
}

func TestInterruptedOperationsComplete(t *testing.T) {
	opts := testOptions(700)
	dir, ents := buildLog(t, 40, 700)
	segs := segmentsOf(t, dir)
	walDir := filepath.Dir(segs[0].path)

	// Compact: the state file says 30 is compacted, the segments below are still there.
	saved := map[string][]byte{}
	for _, seg := range segs {
		b, err := os.ReadFile(seg.path)
		must(t, err)
		saved[seg.path] = b
	}
	s := mustOpen(t, dir, opts)
	must(t, s.Compact(30))
	must(t, s.Close())
	restored := 0
	for path, b := range saved {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			must(t, os.WriteFile(path, b, 0o640))
			restored++
		}
	}
	if restored == 0 {
		t.Fatal("Compact(30) removed no segment")
	}
	// Leftovers of an unfinished state write and of a crashed snapshot installation.
	must(t, os.WriteFile(filepath.Join(dir, stateTmpFile), []byte("partial"), 0o640))
	newer := filepath.Join(dir, walDirName(2))
	must(t, os.Mkdir(newer, 0o750))
	must(t, os.WriteFile(filepath.Join(newer, segmentName(77)), []byte{0x20}, 0o640))

	s = mustOpen(t, dir, opts)
	rep := s.Stats().Recovery
	if rep.RemovedSegments != restored || rep.RemovedTempFiles != 1 || len(rep.RemovedEpochDirs) != 1 {
		t.Fatalf("recovery report %+v, want %d segments, 1 temp file, 1 epoch dir removed", rep, restored)
	}
	if first, _ := s.FirstIndex(); first != 31 {
		t.Fatalf("FirstIndex %d, want 31", first)
	}
	if term, err := s.Term(30); err != nil || term != ents[29].GetTerm() {
		t.Fatalf("Term(30) = %d, %v", term, err)
	}
	got, err := s.Entries(31, 41, math.MaxUint64)
	must(t, err)
	for i, e := range got {
		if !entriesEqual(e, ents[30+i]) {
			t.Fatalf("entry %d differs", 31+i)
		}
	}
	must(t, s.Close())
	if _, err := os.Stat(newer); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("uncommitted epoch directory still there: %v", err)
	}
	_ = walDir

	// A newer epoch directory holding real data is not ours to remove.
	d := copyDir(t, dir)
	big := filepath.Join(d, walDirName(5))
	must(t, os.Mkdir(big, 0o750))
	must(t, os.WriteFile(filepath.Join(big, segmentName(1)), make([]byte, 10000), 0o640))
	if s, err := Open(d, opts); err == nil {
		s.Close()
		t.Fatal("Open removed a newer log directory holding data")
	}
}

func uvarintDecode(b []byte) (uint64, int) {
	var x uint64
	for i, c := range b {
		if i == 10 {
			return 0, -1
		}
		x |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}

// TestTornLargeRandomEntry: a torn tail of a large entry of random bytes (which holds
// many byte sequences that parse as frames) is still recognized as torn, quickly.
func TestTornLargeRandomEntry(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(4 << 20)
	s := mustOpen(t, dir, opts)
	r := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 512<<10)
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	ents := []*raftpb.Entry{ent(1, 1, []byte("first")), ent(2, 1, big)}
	must(t, s.Append(ents))
	must(t, s.SetHardState(hardState(1, 1, 1)))
	must(t, s.Close())
	seg := segmentsOf(t, dir)[0]
	data, err := os.ReadFile(seg.path)
	must(t, err)
	offs := frameOffsets(t, data)
	for _, cut := range []int{offs[1] + 1, offs[1] + 3, offs[1] + 100, offs[1] + 4096, (offs[1] + offs[2]) / 2, offs[2] - 1} {
		d := copyDir(t, dir)
		path := relocate(t, seg.path, dir, d)
		must(t, os.Truncate(path, int64(cut)))
		s, err := Open(d, opts)
		if err != nil {
			t.Fatalf("cut at %d of %d: %v", cut, offs[2], err)
		}
		checkEntries(t, s, ents[:1])
		must(t, s.Close())
	}
}

// hugeLength replaces the length field of record k (-1: the last) of a segment file with
// 4 GiB.
func hugeLength(t *testing.T, path string, k int) {
	b, err := os.ReadFile(path)
	must(t, err)
	offs := frameOffsets(t, b)
	if k < 0 {
		k = len(offs) - 2
	}
	_, n := uvarintDecode(b[offs[k]:])
	out := append([]byte(nil), b[:offs[k]]...)
	out = append(out, 0x80, 0x80, 0x80, 0x80, 0x10) // uvarint 1<<32
	out = append(out, b[offs[k]+n:]...)
	must(t, os.WriteFile(path, out, 0o640))
}
