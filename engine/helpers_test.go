package engine

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/opencmq/opencmq/internal/testkit"
	"github.com/opencmq/opencmq/segment/vfs"
)

// fakeClock is a manual clock for tests: time moves only when a test says so.
type fakeClock = testkit.Clock

func newFakeClock() *fakeClock { return testkit.NewClock(time.UnixMilli(1_700_000_000_000)) }

// testLimits lowers CMQ's minimum maxMsgHeapNum so that tests can fill a queue.
var testLimits = Limits{MinMaxMsgHeapNum: 1}

type harness struct {
	t     testing.TB
	fs    vfs.FS
	dir   string
	clock *fakeClock
	opts  Options
	e     *Engine
	ctx   context.Context
}

// newHarness opens an engine on an in-memory file system with a fake clock and manual ticks.
func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, fs: vfs.NewMem(), dir: "/data", clock: newFakeClock(), ctx: context.Background()}
	h.opts = Options{FS: h.fs, Now: h.clock.Now, Limits: testLimits, ManualTick: true}
	h.open()
	t.Cleanup(func() {
		if h.e != nil {
			h.e.Close()
		}
	})
	return h
}

func (h *harness) open() {
	h.t.Helper()
	e, err := Open(h.dir, h.opts)
	if err != nil {
		h.t.Fatalf("Open: %v", err)
	}
	h.e = e
}

// reopen closes the engine cleanly and opens it again.
func (h *harness) reopen() {
	h.t.Helper()
	if err := h.e.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.open()
}

// crash simulates a power loss now: the engine is reopened on what a crash could leave on
// disk (synced data plus a random part of the rest); the old engine is discarded.
func (h *harness) crash(seed uint64) {
	h.t.Helper()
	clone := h.fs.(*vfs.MemFS).CrashClone(rand.New(rand.NewPCG(seed, seed)))
	h.e.Close() // its writes go to the old file system, which is dropped
	h.fs = clone
	h.opts.FS = clone
	h.open()
}

func (h *harness) create(name string, mod func(*QueueAttributes)) {
	h.t.Helper()
	a := DefaultQueueAttributes()
	if mod != nil {
		mod(&a)
	}
	if _, err := h.e.CreateQueue(h.ctx, "ns", name, a); err != nil {
		h.t.Fatalf("CreateQueue %s: %v", name, err)
	}
}

func (h *harness) send(queue string, bodies ...string) []string {
	h.t.Helper()
	return h.sendDelayed(queue, 0, bodies...)
}

func (h *harness) sendDelayed(queue string, delay int64, bodies ...string) []string {
	h.t.Helper()
	bs := make([][]byte, len(bodies))
	for i, b := range bodies {
		bs[i] = []byte(b)
	}
	ids, err := h.e.BatchSendMessage(h.ctx, "ns", queue, bs, delay)
	if err != nil {
		h.t.Fatalf("send to %s: %v", queue, err)
	}
	return ids
}

// receive receives up to n messages without waiting; none is not an error here.
func (h *harness) receive(queue string, n int) []Message {
	h.t.Helper()
	msgs, err := h.e.ReceiveMessage(h.ctx, "ns", queue, n, 0)
	if err != nil && !errors.Is(err, ErrNoMessage) {
		h.t.Fatalf("receive from %s: %v", queue, err)
	}
	return msgs
}

func (h *harness) bodies(msgs []Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Body)
	}
	return out
}

func (h *harness) info(queue string) QueueInfo {
	h.t.Helper()
	info, err := h.e.GetQueueAttributes(context.Background(), "ns", queue)
	if err != nil {
		h.t.Fatalf("GetQueueAttributes %s: %v", queue, err)
	}
	return info
}

// counts returns active, inactive, delayed and rewindable counts.
func (h *harness) counts(queue string) [4]int64 {
	h.t.Helper()
	i := h.info(queue)
	return [4]int64{i.ActiveMsgNum, i.InactiveMsgNum, i.DelayMsgNum, i.RewindMsgNum}
}

func (h *harness) tick() {
	h.t.Helper()
	if err := h.e.Tick(h.ctx); err != nil {
		h.t.Fatalf("Tick: %v", err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func wantStrings(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}
