//go:build chaos

package replication

// Crash consistency of the single-node server stack as cmqd runs it (go test -tags chaos):
// the engine behind a one-voter raft group, driven by the crashcheck workload. The raft
// log is on a real temporary directory (tidwall/wal writes it through package os); the
// engine is on an in-memory file system that simulates power loss.
//
// Disk images are taken inside the raft loop, at the failpoints around the persist step
// of a Ready, where no other goroutine writes the raft directory: the raft directory is
// copied (with or without its commit hint, which is never synced; everything else there
// is synced at these points) and the engine's file system is crash-cloned. Each image is
// then opened as a new node and checked against the model.

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/failpoint"
	"github.com/opencmq/opencmq/internal/crashcheck"
	"github.com/opencmq/opencmq/internal/testkit"
	"github.com/opencmq/opencmq/segment/vfs"
)

// raftSystem is an engine on a MemFS behind a one-voter raft group whose files are in dir.
type raftSystem struct {
	t     testing.TB
	dir   string // the node's directory (raft log, membership)
	mem   *vfs.MemFS
	opts  engine.Options
	node  *Node
	e     *engine.Engine
	ready func() // waits until the node leads
}

// raftImage is a disk image of a raftSystem: a copy of its directory and a clone of the
// engine's file system.
type raftImage struct {
	dir string
	mem *vfs.MemFS
}

const engineDir = "/engine"

func newRaftSystem(t testing.TB, dir string, mem *vfs.MemFS, opts engine.Options) *raftSystem {
	opts.FS = mem
	s := &raftSystem{t: t, dir: dir, mem: mem, opts: opts}
	s.open()
	return s
}

func (s *raftSystem) open() {
	s.t.Helper()
	node, err := New(Config{
		ID: 1, Dir: s.dir, Peers: []Peer{{ID: 1, Addr: "n1"}}, Transport: newMemNetwork().transport(1),
		TickInterval: 2 * time.Millisecond, CatchUpEntries: 20, NoSync: true, Logger: quiet,
	})
	if err != nil {
		s.t.Fatalf("raft node: %v", err)
	}
	opts := s.opts
	opts.Replicator = node
	e, err := engine.Open(engineDir, opts)
	if err != nil {
		node.Stop()
		s.t.Fatalf("engine: %v", err)
	}
	if err := node.Start(e); err != nil {
		e.Close()
		s.t.Fatalf("start: %v", err)
	}
	s.node, s.e = node, e
	waitUntil(s.t, "a one-voter group elects itself", func() bool { return node.Status().Role == "leader" })
}

func (s *raftSystem) close() {
	s.node.Stop()
	s.e.Close()
}

func (s *raftSystem) Engine() *engine.Engine { return s.e }

func (s *raftSystem) Reopen() {
	s.close()
	s.open()
}

func (s *raftSystem) Crash(uint64) { s.t.Fatal("raftSystem crashes only at failpoints") }

// image copies the node's directory into a new temporary directory and takes mem, the
// engine's file system as the image needs it. dropHint removes the copied commit hint.
func (s *raftSystem) image(mem *vfs.MemFS, dropHint bool) raftImage {
	s.t.Helper()
	dst := filepath.Join(s.t.TempDir(), "node")
	if err := os.CopyFS(dst, os.DirFS(s.dir)); err != nil {
		s.t.Fatalf("copying the raft directory: %v", err)
	}
	if dropHint {
		os.Remove(filepath.Join(dst, "raft", "COMMIT"))
	}
	return raftImage{dir: dst, mem: mem}
}

// verify opens a node on each capture of run and checks it.
func (s *raftSystem) verify(run *crashcheck.Run) {
	s.t.Helper()
	for i, c := range run.Captures() {
		img := c.Image.(raftImage)
		run.Logf("verify capture %d at op %d: %s; call in progress: %v", i, c.Op, c.What, c.CallInProgress())
		clock := testkit.NewClock(time.UnixMilli(c.Now))
		opts := s.opts
		opts.Now = clock.Now
		rs := newRaftSystem(s.t, img.dir, img.mem, opts)
		run.Verify(rs.e, clock, c)
		rs.close()
		run.Stats()["images recovered"]++
	}
}

