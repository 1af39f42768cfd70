package raftlog

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

func TestRestartByteIdentical(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: 4096, Logger: quietLogger} // real fsyncs
	s := mustOpen(t, dir, opts)
	r := rand.New(rand.NewPCG(3, 4))
	var log []*raftpb.Entry // log[i] has index i+1
	term := uint64(1)
	types := []raftpb.EntryType{raftpb.EntryNormal, raftpb.EntryConfChange, raftpb.EntryConfChangeV2}
	for round := 0; round < 60; round++ {
		start := uint64(len(log)) + 1
		if round%7 == 6 && len(log) > 10 {
			start = uint64(len(log)) - uint64(r.IntN(8)) // conflicting suffix from a new leader
			term++
		}
		var batch []*raftpb.Entry
		for k := 0; k < 1+r.IntN(10); k++ {
			e := ent(start+uint64(k), term, randData(r, 3000))
			e.Type = types[r.IntN(len(types))].Enum()
			batch = append(batch, e)
		}
		must(t, s.Append(batch))
		log = append(log[:start-1], batch...)
		must(t, s.SetHardState(hardState(term, 1, uint64(max(len(log)-10, 0)))))
		must(t, s.Sync())
	}
	if segs := segmentsOf(t, dir); len(segs) < 10 {
		t.Fatalf("only %d segments", len(segs))
	}
	crashed := copyDir(t, dir) // synced, not closed
	hs, _, _ := s.InitialState()
	must(t, s.Close())
	for _, d := range []string{dir, crashed} {
		s := mustOpen(t, d, opts)
		checkEntries(t, s, log)
		for i, e := range log {
			if term, err := s.Term(uint64(i + 1)); err != nil || term != e.GetTerm() {
				t.Fatalf("Term(%d) = %d, %v", i+1, term, err)
			}
		}
		got, _, err := s.InitialState()
		must(t, err)
		if got.GetTerm() != hs.GetTerm() || got.GetVote() != hs.GetVote() {
			t.Fatalf("%s: HardState %v, want term/vote of %v", d, got, hs)
		}
		if d == dir && got.GetCommit() != hs.GetCommit() {
			t.Fatalf("after Close: commit %d, want %d", got.GetCommit(), hs.GetCommit())
		}
		must(t, s.Close())
	}
}

// TestHardStateDurability checks what survives a process crash: Term/Vote once Sync
// returned; Commit alone through the commit hint (written, not synced).
func TestHardStateDurability(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(1024)
	s := mustOpen(t, dir, opts)
	defer func() { s.Close() }()
	crashState := func() *raftpb.HardState {
		t.Helper()
		c := mustOpen(t, copyDir(t, dir), opts)
		defer c.Close()
		hs, _, err := c.InitialState()
		must(t, err)
		return hs
	}
	same := func(hs *raftpb.HardState, term, vote, commit uint64) {
		t.Helper()
		if hs.GetTerm() != term || hs.GetVote() != vote || hs.GetCommit() != commit {
			t.Fatalf("recovered %v, want term %d vote %d commit %d", hs, term, vote, commit)
		}
	}
	var ents []*raftpb.Entry
	for i := uint64(1); i <= 8; i++ {
		ents = append(ents, ent(i, 2, []byte("x")))
	}
	must(t, s.Append(ents[:5]))
	must(t, s.SetHardState(hardState(2, 1, 3)))
	must(t, s.Sync())
	same(crashState(), 2, 1, 3)

	// A Ready with entries and a Commit change: one fsync, no state file, no dir fsync.
	before := s.Stats()
	must(t, s.Append(ents[5:6]))
	must(t, s.SetHardState(hardState(2, 1, 5)))
	must(t, s.Sync())
	after := s.Stats()
	if after.FileSyncs-before.FileSyncs != 1 || after.DirSyncs != before.DirSyncs || after.StateWrites != before.StateWrites {
		t.Fatalf("entries+commit Ready cost %d file fsyncs, %d dir fsyncs, %d state writes; want 1, 0, 0",
			after.FileSyncs-before.FileSyncs, after.DirSyncs-before.DirSyncs, after.StateWrites-before.StateWrites)
	}
	same(crashState(), 2, 1, 5) // the commit hint

	// A Ready with only a Commit change (MustSync false): no fsync, no state file.
	before = s.Stats()
	must(t, s.SetHardState(hardState(2, 1, 6)))
	if after := s.Stats(); after.FileSyncs != before.FileSyncs || after.StateWrites != before.StateWrites {
		t.Fatal("commit-only SetHardState synced")
	}
	same(crashState(), 2, 1, 6)
	if st, err := decodeStateFile(dir); err != nil || st.hs.GetCommit() != 3 {
		t.Fatalf("state file commit %d, %v; want 3 (not rewritten)", st.hs.GetCommit(), err)
	}

	must(t, s.SetHardState(hardState(3, 2, 6))) // a vote: not durable until Sync
	same(crashState(), 2, 1, 6)
	must(t, s.Sync())
	same(crashState(), 3, 2, 6)

	// A hint that is damaged, or beyond the recovered log (its entries were not synced
	// at a power loss), is ignored: Commit falls back to the state file's.
	for name, hint := range map[string][]byte{
		"beyond the log": encodeCommitHint(99),
		"damaged":        append(encodeCommitHint(6)[:15], 0),
		"empty":          nil,
	} {
		d := copyDir(t, dir)
		must(t, os.WriteFile(filepath.Join(d, commitFile), hint, 0o640))
		c := mustOpen(t, d, opts)
		hs, _, _ := c.InitialState()
		if hs.GetCommit() != 6 || c.Stats().Recovery.CommitHintUsed {
			t.Fatalf("%s hint: recovered commit %d, report %+v", name, hs.GetCommit(), c.Stats().Recovery)
		}
		c.Close()
	}

	must(t, s.Append(ents[6:8]))
	must(t, s.SetHardState(hardState(3, 2, 8)))
	must(t, s.Close())
	s = mustOpen(t, dir, opts)
	hs, _, _ := s.InitialState()
	same(hs, 3, 2, 8) // Close writes the Commit
}

