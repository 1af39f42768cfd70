package httpapi

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/segment/vfs"
)

// TestReplayAcrossNodesAndRestarts: a signed state-changing request is refused when it is
// replayed to another node (another Server, with its own replay cache, in front of the
// same replicated state) and after a restart (a new Server, and the engine reopened from
// its files); the replay changes nothing. Different requests that reuse a Nonce, and
// repeated reads, are accepted everywhere.
func TestReplayAcrossNodesAndRestarts(t *testing.T) {
	fs := vfs.NewMem()
	clock := newFakeClock(testEpoch)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	openEngine := func() *engine.Engine {
		eng, err := engine.Open("/d", engine.Options{FS: fs, Now: clock.Now, Limits: engine.Limits{MinMaxMsgHeapNum: 1},
			ManualTick: true, Logger: quiet, Push: engine.PushOptions{Disabled: true}})
		if err != nil {
			t.Fatal(err)
		}
		return eng
	}
	node := func(eng *engine.Engine) *testEnv {
		srv, err := New(Config{Backend: eng, Accounts: []Account{accountA, accountB}, Now: clock.Now, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return &testEnv{t: t, clock: clock, eng: eng, srv: srv}
	}
	eng := openEngine()
	n1, n2 := node(eng), node(eng)
	n1.mustCreate("ns-a", "q", nil)
	c := n1.client(accountA)
	active := func(e *testEnv) int64 {
		info, err := e.eng.GetQueueAttributes(context.Background(), "ns-a", "q")
		if err != nil {
			t.Fatal(err)
		}
		return info.ActiveMsgNum
	}

	send := c.request(c.sign("SendMessage", kvs("queueName", "q", "msgBody", "once")))
	wantCode(t, n1.roundTrip(send), 0, 0)
	got := n2.roundTrip(send)
	wantCode(t, got, 4100, 10030)
	if got["message"] != "(10030)"+engine.ErrReplayed.Message {
		t.Fatalf("message %q", got["message"])
	}
	wantCode(t, n1.roundTrip(send), 4100, 10030) // this node's cache
	if n := active(n1); n != 1 {
		t.Fatalf("%d messages after the replays, want 1", n)
	}

	// The same Nonce in another request (CPP reseeds every second, NODE's Nonce is 0–9999)
	// is another signature: accepted, on either node.
	c.nonce--
	wantCode(t, n2.roundTrip(c.request(c.sign("SendMessage", kvs("queueName", "q", "msgBody", "other")))), 0, 0)
	// So are repeated reads, on any node.
	get := c.request(c.sign("GetQueueAttributes", kvs("queueName", "q")))
	wantCode(t, n1.roundTrip(get), 0, 0)
	wantCode(t, n2.roundTrip(get), 0, 0)
	// Another account's identical-looking request is its own.
	cb := n1.client(accountB)
	wantCode(t, n1.roundTrip(cb.request(cb.sign("CreateQueue", kvs("queueName", "q")))), 0, 0)

	// Every state-changing action carries its key: a delete replayed elsewhere is refused
	// (here it would fail anyway; the replay check comes first and says so).
	recv := n1.client(accountA).do("ReceiveMessage", "queueName", "q")
	wantCode(t, recv, 0, 0)
	del := c.request(c.sign("DeleteMessage", kvs("queueName", "q", "receiptHandle", recv["receiptHandle"].(string))))
	wantCode(t, n2.roundTrip(del), 0, 0)
	if got := n1.roundTrip(del); got["message"] != "(10030)"+engine.ErrReplayed.Message {
		t.Fatalf("replayed delete: %v", got)
	}

	// Restart: the engine reopens from its files, the node's cache starts empty.
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	eng = openEngine()
	defer eng.Close()
	n3 := node(eng)
	before := active(n3)
	wantCode(t, n3.roundTrip(send), 4100, 10030)
	wantCode(t, n3.roundTrip(del), 4100, 10030)
	if n := active(n3); n != before {
		t.Fatalf("%d messages after replays past a restart, want %d", n, before)
	}

	// With the replay check off, nothing carries a key.
	n4, err := New(Config{Backend: eng, Accounts: []Account{accountA}, Now: clock.Now, Logger: quiet, DisableReplayCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	e4 := &testEnv{t: t, clock: clock, eng: eng, srv: n4}
	twice := c.request(c.sign("SendMessage", kvs("queueName", "q", "msgBody", "twice")))
	wantCode(t, e4.roundTrip(twice), 0, 0)
	wantCode(t, e4.roundTrip(twice), 0, 0)
}
