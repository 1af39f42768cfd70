package replication

// A storage failure stops a node: it neither leads nor votes nor answers, and everyone
// waiting on it hears at once (not at their deadline).

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/segment/vfs"
)

var errDisk = errors.New("test: disk failed")

// failingFS is a file system whose operations on paths containing match fail once armed.
type failingFS struct {
	vfs.FS
	match string
	armed atomic.Bool
}

func (f *failingFS) check(path string) error {
	if f.armed.Load() && strings.Contains(path, f.match) {
		return errDisk
	}
	return nil
}

func (f *failingFS) Rename(o, n string) error {
	if err := f.check(o); err != nil {
		return err
	}
	return f.FS.Rename(o, n)
}

// checkStopped checks that a failed node refuses everything promptly: the calls carry
// no deadline, so they return only because the node reports its failure.
func checkStopped(t *testing.T, tn *testNode) {
	t.Helper()
	ctx := context.Background()
	if err := tn.node.Err(); err == nil {
		t.Fatal("node.Err() is nil after a storage failure")
	}
	if tn.node.Ready() {
		t.Fatal("a failed node reports ready")
	}
	if err := tn.node.Propose(ctx, []byte("x")); err == nil {
		t.Fatal("a failed node accepted a proposal")
	}
	if err := tn.node.ReadBarrier(ctx); err == nil {
		t.Fatal("a failed node passed a read barrier")
	}
	if _, err := tn.eng.SendMessage(ctx, "ns", "q", []byte("after"), 0); err == nil {
		t.Fatal("the engine of a failed node accepted a send")
	}
	if _, err := tn.eng.GetQueueAttributes(ctx, "ns", "q"); err == nil {
		t.Fatal("the engine of a failed node answered a read")
	}
}

// TestEngineFailureStopsLeader fails the leader's engine (a queue log write): the node
// stops, the others elect another leader and keep every acknowledged message.
func TestEngineFailureStopsLeader(t *testing.T) {
	mems := map[uint64]*vfs.MemFS{}
	c := newClusterWith(t, 3, func(c *cluster) {
		c.engineFS = func(id uint64) vfs.FS {
			if mems[id] == nil {
				mems[id] = vfs.NewMem()
			}
			return mems[id]
		}
	})
	ctx := ctxT(t)
	lead := c.leader()
	if _, err := lead.eng.CreateQueue(ctx, "ns", "q", engine.DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	var acked []string
	for i := 0; i < 5; i++ {
		id, err := lead.eng.SendMessage(ctx, "ns", "q", []byte("before"), 0)
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, id)
	}
	queues := filepath.Join(lead.dir, "engine", "queues")
	mems[lead.id].InjectError(func(op vfs.Op, path string) error {
		if op == vfs.OpWrite && strings.HasPrefix(path, queues) {
			return errDisk
		}
		return nil
	})
	// The send may well be acknowledged: it is durable in the raft log of a majority
	// before the leader writes it to its queue log (and fails).
	if id, err := lead.eng.SendMessage(ctx, "ns", "q", []byte("fails here"), 0); err == nil {
		acked = append(acked, id)
	}
	// An acknowledged send was answered from its apply batch, whose queue log write (which
	// fails) comes right after the answers: wait for it, bounded.
	for i := 0; i < 1000 && lead.node.Err() == nil; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	checkStopped(t, lead)
	// The others go on without it.
	next := c.otherLeader(lead)
	if _, err := next.eng.SendMessage(ctx, "ns", "q", []byte("after"), 0); err != nil {
		t.Fatal(err)
	}
	msgs, err := next.eng.ReceiveMessage(ctx, "ns", "q", 16, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range msgs {
		got[m.ID] = true
	}
	for _, id := range acked {
		if !got[id] {
			t.Fatalf("acknowledged message %s lost", id)
		}
	}
	if lead.node.Status().Role == "leader" {
		t.Fatal("the failed node still calls itself leader")
	}
}

// TestRaftLogFailureStopsNode fails the raft log's state file replacement (at the
// compaction after a checkpoint) of a one-voter group: the node stops, and callers hear
// at once.
func TestRaftLogFailureStopsNode(t *testing.T) {
	fsys := &failingFS{FS: vfs.Default, match: "STATE.tmp"}
	c := newClusterWith(t, 1, func(c *cluster) {
		c.raftFS = func(uint64) vfs.FS { return fsys }
		c.engineOpts.CheckpointBytes = 1024
		c.catchUp = 5
	})
	ctx := ctxT(t)
	tn := c.leader()
	if _, err := tn.eng.CreateQueue(ctx, "ns", "q", engine.DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	fsys.armed.Store(true)
	// Sends fill the journal up to a checkpoint; the compaction behind it writes the state
	// file and fails. Sends succeed until then, and fail afterwards.
	failed := false
	for i := 0; i < 500 && !failed; i++ {
		_, err := tn.eng.SendMessage(ctx, "ns", "q", []byte(strings.Repeat("x", 100)), 0)
		failed = err != nil
		if failed && !errors.Is(err, engine.ErrOutcomeUnknown) && !errors.Is(err, engine.ErrInternal) {
			t.Fatalf("send after the failure: %v", err)
		}
	}
	if !failed {
		t.Fatal("the raft log never failed")
	}
	if err := tn.node.Err(); !errors.Is(err, errDisk) {
		t.Fatalf("node.Err() = %v, want the disk error", err)
	}
	checkStopped(t, tn)
}