type syncEvent struct {
	dir, reason string
	segments    int // segment files in the log directory when the fsync was issued
}

func TestDirSyncs(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(512)
	var events []syncEvent
	var s *Storage
	opts.hooks = &hooks{dirSync: func(d, reason string) {
		n := -1
		if s != nil {
			if segs, err := s.listSegments(s.walDir); err == nil {
				n = len(segs)
			}
		}
		events = append(events, syncEvent{filepath.Base(d), reason, n})
	}}
	take := func() []syncEvent { e := events; events = nil; return e }
	has := func(evs []syncEvent, reason string) bool {
		return slices.ContainsFunc(evs, func(e syncEvent) bool { return e.reason == reason })
	}

	var err error
	s, err = Open(dir, opts)
	must(t, err)
	defer func() { s.Close() }()
	if ev := take(); !has(ev, "segment created") || !has(ev, "create") || !has(ev, "state: create") {
		t.Fatalf("creating a log: directory fsyncs %v", ev)
	}

	payload := make([]byte, 40)
	next, term := uint64(1), uint64(1)
	appendN := func(n int) {
		t.Helper()
		var b []*raftpb.Entry
		for k := 0; k < n; k++ {
			b = append(b, ent(next, term, payload))
			next++
		}
		must(t, s.Append(b))
	}

	appendN(2)
	must(t, s.SetHardState(hardState(1, 1, 1)))
	must(t, s.Sync())
	if ev := take(); len(ev) != 1 || ev[0].reason != "state: hard state" || ev[0].dir != filepath.Base(dir) {
		t.Fatalf("term change: directory fsyncs %v, want one of the storage directory", ev)
	}
	appendN(3)
	must(t, s.Sync())
	if ev := take(); len(ev) != 0 {
		t.Fatalf("append within a segment: directory fsyncs %v", ev)
	}

	// tidwall/wal creates segment files: the next Sync fsyncs the directory, after the file exists.
	segsBefore := len(segmentsOf(t, dir))
	appendN(30)
	if ev := take(); len(ev) != 0 {
		t.Fatalf("Append fsynced the directory: %v", ev)
	}
	must(t, s.Sync())
	segsAfter := len(segmentsOf(t, dir))
	ev := take()
	if segsAfter <= segsBefore || len(ev) != 1 || ev[0].reason != "segment created" || ev[0].segments != segsAfter {
		t.Fatalf("segments %d -> %d; Sync's directory fsyncs %v", segsBefore, segsAfter, ev)
	}
	checkTail(t, s)

	// A conflicting suffix reaching back into an earlier segment: files removed, each
	// removal fsynced before Append returns.
	segs := segmentsOf(t, dir)
	at := segs[len(segs)-3].start + 1
	next, term = at, 2
	must(t, s.Append([]*raftpb.Entry{ent(next, term, payload)}))
	next++
	ev = take()
	removed := 0
	for _, e := range ev {
		if e.reason == "truncate: segment removed" {
			removed++
		}
	}
	if removed != 2 || !has(ev, "truncate") {
		t.Fatalf("truncation removing 2 segments: directory fsyncs %v", ev)
	}
	must(t, s.Sync())
	take()
	checkTail(t, s)

	// Compact: the state file first, then the removal of old segments.
	appendN(20)
	must(t, s.SetHardState(hardState(2, 1, next-1)))
	must(t, s.Sync())
	take()
	segs = segmentsOf(t, dir)
	must(t, s.Compact(segs[len(segs)-1].start))
	ev = take()
	if len(ev) < 2 || ev[0].reason != "state: compact" || ev[len(ev)-1].reason != "compact: segments removed" {
		t.Fatalf("Compact: directory fsyncs %v", ev)
	}
	if n := len(segmentsOf(t, dir)); n != 1 {
		t.Fatalf("%d segments after Compact, want 1 (the one holding the compaction point)", n)
	}

	// ApplySnapshot: new log directory, its parent, the state file, the old directory's removal.
	must(t, s.ApplySnapshot(&raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: new(next + 100), Term: new(uint64(3))}}))
	ev = take()
	var reasons []string
	for _, e := range ev {
		reasons = append(reasons, e.dir+":"+e.reason)
	}
	want := []string{
		walDirName(2) + ":segment created",
		filepath.Base(dir) + ":snapshot: log directory created",
		filepath.Base(dir) + ":state: snapshot",
		filepath.Base(dir) + ":snapshot: old log directory removed",
	}
	if !slices.Equal(reasons, want) {
		t.Fatalf("ApplySnapshot: directory fsyncs %v, want %v", reasons, want)
	}
}

