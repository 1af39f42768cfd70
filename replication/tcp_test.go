package replication

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencmq/opencmq/engine"
)

// TestTCPClusterJoinWithoutPeerList runs three nodes over the TCP transport on 127.0.0.1,
// adds a fourth that starts with no list of members, and checks it catches up: it learns
// where the leader is from the leader's own connection.
func TestTCPClusterJoinWithoutPeerList(t *testing.T) {
	ctx := ctxT(t)
	transports := map[uint64]*TCPTransport{}
	var peers []Peer
	for id := uint64(1); id <= 4; id++ {
		tr, err := NewTCPTransport("127.0.0.1:0", quiet)
		if err != nil {
			t.Fatal(err)
		}
		transports[id] = tr
		if id <= 3 {
			peers = append(peers, Peer{ID: id, Addr: tr.Addr()})
		}
	}
	type member struct {
		node *Node
		eng  *engine.Engine
	}
	members := map[uint64]member{}
	start := func(id uint64, join bool) {
		dir := t.TempDir()
		cfg := Config{ID: id, Dir: filepath.Join(dir, "raft"), Transport: transports[id], TickInterval: 10 * time.Millisecond, Logger: quiet}
		if join {
			cfg.Join = true
		} else {
			cfg.Peers = peers
		}
		node, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		eng, err := engine.Open(filepath.Join(dir, "engine"), engine.Options{Replicator: node, Logger: quiet, Limits: engine.Limits{MinMaxMsgHeapNum: 1}})
		if err != nil {
			t.Fatal(err)
		}
		if err := node.Start(eng); err != nil {
			t.Fatal(err)
		}
		members[id] = member{node, eng}
		t.Cleanup(func() { node.Stop(); eng.Close() })
	}
	for id := uint64(1); id <= 3; id++ {
		start(id, false)
	}
	var lead member
	for i := 0; i < 500 && lead.node == nil; i++ {
		for _, m := range members {
			if m.node.Status().Role == "leader" {
				lead = m
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if lead.node == nil {
		t.Fatal("no leader")
	}
	if _, err := lead.eng.CreateQueue(ctx, "ns", "q", engine.DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, err := lead.eng.SendMessage(ctx, "ns", "q", []byte(fmt.Sprint(i)), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := lead.node.AddNode(ctx, Peer{ID: 4, Addr: transports[4].Addr()}); err != nil {
		t.Fatal(err)
	}
	start(4, true)
	joined := members[4]
	for i := 0; i < 1000 && !joined.node.Ready(); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if !joined.node.Ready() {
		t.Fatalf("the joined node never became ready: %+v", joined.node.Status())
	}
	info, err := joined.eng.GetQueueAttributes(ctx, "ns", "q")
	if err != nil || info.ActiveMsgNum != 20 {
		t.Fatalf("joined node sees %+v (%v)", info, err)
	}
}

func TestStopWithoutStart(t *testing.T) {
	tr, err := NewTCPTransport("127.0.0.1:0", quiet)
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(Config{ID: 1, Dir: t.TempDir(), Transport: tr, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Stop() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Stop hung on a node that never started")
	}
}
