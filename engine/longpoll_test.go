package engine

import (
	"context"
	"testing"
	"time"

	"github.com/opencmq/opencmq/segment/vfs"
)

// openRealTime opens an engine with the real clock and the background scheduler, as a
// server runs it.
func openRealTime(t *testing.T) *Engine {
	t.Helper()
	e, err := Open("/data", Options{FS: vfs.NewMem(), Limits: testLimits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// receiveAsync starts a long-polling receive and returns a channel with its outcome.
func receiveAsync(e *Engine, queue string, wait int64) <-chan []Message {
	out := make(chan []Message, 1)
	go func() {
		msgs, _ := e.ReceiveMessage(context.Background(), "ns", queue, 1, wait)
		out <- msgs
	}()
	return out
}

func TestLongPollWakesOnSend(t *testing.T) {
	e := openRealTime(t)
	ctx := context.Background()
	if _, err := e.CreateQueue(ctx, "ns", "q", DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	got := receiveAsync(e, "q", 30)
	if _, err := e.SendMessage(ctx, "ns", "q", []byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	// The receive must return the message, well before its 30 s wait would end: the test's
	// own timeout catches a receiver that is not woken.
	msgs := <-got
	if len(msgs) != 1 || string(msgs[0].Body) != "hello" {
		t.Fatalf("long poll returned %v", msgs)
	}
}

func TestLongPollWakesOnDelayAndLeaseExpiry(t *testing.T) {
	e := openRealTime(t)
	ctx := context.Background()
	a := DefaultQueueAttributes()
	a.VisibilityTimeout = 1
	if _, err := e.CreateQueue(ctx, "ns", "q", a); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SendMessage(ctx, "ns", "q", []byte("later"), 1); err != nil {
		t.Fatal(err)
	}
	// Woken by the scheduler when the delay passes.
	first := <-receiveAsync(e, "q", 30)
	if len(first) != 1 {
		t.Fatalf("delayed message not delivered: %v", first)
	}
	// Not deleted: woken again when its one-second lease runs out.
	second := <-receiveAsync(e, "q", 30)
	if len(second) != 1 || second[0].DequeueCount != 2 {
		t.Fatalf("expired lease not redelivered: %+v", second)
	}
}

func TestLongPollTimesOutEmpty(t *testing.T) {
	e := openRealTime(t)
	ctx := context.Background()
	if _, err := e.CreateQueue(ctx, "ns", "q", DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	_, err := e.ReceiveMessage(ctx, "ns", "q", 1, 1)
	wantErr(t, err, ErrNoMessage)
	// A cancelled context ends the wait as "no message" too.
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	_, err = e.ReceiveMessage(cctx, "ns", "q", 1, 30)
	wantErr(t, err, ErrNoMessage)
}
