package raftlog

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// model is what a Storage must answer: a raft.MemoryStorage fed the same operations,
// plus the ConfState (MemoryStorage keeps it in its snapshot) and what of the HardState
// is durable (Commit alone is written lazily).
type model struct {
	mem                          *raft.MemoryStorage
	cs                           *raftpb.ConfState
	term, vote, commit           uint64
	durTerm, durVote, durCommit  uint64
	curTerm                      uint64 // term of new entries (>= every stored term)
	ops, reopens, crashes, snaps int
	maxSegs                      int
}

func (m *model) setHS(term, vote, commit uint64) {
	m.term, m.vote, m.commit = term, vote, commit
	_ = m.mem.SetHardState(hardState(term, vote, commit)) // never fails
}

// stateWritten records that the state file now holds the current HardState.
func (m *model) stateWritten() { m.durTerm, m.durVote, m.durCommit = m.term, m.vote, m.commit }

func TestModelAgainstMemoryStorage(t *testing.T) {
	seeds := 10
	if testing.Short() {
		seeds = 4
	}
	for seed := 1; seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runModel(t, uint64(seed), 500) })
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	r := rand.New(rand.NewPCG(seed, 99))
	opts := testOptions(400 + r.IntN(800)) // tidwall/wal fsyncs every finished segment, even with NoSync
	if seed%3 == 0 {
		opts.CacheBytes = 700 // mostly reads from files
	}
	dir := t.TempDir()
	s := mustOpen(t, dir, opts)
	defer func() { s.Close() }()
	m := &model{mem: raft.NewMemoryStorage(), cs: raftpb.EnsureConfState(nil), curTerm: 1}
	m.setHS(0, 0, 0)

	for step := 0; step < steps; step++ {
		first, _ := m.mem.FirstIndex()
		last, _ := m.mem.LastIndex()
		dummy := first - 1
		desc := ""
		switch p := r.IntN(100); {
		case p < 48: // Append, sometimes overlapping (conflict) or reaching below the compaction point
			if r.IntN(4) == 0 {
				m.curTerm++
			}
			lo := max(dummy, 3) - 2
			start := lo + r.Uint64N(last+2-lo)
			n := 1 + r.IntN(8)
			ents := make([]*raftpb.Entry, n)
			for k := range ents {
				ents[k] = ent(start+uint64(k), m.curTerm, randData(r, 120))
			}
			eff := max(start, first)
			lastNew := start + uint64(n) - 1
			desc = fmt.Sprintf("Append [%d, %d] term %d", start, lastNew, m.curTerm)
			err := s.Append(ents)
			switch {
			case lastNew < first:
				must(t, err)
			case eff <= last && eff <= m.commit:
				if err == nil {
					t.Fatalf("step %d: %s over committed %d: no error", step, desc, m.commit)
				}
			default:
				must(t, err)
				must(t, m.mem.Append(ents))
			}
		case p < 60:
			desc = "Sync"
			must(t, s.Sync())
			if m.term != m.durTerm || m.vote != m.durVote {
				m.stateWritten()
			}
			checkTail(t, s)
			m.maxSegs = max(m.maxSegs, len(segmentsOf(t, dir)))
		case p < 72:
			term := m.term
			if r.IntN(3) == 0 {
				m.curTerm++
				term = m.curTerm
			}
			vote := m.vote
			if r.IntN(3) == 0 {
				vote = r.Uint64N(4)
			}
			commit := m.commit + r.Uint64N(last-m.commit+1)
			desc = fmt.Sprintf("SetHardState(%d, %d, %d)", term, vote, commit)
			must(t, s.SetHardState(hardState(term, vote, commit)))
			m.setHS(term, vote, commit)
		case p < 76:
			i := dummy + r.Uint64N((m.commit-dummy)/2+1)
			if r.IntN(5) == 0 && dummy > 0 {
				i = dummy - r.Uint64N(min(dummy, 2)+1)
			}
			desc = fmt.Sprintf("Compact(%d)", i)
			err, merr := s.Compact(i), m.mem.Compact(i)
			if !errors.Is(err, merr) && err != merr {
				t.Fatalf("step %d: %s: %v, MemoryStorage: %v", step, desc, err, merr)
			}
			if err == nil {
				m.stateWritten()
			}
		case p < 77:
			if r.IntN(2) == 0 {
				m.curTerm++
			}
			cs := randConfState(r)
			idx := max(dummy, m.commit) + 1 + r.Uint64N(last+5-max(dummy, m.commit))
			stale := dummy > 0 && r.IntN(6) == 0
			if stale {
				idx = dummy - r.Uint64N(min(dummy, 3))
			}
			snap := &raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{Index: new(idx), Term: new(m.curTerm), ConfState: cs}}
			desc = fmt.Sprintf("ApplySnapshot(%d, term %d)", idx, m.curTerm)
			err := s.ApplySnapshot(snap)
			if stale {
				if !errors.Is(err, raft.ErrSnapOutOfDate) {
					t.Fatalf("step %d: %s: %v, want ErrSnapOutOfDate", step, desc, err)
				}
				break
			}
			must(t, err)
			must(t, m.mem.ApplySnapshot(snap))
			m.cs = raftpb.EnsureConfState(proto.Clone(cs).(*raftpb.ConfState))
			m.setHS(m.term, m.vote, max(m.commit, idx))
			m.stateWritten()
			m.snaps++
		case p < 85:
			cs := randConfState(r)
			desc = "SetConfState"
			must(t, s.SetConfState(cs))
			m.cs = raftpb.EnsureConfState(proto.Clone(cs).(*raftpb.ConfState))
			m.stateWritten()
		case p < 93:
			desc = "Close+Open"
			must(t, s.Close())
			m.stateWritten()
			s = mustOpen(t, dir, opts)
			m.reopens++
		default:
			// Process crash: the files as they are (written, not necessarily synced),
			// without Close. Term and Vote survive if a state file write followed them;
			// Commit survives through the commit hint (in the page cache).
			desc = "crash+Open"
			crashed := copyDir(t, dir)
			s.Close()
			os.RemoveAll(dir)
			dir = crashed
			s = mustOpen(t, dir, opts)
			m.setHS(m.durTerm, m.durVote, m.commit)
			m.crashes++
		}
		m.ops++
		compareModel(t, r, s, m, fmt.Sprintf("step %d (%s)", step, desc))
	}
	t.Logf("%d ops, %d reopens, %d crashes, %d snapshots, up to %d segments", m.ops, m.reopens, m.crashes, m.snaps, m.maxSegs)
}

