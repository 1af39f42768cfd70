package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/opencmq/opencmq/segment/vfs"
)

// sharedLog is a stand-in for raft: one totally ordered log that every replica applies
// synchronously as soon as a proposal arrives.
type sharedLog struct {
	mu       sync.Mutex
	entries  []Entry
	replicas []*Engine
	compact  uint64
}

func (l *sharedLog) Propose(_ context.Context, data []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	en := Entry{Index: uint64(len(l.entries) + 1), Data: append([]byte(nil), data...)}
	l.entries = append(l.entries, en)
	for _, r := range l.replicas {
		r.Apply([]Entry{en})
	}
	return nil
}

type replicaView struct {
	*sharedLog
	leader bool
}

func (v replicaView) ReadBarrier(context.Context) error { return nil }
func (v replicaView) IsLeader() bool                    { return v.leader }
func (v replicaView) Checkpointed(index uint64) {
	v.mu.Lock()
	v.compact = max(v.compact, index)
	v.mu.Unlock()
}

// replicaOpener returns a function that opens replica i (0 leads) of log, each on a file
// system of its own that survives reopening; now is the clock (nil: the real one).
func replicaOpener(t *testing.T, log *sharedLog, now func() time.Time) func(i int) *Engine {
	fss := []*vfs.MemFS{vfs.NewMem(), vfs.NewMem()}
	return func(i int) *Engine {
		e, err := Open("/data", Options{FS: fss[i], Now: now, Limits: testLimits, ManualTick: true,
			Replicator: replicaView{log, i == 0}, CheckpointBytes: 256})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
}

func TestReplicatedEnginesAgree(t *testing.T) {
	log := &sharedLog{}
	open := replicaOpener(t, log, nil)
	a, b := open(0), open(1)
	log.replicas = []*Engine{a, b}
	ctx := context.Background()
	if _, err := a.CreateQueue(ctx, "ns", "q", DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := b.SendMessage(ctx, "ns", "q", []byte{'m', byte('a' + i)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := a.ReceiveMessage(ctx, "ns", "q", 16, 0)
	if err != nil || len(msgs) != 16 || string(msgs[0].Body) != "ma" {
		t.Fatalf("receive on a: %d %v", len(msgs), err)
	}
	// A handle issued through one replica works through the other: the state is one.
	if err := b.DeleteMessage(ctx, "ns", "q", msgs[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	ia, _ := a.GetQueueAttributes(ctx, "ns", "q")
	ib, _ := b.GetQueueAttributes(ctx, "ns", "q")
	if ia.ActiveMsgNum != 4 || ia.InactiveMsgNum != 15 || ia != ib {
		t.Fatalf("replicas disagree or wrong counts:\n%+v\n%+v", ia, ib)
	}
	a.mu.RLock()
	da := a.sm.digest(t)
	a.mu.RUnlock()
	b.mu.RLock()
	db := b.sm.digest(t)
	b.mu.RUnlock()
	if da != db {
		t.Fatalf("state digests differ: %x %x", da, db)
	}
	// Restart b: it resumes from its checkpoint, and entries it already has are skipped
	// when the log re-delivers everything.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	log.mu.Lock()
	compacted := log.compact
	log.mu.Unlock()
	if compacted == 0 {
		t.Fatal("Close should have reported a checkpoint")
	}
	b = open(1)
	log.replicas[1] = b
	b.Apply(log.entries)
	if err := b.DeleteMessage(ctx, "ns", "q", msgs[1].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	ia, _ = a.GetQueueAttributes(ctx, "ns", "q")
	ib, _ = b.GetQueueAttributes(ctx, "ns", "q")
	if ia != ib || ia.InactiveMsgNum != 14 {
		t.Fatalf("after restart:\n%+v\n%+v", ia, ib)
	}
	a.Close()
	b.Close()
}
