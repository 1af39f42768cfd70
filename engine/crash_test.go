package engine_test

// Crash consistency of the whole engine, standalone, on an in-memory file system that
// simulates power loss (vfs.MemFS.CrashClone): the workload and model of package
// crashcheck (see there for what is checked) against a memSystem.

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/internal/crashcheck"
	"github.com/opencmq/opencmq/internal/testkit"
	"github.com/opencmq/opencmq/segment/vfs"
)

// memSystem is a standalone engine in /data on a MemFS with the run's clock and manual
// ticks.
type memSystem struct {
	t    testing.TB
	fs   *vfs.MemFS
	opts engine.Options
	e    *engine.Engine
}

const dataDir = "/data"

// newMemRun opens a memSystem for a run of seed and creates the workload's queues.
func newMemRun(t testing.TB, seed uint64, stats map[string]int) (*crashcheck.Run, *memSystem) {
	run := crashcheck.NewRun(t, seed, testkit.NewClock(time.UnixMilli(1_700_000_000_000)), stats)
	fs := vfs.NewMem()
	s := &memSystem{t: t, fs: fs, opts: engine.Options{
		FS: fs, Now: run.Clock.Now, Limits: engine.Limits{MinMaxMsgHeapNum: 1}, ManualTick: true,
		SegmentBytes: 4096, // segments that roll often
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}}
	if run.Rand.IntN(3) > 0 {
		// Checkpoints (journal truncation, segment drops, queue directory removal) every
		// few commands, in the background.
		s.opts.CheckpointBytes = 4096
	} else {
		s.opts.CheckpointBytes = 1 << 40 // only Close checkpoints: recovery replays the journal
	}
	s.open()
	t.Cleanup(func() {
		s.fs.InjectError(nil)
		s.e.Close()
	})
	run.State = engine.StateForTest
	run.Start(s)
	return run, s
}

func (s *memSystem) open() {
	s.t.Helper()
	e, err := engine.Open(dataDir, s.opts)
	if err != nil {
		s.t.Fatalf("Open: %v", err)
	}
	s.e = e
}

func (s *memSystem) Engine() *engine.Engine { return s.e }

func (s *memSystem) Reopen() {
	s.t.Helper()
	if err := s.e.Close(); err != nil {
		s.t.Fatalf("Close: %v", err)
	}
	s.open()
}

// Crash reopens the engine on what a power loss now could leave on disk; the old engine is
// discarded (its writes go to the old file system).
func (s *memSystem) Crash(seed uint64) {
	s.t.Helper()
	clone := s.fs.CrashClone(rand.New(rand.NewPCG(seed, seed)))
	s.e.Close()
	s.fs, s.opts.FS = clone, clone
	s.open()
}

// TestCrashKeepsAcknowledgedState crashes the engine at random points between calls, several
// times per seed, and checks what recovery rebuilds.
func TestCrashKeepsAcknowledgedState(t *testing.T) {
	first, last := testkit.Seeds(t, 40, 10)
	stats := map[string]int{}
	for seed := first; seed <= last; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			run, _ := newMemRun(t, seed, stats)
			run.Crashes = true
			run.Steps(300)
			run.Crash()
		})
	}
	testkit.LogStats(t, stats)
}

// captureReason says whether an operation on the file system is a dangerous moment worth
// capturing the disk at, and which.
func captureReason(op vfs.Op, path string) string {
	switch {
	case op == vfs.OpCreate && path == "/data/checkpoint.tmp":
		return "checkpoint: queue logs synced, temporary file not yet created"
	case op == vfs.OpSync && path == "/data/checkpoint.tmp":
		return "checkpoint: temporary file written, not synced"
	case op == vfs.OpRename && path == "/data/checkpoint.tmp":
		return "checkpoint: before the rename"
	case op == vfs.OpSyncDir && path == "/data":
		return "checkpoint: renamed, directory not synced"
	case op == vfs.OpRemove && strings.HasPrefix(path, "/data/journal/"):
		return "journal: dropping segments the checkpoint covers"
	case op == vfs.OpRemove && strings.HasPrefix(path, "/data/queues/"):
		if strings.Count(path, "/") == 3 {
			return "queue directory removal"
		}
		return "queue log: dropping segments below first"
	case op == vfs.OpSyncDir && path == "/data/queues":
		return "queue directory removal: removed, not synced"
	case op == vfs.OpTruncate:
		return "log truncation"
	}
	return ""
}

