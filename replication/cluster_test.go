package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/segment/vfs"
)

type testNode struct {
	id   uint64
	dir  string
	node *Node
	eng  *engine.Engine
}

type cluster struct {
	t     *testing.T
	net   *memNetwork
	nodes map[uint64]*testNode
	peers []Peer
	// engineOpts are used for every engine (tests shrink checkpoints to force compaction).
	engineOpts engine.Options
	catchUp    uint64
	// engineFS and raftFS, if set, give a node's engine and raft files their file system.
	engineFS, raftFS func(id uint64) vfs.FS
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newCluster(t *testing.T, n int) *cluster { return newClusterWith(t, n, func(*cluster) {}) }

// start opens (or reopens) node id with its data directory.
func (c *cluster) start(id uint64, join bool) *testNode {
	c.t.Helper()
	tn, err := c.open(id, join)
	if err != nil {
		c.t.Fatalf("node %d: %v", id, err)
	}
	return tn
}

// open is start returning the error instead of failing the test.
func (c *cluster) open(id uint64, join bool) (*testNode, error) {
	tn := c.nodes[id]
	if tn == nil {
		tn = &testNode{id: id, dir: c.t.TempDir()}
		c.nodes[id] = tn
	}
	cfg := Config{
		ID: id, Dir: filepath.Join(tn.dir, "raft"), Peers: c.peers, Join: join,
		Transport: c.net.transport(id), TickInterval: 10 * time.Millisecond,
		CatchUpEntries: c.catchUp, Logger: quiet,
	}
	if c.raftFS != nil {
		cfg.FS = c.raftFS(id)
	}
	node, err := New(cfg)
	if err != nil {
		return nil, err
	}
	opts := c.engineOpts
	opts.Replicator = node
	if c.engineFS != nil {
		opts.FS = c.engineFS(id)
	}
	eng, err := engine.Open(filepath.Join(tn.dir, "engine"), opts)
	if err != nil {
		node.Stop()
		return nil, fmt.Errorf("engine: %w", err)
	}
	if err := node.Start(eng); err != nil {
		node.Stop()
		eng.Close()
		return nil, fmt.Errorf("start: %w", err)
	}
	tn.node, tn.eng = node, eng
	return tn, nil
}

func (c *cluster) stop(id uint64) {
	tn := c.nodes[id]
	if tn == nil || tn.node == nil {
		return
	}
	tn.node.Stop()
	tn.eng.Close()
	tn.node, tn.eng = nil, nil
}

// leader waits (bounded) until the running nodes agree on a leader and returns it.
func (c *cluster) leader() *testNode {
	c.t.Helper()
	for i := 0; i < 1000; i++ {
		var lead uint64
		agree := true
		for _, tn := range c.nodes {
			if tn.node == nil {
				continue
			}
			s := tn.node.Status()
			if s.Role == "leader" {
				lead = s.ID
			}
		}
		if lead != 0 {
			for _, tn := range c.nodes {
				if tn.node != nil && c.net.route(tn.id, lead) != nil && tn.node.Status().Leader != lead {
					agree = false
				}
			}
			if agree {
				return c.nodes[lead]
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("no leader elected")
	return nil
}

func (c *cluster) follower() *testNode {
	lead := c.leader()
	for _, tn := range c.nodes {
		if tn.node != nil && tn != lead {
			return tn
		}
	}
	c.t.Fatal("no follower")
	return nil
}

// waitUntil waits, polling every millisecond up to 10000 times, until cond holds; the test
// fails with what if it never does.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i == 10000 {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// otherLeader waits (bounded) until a running node other than old leads, and returns it.
func (c *cluster) otherLeader(old *testNode) *testNode {
	c.t.Helper()
	var next *testNode
	waitUntil(c.t, fmt.Sprintf("a leader other than node %d", old.id), func() bool {
		for _, tn := range c.nodes {
			if tn != old && tn.node != nil && tn.node.Status().Role == "leader" {
				next = tn
			}
		}
		return next != nil
	})
	return next
}

// sendN creates queue q (if needed) through tn and sends n messages, returning their ids.
func sendN(t *testing.T, tn *testNode, n int) []string {
	t.Helper()
	ctx := ctxT(t)
	if _, err := tn.eng.CreateQueue(ctx, "ns", "q", engine.DefaultQueueAttributes()); err != nil && !errors.Is(err, engine.ErrQueueExists) {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < n; i++ {
		id, err := tn.eng.SendMessage(ctx, "ns", "q", []byte(fmt.Sprintf("message %d", i)), 0)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// withSnapshots makes checkpoints frequent and keeps few entries behind them, so that a
// follower that misses a few hundred entries can only catch up by snapshot.
func withSnapshots(c *cluster) {
	c.engineOpts.CheckpointBytes = 2048
	c.catchUp = 10
}

// lagBehindSnapshot stops a follower and sends n messages to queue q through the leader,
// which compacts its log past the follower (the cluster is made withSnapshots). It
// returns the leader, the stopped follower and the acknowledged ids.
func (c *cluster) lagBehindSnapshot(n int) (lead, laggard *testNode, acked []string) {
	c.t.Helper()
	lead = c.leader()
	sendN(c.t, lead, 0) // the queue, on every node
	laggard = c.follower()
	c.stop(laggard.id)
	acked = sendN(c.t, lead, n)
	if first, _ := lead.node.storage.FirstIndex(); first < uint64(n/4) {
		c.t.Fatalf("the leader's log was not compacted (first index %d)", first)
	}
	return lead, laggard, acked
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitApplied waits (bounded) until every running node has applied at least index.
func (c *cluster) waitApplied(index uint64) {
	c.t.Helper()
	for i := 0; i < 1000; i++ {
		ok := true
		for _, tn := range c.nodes {
			if tn.node != nil && tn.eng.AppliedIndex() < index {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatalf("nodes did not apply up to %d", index)
}

// counts returns a queue's attributes on every running node, checking they agree.
func (c *cluster) agree(queue string) engine.QueueInfo {
	c.t.Helper()
	var first *engine.QueueInfo
	for _, tn := range c.nodes {
		if tn.node == nil {
			continue
		}
		info, err := tn.eng.GetQueueAttributes(ctxT(c.t), "ns", queue)
		if err != nil {
			c.t.Fatalf("node %d: %v", tn.id, err)
		}
		if first == nil {
			first = &info
		} else if info.ActiveMsgNum != first.ActiveMsgNum || info.InactiveMsgNum != first.InactiveMsgNum ||
			info.DelayMsgNum != first.DelayMsgNum || info.RewindMsgNum != first.RewindMsgNum {
			c.t.Fatalf("node %d disagrees: %+v vs %+v", tn.id, info, *first)
		}
	}
	return *first
}

func TestClusterReplicatesAndForwards(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t)
	f := c.follower()
	// Requests to a follower are forwarded through raft to the leader.
	if _, err := f.eng.CreateQueue(ctx, "ns", "q", engine.DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	lead := c.leader()
	var ids []string
	for i := 0; i < 50; i++ {
		tn := []*testNode{f, lead}[i%2]
		id, err := tn.eng.SendMessage(ctx, "ns", "q", []byte(fmt.Sprintf("m%d", i)), 0)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// Reads are linearizable on every member: all see the 50 messages right away.
	if info := c.agree("q"); info.ActiveMsgNum != 50 {
		t.Fatalf("active %d, want 50", info.ActiveMsgNum)
	}
	msgs, err := f.eng.ReceiveMessage(ctx, "ns", "q", 16, 0)
	if err != nil || len(msgs) != 16 || msgs[0].ID != ids[0] {
		t.Fatalf("receive: %d %v", len(msgs), err)
	}
	handles := make([]string, len(msgs))
	for i, m := range msgs {
		handles[i] = m.ReceiptHandle
	}
	if errs, err := lead.eng.BatchDeleteMessage(ctx, "ns", "q", handles); err != nil || errors.Join(errs...) != nil {
		t.Fatalf("delete through the leader: %v %v", err, errs)
	}
	if info := c.agree("q"); info.ActiveMsgNum != 34 || info.InactiveMsgNum != 0 {
		t.Fatalf("after delete: %+v", info)
	}
}

func TestClusterLeaderChangeUnderLoad(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t)
	lead := c.leader()
	if _, err := lead.eng.CreateQueue(ctx, "ns", "q", engine.DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	send := func(tn *testNode, n int) {
		for i := 0; i < n; i++ {
			sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			id, err := tn.eng.SendMessage(sctx, "ns", "q", []byte("x"), 0)
			cancel()
			if err == nil {
				acked[id] = true
			}
		}
	}
	send(lead, 20)
	// Cut the leader off: the others elect a new one and keep accepting sends.
	c.net.isolate(lead.id)
	next := c.otherLeader(lead)
	send(next, 20)
	c.net.heal()
	newLead := c.leader()
	// Every acknowledged send is there, on every member (the old leader caught up).
	c.waitApplied(newLead.eng.AppliedIndex())
	seen := map[string]bool{}
	for {
		msgs, err := newLead.eng.ReceiveMessage(ctx, "ns", "q", 16, 0)
		if errors.Is(err, engine.ErrNoMessage) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			seen[m.ID] = true
		}
	}
	for id := range acked {
		if !seen[id] {
			t.Fatalf("acknowledged message %s lost", id)
		}
	}
	if len(acked) < 40 {
		t.Fatalf("only %d of 40 sends were acknowledged", len(acked))
	}
	c.agree("q")
}

func TestClusterSnapshotCatchUp(t *testing.T) {
	c := newClusterWith(t, 3, withSnapshots)
	ctx := ctxT(t)
	lead, laggard, acked := c.lagBehindSnapshot(300)
	// The laggard is behind the compacted log: it can only catch up by snapshot.
	c.start(laggard.id, false)
	c.waitApplied(lead.eng.AppliedIndex())
	if info := c.agree("q"); info.ActiveMsgNum != int64(len(acked)) {
		t.Fatalf("active %d, want %d", info.ActiveMsgNum, len(acked))
	}
	// And it keeps up afterwards.
	if _, err := laggard.eng.SendMessage(ctx, "ns", "q", []byte("after"), 0); err != nil {
		t.Fatal(err)
	}
	if info := c.agree("q"); info.ActiveMsgNum != 301 {
		t.Fatalf("active %d, want 301", info.ActiveMsgNum)
	}
}

func newClusterWith(t *testing.T, n int, mod func(*cluster)) *cluster {
	c := &cluster{t: t, net: newMemNetwork(), nodes: map[uint64]*testNode{},
		engineOpts: engine.Options{Limits: engine.Limits{MinMaxMsgHeapNum: 1}, Logger: quiet}}
	mod(c)
	for id := uint64(1); id <= uint64(n); id++ {
		c.peers = append(c.peers, Peer{ID: id, Addr: fmt.Sprintf("node%d", id)})
	}
	for _, p := range c.peers {
		c.start(p.ID, false)
	}
	t.Cleanup(func() {
		for id := range c.nodes {
			c.stop(id)
		}
	})
	return c
}

func TestClusterMembershipChange(t *testing.T) {
	c := newCluster(t, 3)
	ctx := ctxT(t)
	lead := c.leader()
	if _, err := lead.eng.CreateQueue(ctx, "ns", "q", engine.DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		lead.eng.SendMessage(ctx, "ns", "q", []byte("x"), 0)
	}
	// Add node 4: it joins empty and catches up from the leader.
	if err := lead.node.AddNode(ctx, Peer{ID: 4, Addr: "node4"}); err != nil {
		t.Fatal(err)
	}
	c.peers = append(c.peers, Peer{ID: 4, Addr: "node4"})
	c.start(4, true)
	c.waitApplied(lead.eng.AppliedIndex())
	if info := c.agree("q"); info.ActiveMsgNum != 10 {
		t.Fatalf("active %d", info.ActiveMsgNum)
	}
	// Remove a follower; its id can never come back.
	var gone uint64
	for id := uint64(1); id <= 3; id++ {
		if id != lead.id {
			gone = id
			break
		}
	}
	if err := lead.node.RemoveNode(ctx, gone); err != nil {
		t.Fatal(err)
	}
	c.stop(gone)
	delete(c.nodes, gone)
	if err := lead.node.AddNode(ctx, Peer{ID: gone, Addr: "again"}); !errors.Is(err, ErrIDReused) {
		t.Fatalf("re-adding a removed id: %v", err)
	}
	if _, err := lead.eng.SendMessage(ctx, "ns", "q", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	if info := c.agree("q"); info.ActiveMsgNum != 11 {
		t.Fatalf("active %d", info.ActiveMsgNum)
	}
	if got := len(lead.node.Status().Peers); got != 3 {
		t.Fatalf("members %d, want 3", got)
	}
}
