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

// TestFollowerForwardsDuringItsFsync: a proposal made on a follower goes to the leader
// before the follower's fsync of the Ready that carries it (a forwarded proposal promises
// nothing about the follower's disk), so the leader commits it with the third node while
// the follower is still syncing; the follower's client is answered once the follower
// applies it.
func TestFollowerForwardsDuringItsFsync(t *testing.T) {
	c := newCluster(t, 3)
	lead := c.leader()
	ctx := ctxT(t)
	if _, err := lead.eng.CreateQueue(ctx, "ns", "q", engine.DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	var f *testNode
	for _, tn := range c.nodes {
		if tn != lead {
			f = tn
			break
		}
	}
	parked, release := make(chan struct{}, 16), make(chan struct{}, 16)
	hook := func() {
		parked <- struct{}{}
		<-release
	}
	f.node.beforeSync.Store(&hook)
	defer func() {
		f.node.beforeSync.Store(nil)
		for range 16 {
			release <- struct{}{}
		}
	}()
	waitParked := func(what string) {
		t.Helper()
		select {
		case <-parked:
		case <-time.After(10 * time.Second):
			t.Fatalf("the follower never synced %s", what)
		}
	}
	send := func(tn *testNode, body string) chan error {
		done := make(chan error, 1)
		go func() {
			_, err := tn.eng.SendMessage(context.Background(), "ns", "q", []byte(body), 0)
			done <- err
		}()
		return done
	}

	// 1. The follower parks in the fsync of an entry from the leader.
	first := send(lead, "first")
	waitParked("the first entry")
	// 2. Meanwhile a send through the follower waits in its loop's queue, and the leader
	// sends it another entry: its next Ready carries both, and must be synced.
	viaFollower := send(f, "via the follower")
	second := send(lead, "second")
	waitUntil(t, "the follower has the proposal and the leader's entry queued", func() bool {
		return len(f.node.propc) > 0 && len(f.node.recvc) > 0
	})
	release <- struct{}{}
	waitParked("the Ready with the forwarded proposal")
	// 3. With the follower parked before that fsync, the leader and the third node commit
	// all three sends.
	for _, done := range []chan error{first, second} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "the leader applies the proposal forwarded by a follower that is still syncing", func() bool {
		info, err := lead.eng.GetQueueAttributes(ctx, "ns", "q")
		return err == nil && info.ActiveMsgNum == 3
	})
	select {
	case err := <-viaFollower:
		t.Fatalf("the follower answered (%v) before it applied the entry", err)
	default:
	}
	f.node.beforeSync.Store(nil)
	release <- struct{}{}
	if err := <-viaFollower; err != nil {
		t.Fatalf("send through the follower: %v", err)
	}
}