// TestCrashDuringCheckpointAndQueueDelete captures the disk at dangerous moments (during
// checkpoints, journal and segment drops, queue directory removal: see captureReason) with
// an InjectError hook that takes a CrashClone just before the operation, then recovers each
// captured disk and checks it holds what was acknowledged at that moment.
func TestCrashDuringCheckpointAndQueueDelete(t *testing.T) {
	first, last := testkit.Seeds(t, 20, 6)
	stats := map[string]int{}
	for seed := first; seed <= last; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			run, s := newMemRun(t, 1000+seed, stats)
			mem := s.fs
			cloneRand := rand.New(rand.NewPCG(seed, 0x636c6f6e))
			var mu sync.Mutex // guards counts and cloneRand: hooks run on engine goroutines
			counts := map[string]int{}
			mem.InjectError(func(op vfs.Op, path string) error {
				why := captureReason(op, path)
				if why == "" {
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				n := counts[why]
				counts[why]++
				if n >= 3 && n%5 != 0 || len(run.Captures()) >= 40 {
					return nil
				}
				rng := rand.New(rand.NewPCG(cloneRand.Uint64(), uint64(n)))
				run.Capture(fmt.Sprintf("%s (%s %s)", why, op, path), func() any { return mem.CrashClone(rng) })
				return nil
			})
			run.Steps(300)
			s.Reopen() // a last checkpoint, and recovery with its directory removals
			mem.InjectError(nil)
			s.verifyCaptures(run)
		})
	}
	testkit.LogStats(t, stats)
}

// verifyCaptures checks every capture of run.
func (s *memSystem) verifyCaptures(run *crashcheck.Run) {
	for i, c := range run.Captures() {
		run.Stats()["captures: "+strings.SplitN(c.What, " (", 2)[0]]++
		if c.CallInProgress() {
			run.Stats()["captures taken while a call was in progress"]++
		}
		run.Logf("verify capture %d at op %d: %s; call in progress: %v", i, c.Op, c.What, c.CallInProgress())
		s.verifyCapture(run, c)
	}
}

// verifyCapture opens an engine on a captured disk and checks it. Recovery itself is a
// dangerous moment too (torn tails cut, logs cut back to the checkpoint's tails, directories
// of deleted queues removed): the disk is also captured during it, and those disks, which a
// second power loss would leave, are checked against the same expectations.
func (s *memSystem) verifyCapture(run *crashcheck.Run, c *crashcheck.Capture) {
	s.t.Helper()
	fs := c.Image.(*vfs.MemFS)
	clock := testkit.NewClock(time.UnixMilli(c.Now))
	opts := s.opts
	opts.FS, opts.Now = fs, clock.Now
	var again []*crashcheck.Capture // recovery runs on this goroutine
	if c.NestedOK {
		fs.InjectError(func(op vfs.Op, path string) error {
			why := captureReason(op, path)
			if why == "" || len(again) >= 2 {
				return nil
			}
			seed := uint64(len(again)+1)<<32 | uint64(c.Op)
			again = append(again, c.WithImage("recovery of "+c.What+", at "+why, fs.CrashClone(rand.New(rand.NewPCG(seed, run.Seed)))))
			return nil
		})
	}
	e, err := engine.Open(dataDir, opts)
	fs.InjectError(nil) // recovery is over
	if err != nil {
		run.Fatalf("recovery of the disk captured at %s: %v", c.What, err)
	}
	defer e.Close()
	run.Verify(e, clock, c)
	for _, n := range again {
		run.Stats()["captures during recovery: "+n.What[strings.LastIndex(n.What, ", at ")+5:]]++
		s.verifyCapture(run, n)
	}
}