// TestSegmentCreatedAtEndOfBatch: tidwall/wal starts a new segment right after the record
// that fills one, even at the end of a batch. Nothing is in the new file yet, so that
// Sync need not fsync the directory; the Sync after the first record goes there must.
func TestSegmentCreatedAtEndOfBatch(t *testing.T) {
	dir := t.TempDir()
	e := ent(1, 1, make([]byte, 50))
	p, err := appendPayload(nil, e)
	must(t, err)
	rec := uvarintLen(uint64(len(p))) + len(p)
	opts := testOptions(3 * rec)
	var reasons []string
	opts.hooks = &hooks{dirSync: func(_, reason string) { reasons = append(reasons, reason) }}
	s := mustOpen(t, dir, opts)
	defer s.Close()
	reasons = nil
	for i := uint64(1); i <= 4; i++ {
		must(t, s.Append([]*raftpb.Entry{ent(i, 1, make([]byte, 50))}))
		must(t, s.Sync())
		checkTail(t, s)
		segs := segmentsOf(t, dir)
		switch i {
		case 3:
			if len(segs) != 2 || len(reasons) != 0 {
				t.Fatalf("after entry 3: %d segments, directory fsyncs %v; want 2 (the new one empty), none", len(segs), reasons)
			}
		case 4:
			if len(segs) != 2 || !slices.Equal(reasons, []string{"segment created"}) {
				t.Fatalf("after entry 4: %d segments, directory fsyncs %v", len(segs), reasons)
			}
		}
	}
}

