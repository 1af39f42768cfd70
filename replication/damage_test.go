package replication

// Damaged data on disk at the node level: a node refuses to start from a damaged raft
// log, membership file or stale engine data, with an error naming the file; a damaged
// snapshot stream is refused and sent again; and a node whose data is damaged is replaced
// by the documented procedure (docs/cluster.md: remove it, add a new id on an empty
// directory), catching up from its peers.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/replication/raftlog"
)

// walSegments lists the raft log segment files of a node's directory.
func walSegments(t *testing.T, tn *testNode) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(tn.dir, "raft", "raft", "wal-*", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no raft log segment in %s: %v", tn.dir, err)
	}
	return files
}

func flipByte(t *testing.T, path string, off func(size int) int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off(len(b))] ^= 0x20
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// expectAll drains q on tn (receives, no deletes) and checks every id is there.
func expectAll(t *testing.T, tn *testNode, ids []string) {
	t.Helper()
	got := map[string]bool{}
	for i := 0; i < 100; i++ {
		msgs, err := tn.eng.ReceiveMessage(ctxT(t), "ns", "q", 16, 0)
		if errors.Is(err, engine.ErrNoMessage) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			got[m.ID] = true
		}
	}
	for _, id := range ids {
		if !got[id] {
			t.Fatalf("node %d lost acknowledged message %s", tn.id, id)
		}
	}
}

func TestDamagedRaftLogRefusedThenReplaced(t *testing.T) {
	c := newCluster(t, 3)
	lead := c.leader()
	acked := sendN(t, lead, 40)
	victim := c.follower()
	c.stop(victim.id)
	segs := walSegments(t, victim)
	flipByte(t, segs[0], func(size int) int { return size / 2 })
	// The node refuses to start: it neither votes nor leads on a log it cannot trust.
	_, err := c.open(victim.id, false)
	var ce *raftlog.CorruptError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), segs[0]) {
		t.Fatalf("start on a damaged raft log: %v, want a corruption error naming %s", err, segs[0])
	}
	// The operator's procedure: remove the member, move its directory aside, add it
	// again under a new id on an empty directory. It catches up from its peers.
	ctx := ctxT(t)
	if err := lead.node.RemoveNode(ctx, victim.id); err != nil {
		t.Fatal(err)
	}
	delete(c.nodes, victim.id)
	const newID = 4
	if err := lead.node.AddNode(ctx, Peer{ID: newID, Addr: "node4"}); err != nil {
		t.Fatal(err)
	}
	c.peers = append(c.peers, Peer{ID: newID, Addr: "node4"})
	fresh := c.start(newID, true)
	acked = append(acked, sendN(t, lead, 10)...)
	c.waitApplied(lead.eng.AppliedIndex())
	if info := c.agree("q"); info.ActiveMsgNum != int64(len(acked)) {
		t.Fatalf("active %d, want %d", info.ActiveMsgNum, len(acked))
	}
	expectAll(t, fresh, acked)
}

func TestDamagedMembershipFileRefused(t *testing.T) {
	c := newCluster(t, 1)
	tn := c.leader()
	sendN(t, tn, 3)
	c.stop(tn.id)
	path := filepath.Join(tn.dir, "raft", membersFile)
	if err := os.WriteFile(path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := c.open(tn.id, false); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("start with a 0-byte %s: %v, want an error naming it", path, err)
	}
}

// TestStaleEngineDataRefused restores an old copy of the engine directory under a raft
// log compacted past it: the entries in between are gone, so the node refuses to start
// instead of serving a state that misses committed commands.
func TestStaleEngineDataRefused(t *testing.T) {
	c := newClusterWith(t, 1, func(c *cluster) {
		c.engineOpts.CheckpointBytes = 1024
		c.catchUp = 5
	})
	tn := c.leader()
	sendN(t, tn, 5)
	c.stop(tn.id)
	engineDir := filepath.Join(tn.dir, "engine")
	old := filepath.Join(t.TempDir(), "engine.old")
	if err := os.CopyFS(old, os.DirFS(engineDir)); err != nil {
		t.Fatal(err)
	}
	tn = c.start(tn.id, false)
	for i := 0; i < 10; i++ {
		sendN(t, tn, 20)
	}
	if first, _ := tn.node.storage.FirstIndex(); first < 50 {
		t.Fatalf("the raft log was not compacted (first index %d)", first)
	}
	c.stop(tn.id)
	if err := os.RemoveAll(engineDir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(old, engineDir); err != nil {
		t.Fatal(err)
	}
	_, err := c.open(tn.id, false)
	if err == nil || !strings.Contains(err.Error(), "older than the raft log") {
		t.Fatalf("start on stale engine data: %v", err)
	}
}

// TestDamagedSnapshotStreamRefused flips a bit in the first snapshot stream sent to a
// lagging follower: it refuses the stream (and does not stop), the leader sends it again,
// and the follower catches up.
func TestDamagedSnapshotStreamRefused(t *testing.T) {
	c := newClusterWith(t, 3, withSnapshots)
	lead, laggard, acked := c.lagBehindSnapshot(200)
	c.net.damageSnapshots.Store(1)
	laggard = c.start(laggard.id, false)
	c.waitApplied(lead.eng.AppliedIndex())
	if c.net.damageSnapshots.Load() >= 0 {
		t.Fatal("no snapshot was sent")
	}
	if err := laggard.node.Err(); err != nil {
		t.Fatalf("the follower stopped on a damaged stream instead of refusing it: %v", err)
	}
	expectAll(t, laggard, acked)
	if _, err := laggard.eng.SendMessage(context.Background(), "ns", "q", []byte("after"), 0); err != nil {
		t.Fatal(err)
	}
}