func randConfState(r *rand.Rand) *raftpb.ConfState {
	cs := &raftpb.ConfState{}
	for id := uint64(1); id <= 5; id++ {
		if r.IntN(2) == 0 {
			cs.Voters = append(cs.Voters, id)
		} else if r.IntN(3) == 0 {
			cs.Learners = append(cs.Learners, id)
		}
	}
	return cs
}

func compareModel(t *testing.T, r *rand.Rand, s *Storage, m *model, at string) {
	t.Helper()
	first, _ := m.mem.FirstIndex()
	last, _ := m.mem.LastIndex()
	if got, err := s.FirstIndex(); err != nil || got != first {
		t.Fatalf("%s: FirstIndex %d, %v; want %d", at, got, err, first)
	}
	if got, err := s.LastIndex(); err != nil || got != last {
		t.Fatalf("%s: LastIndex %d, %v; want %d", at, got, err, last)
	}
	hs, cs, err := s.InitialState()
	must(t, err)
	if hs.GetTerm() != m.term || hs.GetVote() != m.vote || hs.GetCommit() != m.commit {
		t.Fatalf("%s: HardState %v, want term %d vote %d commit %d", at, hs, m.term, m.vote, m.commit)
	}
	if !proto.Equal(cs, m.cs) {
		t.Fatalf("%s: ConfState %v, want %v", at, cs, m.cs)
	}
	for i := max(first, 3) - 3; i <= last+2; i++ {
		got, err := s.Term(i)
		want, merr := m.mem.Term(i)
		if got != want || !errors.Is(err, merr) {
			t.Fatalf("%s: Term(%d) = %d, %v; MemoryStorage %d, %v", at, i, got, err, want, merr)
		}
	}
	sizes := []uint64{0, 60, 400, math.MaxUint64}
	for k := 0; k < 6; k++ {
		lo := max(first, 2) - 2 + r.Uint64N(last+4-max(first, 2))
		if k == 0 {
			lo = first
		}
		hi := lo + r.Uint64N(last+2-min(lo, last+1))
		if k == 0 {
			hi = last + 1
		}
		if lo > last+1 || hi > last+1 {
			continue
		}
		maxSize := sizes[r.IntN(len(sizes))]
		got, err := s.Entries(lo, hi, maxSize)
		want, merr := m.mem.Entries(lo, hi, maxSize)
		if !errors.Is(err, merr) || (err == nil) != (merr == nil) {
			t.Fatalf("%s: Entries(%d, %d, %d) error %v, MemoryStorage %v", at, lo, hi, maxSize, err, merr)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: Entries(%d, %d, %d) returned %d entries, MemoryStorage %d", at, lo, hi, maxSize, len(got), len(want))
		}
		for j := range got {
			if !entriesEqual(got[j], want[j]) {
				t.Fatalf("%s: Entries(%d, %d, %d)[%d] = %v, MemoryStorage %v", at, lo, hi, maxSize, j, got[j], want[j])
			}
		}
	}
}
