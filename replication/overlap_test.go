package replication

import (
	"context"
	"testing"
	"time"

	"github.com/opencmq/opencmq/engine"
)

// TestLeaderReplicatesDuringItsFsyncButAnswersAfter: the leader sends an entry to its
// followers before its own fsync of it (so the disks work in parallel), yet the sender is
// answered only once the leader's fsync is done too. With one follower cut off, the entry's
// majority is the leader and the other follower: the follower's copy alone must not be
// enough.
func TestLeaderReplicatesDuringItsFsyncButAnswersAfter(t *testing.T) {
	c := newCluster(t, 3)
	lead := c.leader()
	ctx := ctxT(t)
	if _, err := lead.eng.CreateQueue(ctx, "ns", "q", engine.DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	var follower, cut *testNode
	for _, tn := range c.nodes {
		switch {
		case tn == lead:
		case follower == nil:
			follower = tn
		default:
			cut = tn
		}
	}
	c.net.isolate(cut.id)

	inSync, release := make(chan struct{}, 1), make(chan struct{})
	hook := func() {
		select {
		case inSync <- struct{}{}:
			<-release
		default:
		}
	}
	lead.node.beforeSync.Store(&hook)
	defer close(release)

	sent := make(chan error, 1)
	go func() {
		_, err := lead.eng.SendMessage(context.Background(), "ns", "q", []byte("m"), 0)
		sent <- err
	}()
	select {
	case <-inSync:
	case <-time.After(10 * time.Second):
		t.Fatal("the leader never synced the entry")
	}
	// The leader's loop is parked before its fsync; the entry must reach the follower anyway.
	last, _ := lead.node.storage.LastIndex()
	for i := 0; ; i++ {
		if got, _ := follower.node.storage.LastIndex(); got >= last {
			break
		}
		if i == 1000 {
			t.Fatalf("follower did not get entry %d while the leader was syncing it", last)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-sent:
		t.Fatalf("send answered (%v) before the leader's own fsync", err)
	default:
	}
	lead.node.beforeSync.Store(nil)
	release <- struct{}{}
	if err := <-sent; err != nil {
		t.Fatalf("send after the leader's fsync: %v", err)
	}
}