// newRaftRun opens a raftSystem for a run of seed, with its options drawn from the run,
// and creates the workload's queues.
func newRaftRun(t *testing.T, seed uint64, stats map[string]int) (*crashcheck.Run, *raftSystem) {
	run := crashcheck.NewRun(t, seed, testkit.NewClock(time.UnixMilli(1_700_000_000_000)), stats)
	opts := engine.Options{
		Now: run.Clock.Now, Limits: engine.Limits{MinMaxMsgHeapNum: 1}, ManualTick: true,
		SegmentBytes: 4096, CheckpointBytes: 4096,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if run.Rand.IntN(3) == 0 {
		opts.CheckpointBytes = 1 << 40 // only Close checkpoints: the raft log is replayed
	}
	s := newRaftSystem(t, filepath.Join(t.TempDir(), "node"), vfs.NewMem(), opts)
	t.Cleanup(func() {
		failpoint.Reset()
		s.close()
	})
	run.Start(s)
	return run, s
}

// TestRaftStackCrashImages takes disk images at random Readys, before and after they
// are persisted, while the workload runs (clean restarts included), and recovers each.
func TestRaftStackCrashImages(t *testing.T) {
	first, last := testkit.Seeds(t, 6, 2)
	stats := map[string]int{}
	for seed := first; seed <= last; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			run, s := newRaftRun(t, seed, stats)
			rng := rand.New(rand.NewPCG(seed, 0x72616674))
			var taken atomic.Int32
			for _, point := range []string{failpoint.RaftBeforeSave, failpoint.RaftAfterSave} {
				failpoint.Set(point, func(string) error {
					// Runs on the raft loop: nothing else writes the raft directory now.
					if rng.IntN(24) != 0 || taken.Add(1) > 12 {
						return nil
					}
					run.Capture("power loss at "+point, func() any {
						return s.image(s.mem.CrashClone(rand.New(rand.NewPCG(rng.Uint64(), 1))), rng.IntN(2) == 0)
					})
					return nil
				})
			}
			run.Steps(300)
			failpoint.Reset()
			s.verify(run)
		})
	}
	testkit.LogStats(t, stats)
}

// raftPoints are the failpoints of the replicated stack, each with how many hits the
// k-th hit is drawn from. Only at the raft ones is a power-loss image taken (they run on
// the raft loop); after every failure the process-crash image is taken.
var raftPoints = []struct {
	name   string
	budget int
	onLoop bool
}{
	{failpoint.RaftBeforeSave, 300, true},
	{failpoint.RaftAfterSave, 300, true},
	{failpoint.CheckpointBeforeWrite, 10, false},
	{failpoint.CheckpointAfterWrite, 10, false},
	{failpoint.SegmentBeforeFsync, 20, false},
	{failpoint.DeadLetterMove, 10, true},
	{failpoint.QueueDelete, 3, true},
}

// TestRaftStackFailpoints fails the replicated stack at the k-th hit of each failpoint
// and checks that the node stops serving, then recovers the images.
func TestRaftStackFailpoints(t *testing.T) {
	first, last := testkit.Seeds(t, 6, 2)
	for _, p := range raftPoints {
		t.Run(p.name, func(t *testing.T) {
			stats := map[string]int{}
			for seed := first; seed <= last; seed++ {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					run, s := newRaftRun(t, 3000+seed, stats)
					run.Reopens = false
					var capture func(string)
					if p.onLoop {
						capture = func(string) {
							run.Capture("power loss at "+p.name, func() any {
								return s.image(s.mem.CrashClone(rand.New(rand.NewPCG(seed, 2))), seed%2 == 0)
							})
						}
					}
					run.FailAt(p.name, int64(1+run.Rand.IntN(p.budget)), capture)
					if !run.StepsUntilFailure(300) {
						return
					}
					// The engine refuses at once; the node stops when the apply that failed
					// returns to its loop.
					waitUntil(t, "the node stops after a failure at "+p.name, func() bool { return s.node.Err() != nil })
					// The node is stopped: its loop writes nothing any more.
					run.CaptureAfterFailure("process crash after the failure at "+p.name, s.image(s.mem.KillClone(), false))
					s.verify(run)
				})
			}
			if stats["failed at the point"] == 0 {
				t.Fatalf("%s was never reached", p.name)
			}
			testkit.LogStats(t, stats)
		})
	}
}