func TestFailureLatches(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(1024)
	var failing atomic.Bool
	injected := errors.New("injected EIO")
	opts.hooks = &hooks{syncErr: func() error {
		if failing.Load() {
			return injected
		}
		return nil
	}}
	s := mustOpen(t, dir, opts)
	var ents []*raftpb.Entry
	for i := uint64(1); i <= 4; i++ {
		ents = append(ents, ent(i, 1, []byte(fmt.Sprint("entry ", i))))
	}
	must(t, s.Append(ents[:3]))
	must(t, s.SetHardState(hardState(1, 1, 2)))
	must(t, s.Sync())
	must(t, s.Append(ents[3:]))
	failing.Store(true)
	err := s.Sync()
	if !errors.Is(err, ErrFailed) || !errors.Is(err, injected) {
		t.Fatalf("Sync with a failing fsync: %v", err)
	}
	failing.Store(false) // a retried fsync would now "succeed": it must not be tried
	fsyncs := s.Stats().FileSyncs
	calls := map[string]func() error{
		"Sync":         s.Sync,
		"Append":       func() error { return s.Append([]*raftpb.Entry{ent(5, 1, nil)}) },
		"SetHardState": func() error { return s.SetHardState(hardState(1, 1, 3)) },
		"SetConfState": func() error { return s.SetConfState(&raftpb.ConfState{Voters: []uint64{1}}) },
		"Compact":      func() error { return s.Compact(2) },
		"ApplySnapshot": func() error {
			return s.ApplySnapshot(&raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(9))}})
		},
		"Entries":      func() error { _, err := s.Entries(1, 2, math.MaxUint64); return err },
		"Term":         func() error { _, err := s.Term(1); return err },
		"FirstIndex":   func() error { _, err := s.FirstIndex(); return err },
		"LastIndex":    func() error { _, err := s.LastIndex(); return err },
		"InitialState": func() error { _, _, err := s.InitialState(); return err },
		"Snapshot":     func() error { _, err := s.Snapshot(); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrFailed) || !errors.Is(err, injected) {
			t.Fatalf("%s after a failure: %v", name, err)
		}
	}
	if s.Stats().FileSyncs != fsyncs {
		t.Fatal("fsync retried after a failure")
	}
	if err := s.Close(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Close after a failure: %v", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	// Reopening recovers from what is on disk.
	s = mustOpen(t, dir, opts)
	defer s.Close()
	got, err := s.Entries(1, 4, math.MaxUint64)
	must(t, err)
	for i := range got {
		if !entriesEqual(got[i], ents[i]) {
			t.Fatalf("entry %d lost", i+1)
		}
	}
}

func TestInvalidArgumentsDoNotLatch(t *testing.T) {
	s := mustOpen(t, t.TempDir(), testOptions(1024))
	defer s.Close()
	must(t, s.Append([]*raftpb.Entry{ent(1, 2, nil), ent(2, 2, nil), ent(3, 2, nil)}))
	must(t, s.SetHardState(hardState(2, 1, 2)))
	bad := map[string]error{
		"gap":                   s.Append([]*raftpb.Entry{ent(5, 2, nil)}),
		"not consecutive":       s.Append([]*raftpb.Entry{ent(4, 2, nil), ent(6, 2, nil)}),
		"term goes down":        s.Append([]*raftpb.Entry{ent(4, 1, nil)}),
		"replaces committed":    s.Append([]*raftpb.Entry{ent(2, 3, nil)}),
		"commit beyond log":     s.SetHardState(hardState(2, 1, 4)),
		"compact beyond commit": s.Compact(3),
		"compact beyond log":    s.Compact(9),
		"snapshot below commit": s.ApplySnapshot(&raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: new(uint64(1)), Term: new(uint64(2))}}),
	}
	for name, err := range bad {
		if err == nil || errors.Is(err, ErrFailed) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := s.Entries(2, 1, math.MaxUint64); err == nil {
		t.Fatal("Entries(2, 1): no error")
	}
	if _, err := s.Entries(1, 9, math.MaxUint64); !errors.Is(err, raft.ErrUnavailable) {
		t.Fatalf("Entries beyond the last index: %v", err)
	}
	must(t, s.Append([]*raftpb.Entry{ent(3, 3, []byte("new leader")), ent(4, 3, nil)}))
	must(t, s.Sync())
	if term, _ := s.Term(3); term != 3 {
		t.Fatalf("Term(3) = %d", term)
	}
}

func TestSnapshotInstall(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(512)
	s := mustOpen(t, dir, opts)
	if snap, err := s.Snapshot(); err != nil || !raft.IsEmptySnap(snap) {
		t.Fatalf("Snapshot of a new log: %v, %v", snap, err)
	}
	var ents []*raftpb.Entry
	for i := uint64(1); i <= 40; i++ {
		ents = append(ents, ent(i, 1, make([]byte, 30)))
	}
	must(t, s.Append(ents))
	must(t, s.SetHardState(hardState(1, 1, 10)))
	must(t, s.Sync())
	cs := &raftpb.ConfState{Voters: []uint64{1, 2, 3}, Learners: []uint64{4}}
	meta := &raftpb.SnapshotMetadata{Index: new(uint64(100)), Term: new(uint64(7)), ConfState: cs}
	must(t, s.ApplySnapshot(&raftpb.Snapshot{Metadata: meta, Data: []byte("application state")}))
	if err := s.ApplySnapshot(&raftpb.Snapshot{Metadata: meta}); !errors.Is(err, raft.ErrSnapOutOfDate) {
		t.Fatalf("same snapshot again: %v", err)
	}
	check := func(s *Storage, last uint64) {
		t.Helper()
		first, _ := s.FirstIndex()
		l, _ := s.LastIndex()
		term, err := s.Term(100)
		if first != 101 || l != last || err != nil || term != 7 {
			t.Fatalf("FirstIndex %d LastIndex %d Term(100) %d %v", first, l, term, err)
		}
		if _, err := s.Term(99); !errors.Is(err, raft.ErrCompacted) {
			t.Fatalf("Term(99): %v", err)
		}
		if _, err := s.Entries(100, 101, math.MaxUint64); !errors.Is(err, raft.ErrCompacted) {
			t.Fatalf("Entries(100, 101): %v", err)
		}
		hs, gotCS, err := s.InitialState()
		must(t, err)
		if hs.GetCommit() < 100 || !proto.Equal(gotCS, raftpb.EnsureConfState(proto.Clone(cs).(*raftpb.ConfState))) {
			t.Fatalf("InitialState %v %v", hs, gotCS)
		}
		m, err := s.SnapshotMetadata()
		must(t, err)
		if m.GetIndex() != 100 || m.GetTerm() != 7 {
			t.Fatalf("SnapshotMetadata %v", m)
		}
		if _, err := s.Snapshot(); !errors.Is(err, raft.ErrSnapshotTemporarilyUnavailable) {
			t.Fatalf("Snapshot: %v", err)
		}
	}
	check(s, 100)
	if _, err := s.Entries(101, 101, math.MaxUint64); !errors.Is(err, raft.ErrUnavailable) {
		t.Fatalf("Entries on an empty log: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, walDirName(1))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old log directory still there: %v", err)
	}
	var more []*raftpb.Entry
	for i := uint64(101); i <= 130; i++ {
		more = append(more, ent(i, 7, make([]byte, 30)))
	}
	must(t, s.Append(more))
	must(t, s.Sync())
	must(t, s.Close())
	s = mustOpen(t, dir, opts)
	defer s.Close()
	check(s, 130)
	got, err := s.Entries(101, 131, math.MaxUint64)
	must(t, err)
	for i := range got {
		if !entriesEqual(got[i], more[i]) {
			t.Fatalf("entry %d differs", 101+i)
		}
	}
}

// TestConcurrentReaders runs raft.Storage readers against a writer (appends, syncs,
// compactions); run with -race.
func TestConcurrentReaders(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{NoSync: true, SegmentSize: 2048, CacheBytes: 4096, Logger: quietLogger})
	defer s.Close()
	data := func(i uint64) []byte { return []byte(fmt.Sprintf("entry-%d", i)) }
	done := make(chan struct{})
	var wg sync.WaitGroup
	var readErr atomic.Value
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for n := 0; n < 100000; n++ {
				select {
				case <-done:
					return
				default:
				}
				first, err1 := s.FirstIndex()
				last, err2 := s.LastIndex()
				if err := errors.Join(err1, err2); err != nil {
					readErr.Store(err)
					return
				}
				if last < first {
					continue
				}
				lo := first + r.Uint64N(last-first+1)
				ents, err := s.Entries(lo, last+1, 1<<12)
				if errors.Is(err, raft.ErrCompacted) || errors.Is(err, raft.ErrUnavailable) {
					continue
				}
				if err != nil {
					readErr.Store(err)
					return
				}
				for k, e := range ents {
					if e.GetIndex() != lo+uint64(k) || string(e.Data) != string(data(e.GetIndex())) {
						readErr.Store(fmt.Errorf("entry %d: %v", lo+uint64(k), e))
						return
					}
				}
				if _, err := s.Term(lo); err != nil && !errors.Is(err, raft.ErrCompacted) {
					readErr.Store(err)
					return
				}
			}
		}(g)
	}
	var next uint64 = 1
	for round := 0; round < 300; round++ {
		var b []*raftpb.Entry
		for k := 0; k < 5; k++ {
			b = append(b, ent(next, 1, data(next)))
			next++
		}
		must(t, s.Append(b))
		must(t, s.SetHardState(hardState(1, 1, next-1)))
		must(t, s.Sync())
		if round%40 == 39 {
			must(t, s.Compact(next-50))
		}
	}
	close(done)
	wg.Wait()
	if err := readErr.Load(); err != nil {
		t.Fatal(err)
	}
}
