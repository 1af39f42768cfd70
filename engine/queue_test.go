package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestCreateQueueValidation(t *testing.T) {
	h := newHarness(t)
	mod := func(f func(*QueueAttributes)) QueueAttributes {
		a := DefaultQueueAttributes()
		f(&a)
		return a
	}
	cases := []struct {
		name  string
		queue string
		attrs QueueAttributes
		want  error
	}{
		{"name must start with a letter", "1abc", DefaultQueueAttributes(), ErrQueueName},
		{"name may not be empty", "", DefaultQueueAttributes(), ErrQueueName},
		{"name may not hold a dot", "a.b", DefaultQueueAttributes(), ErrQueueName},
		{"name may not hold a slash", "a/b", DefaultQueueAttributes(), ErrQueueName},
		{"name of 65 characters", "a" + strings.Repeat("b", 64), DefaultQueueAttributes(), ErrQueueName},
		{"name of unicode letters", "队列", DefaultQueueAttributes(), ErrQueueName},
		{"maxMsgHeapNum zero", "q", mod(func(a *QueueAttributes) { a.MaxMsgHeapNum = 0 }), ErrParameterRange},
		{"maxMsgHeapNum too big", "q", mod(func(a *QueueAttributes) { a.MaxMsgHeapNum = 1_000_000_001 }), ErrParameterRange},
		{"pollingWaitSeconds 31", "q", mod(func(a *QueueAttributes) { a.PollingWaitSeconds = 31 }), ErrParameterRange},
		{"pollingWaitSeconds negative", "q", mod(func(a *QueueAttributes) { a.PollingWaitSeconds = -1 }), ErrParameterRange},
		{"visibilityTimeout 0", "q", mod(func(a *QueueAttributes) { a.VisibilityTimeout = 0 }), ErrParameterRange},
		{"visibilityTimeout 43201", "q", mod(func(a *QueueAttributes) { a.VisibilityTimeout = 43201 }), ErrParameterRange},
		{"maxMsgSize 1023", "q", mod(func(a *QueueAttributes) { a.MaxMsgSize = 1023 }), ErrParameterRange},
		{"maxMsgSize above 1 MiB", "q", mod(func(a *QueueAttributes) { a.MaxMsgSize = 1<<20 + 1 }), ErrParameterRange},
		{"msgRetentionSeconds 59", "q", mod(func(a *QueueAttributes) { a.MsgRetentionSeconds = 59 }), ErrParameterRange},
		{"msgRetentionSeconds above 15 days", "q", mod(func(a *QueueAttributes) { a.MsgRetentionSeconds = 1_296_001 }), ErrParameterRange},
		{"rewindSeconds negative", "q", mod(func(a *QueueAttributes) { a.RewindSeconds = -1 }), ErrParameterRange},
		{"rewindSeconds above retention", "q", mod(func(a *QueueAttributes) { a.MsgRetentionSeconds = 100; a.RewindSeconds = 101 }), ErrRewindRetention},
		{"dead letter queue missing", "q", mod(func(a *QueueAttributes) {
			a.DeadLetter = &DeadLetterPolicy{Queue: "nope", Policy: 0, MaxReceiveCount: 3}
		}), ErrDeadLetterMissing},
		{"dead letter policy 2", "q", mod(func(a *QueueAttributes) { a.DeadLetter = &DeadLetterPolicy{Queue: "x", Policy: 2} }), ErrDeadLetterParams},
		{"dead letter receive count 0", "q", mod(func(a *QueueAttributes) { a.DeadLetter = &DeadLetterPolicy{Queue: "x", Policy: 0} }), ErrDeadLetterParams},
		{"dead letter ttl below 300", "q", mod(func(a *QueueAttributes) {
			a.DeadLetter = &DeadLetterPolicy{Queue: "x", Policy: 1, MaxTimeToLive: 299}
		}), ErrDeadLetterParams},
		{"dead letter ttl not below retention", "q", mod(func(a *QueueAttributes) {
			a.MsgRetentionSeconds = 600
			a.DeadLetter = &DeadLetterPolicy{Queue: "x", Policy: 1, MaxTimeToLive: 600}
		}), ErrDeadLetterParams},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.e.CreateQueue(h.ctx, "ns", c.queue, c.attrs)
			wantErr(t, err, c.want)
		})
	}
	total, _, err := h.e.ListQueues(context.Background(), "ns", "", 0, 100)
	if err != nil || total != 0 {
		t.Fatalf("refused creates left %d queues (err %v)", total, err)
	}
}

func TestCreateQueueExistsCaseInsensitive(t *testing.T) {
	h := newHarness(t)
	h.create("Orders", nil)
	_, err := h.e.CreateQueue(h.ctx, "ns", "orders", DefaultQueueAttributes())
	wantErr(t, err, ErrQueueExists)
	// Another namespace has its own names.
	if _, err := h.e.CreateQueue(h.ctx, "other", "orders", DefaultQueueAttributes()); err != nil {
		t.Fatal(err)
	}
	// Lookups ignore case too.
	if got := h.info("ORDERS").Name; got != "Orders" {
		t.Fatalf("name = %q, want the name as created", got)
	}
}

func TestQueueLimitPerNamespace(t *testing.T) {
	h := newHarness(t)
	h.e.Close()
	h.opts.Limits.MaxQueuesPerNamespace = 3
	h.open()
	for i := 0; i < 3; i++ {
		h.create(fmt.Sprintf("q%d", i), nil)
	}
	_, err := h.e.CreateQueue(h.ctx, "ns", "q3", DefaultQueueAttributes())
	wantErr(t, err, ErrTooManyQueues)
	if _, err := h.e.CreateQueue(h.ctx, "other", "q3", DefaultQueueAttributes()); err != nil {
		t.Fatalf("the limit is per namespace: %v", err)
	}
}

func TestListQueues(t *testing.T) {
	h := newHarness(t)
	for _, n := range []string{"alpha", "beta", "alphabet", "gamma", "Alpine"} {
		h.create(n, nil)
	}
	names := func(refs []QueueRef) []string {
		out := make([]string, len(refs))
		for i, r := range refs {
			out[i] = r.Name
		}
		return out
	}
	cases := []struct {
		search        string
		offset, limit int
		total         int
		want          []string
	}{
		{"", 0, 20, 5, []string{"alpha", "beta", "alphabet", "gamma", "Alpine"}},
		{"alp", 0, 20, 3, []string{"alpha", "alphabet", "Alpine"}},
		{"ALP", 1, 1, 3, []string{"alphabet"}},
		{"", 4, 20, 5, []string{"Alpine"}},
		{"", 9, 20, 5, []string{}},
		{"et", 0, 0, 2, []string{}},
		{"zzz", 0, 20, 0, []string{}},
	}
	for _, c := range cases {
		total, refs, err := h.e.ListQueues(context.Background(), "ns", c.search, c.offset, c.limit)
		if err != nil {
			t.Fatal(err)
		}
		if total != c.total {
			t.Errorf("search %q: total %d, want %d", c.search, total, c.total)
		}
		wantStrings(t, names(refs), c.want)
	}
	if total, _, _ := h.e.ListQueues(context.Background(), "other", "", 0, 20); total != 0 {
		t.Fatalf("another namespace sees %d queues", total)
	}
	_, _, err := h.e.ListQueues(context.Background(), "ns", "", -1, 20)
	wantErr(t, err, ErrParameterRange)
}

func TestSendReceiveDeleteCounters(t *testing.T) {
	h := newHarness(t)
	h.create("q", func(a *QueueAttributes) { a.VisibilityTimeout = 10 })
	h.send("q", "a", "b", "c")
	h.sendDelayed("q", 5, "d")
	if got := h.counts("q"); got != [4]int64{3, 0, 1, 0} {
		t.Fatalf("after send: %v", got)
	}
	msgs := h.receive("q", 2)
	wantStrings(t, h.bodies(msgs), []string{"a", "b"})
	if got := h.counts("q"); got != [4]int64{1, 2, 1, 0} {
		t.Fatalf("after receive: %v", got)
	}
	m := msgs[0]
	if m.DequeueCount != 1 || m.FirstDequeueTime.IsZero() || !m.NextVisibleTime.Equal(h.clock.Now().Add(10*time.Second)) {
		t.Fatalf("message fields: %+v", m)
	}
	if err := h.e.DeleteMessage(h.ctx, "ns", "q", m.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if got := h.counts("q"); got != [4]int64{1, 1, 1, 0} {
		t.Fatalf("after delete: %v", got)
	}
	// The delay passes: d becomes visible; counters follow the clock even before a tick.
	h.clock.Advance(5 * time.Second)
	if got := h.counts("q"); got != [4]int64{2, 1, 0, 0} {
		t.Fatalf("after the delay: %v", got)
	}
	wantStrings(t, h.bodies(h.receive("q", 16)), []string{"c", "d"})
	// b's visibility timeout passes: it comes back with a second dequeue count.
	h.clock.Advance(5 * time.Second)
	again := h.receive("q", 16)
	wantStrings(t, h.bodies(again), []string{"b"})
	if again[0].DequeueCount != 2 || !again[0].FirstDequeueTime.Equal(msgs[1].FirstDequeueTime) {
		t.Fatalf("redelivery: %+v", again[0])
	}
	if again[0].ID != msgs[1].ID {
		t.Fatalf("redelivery changed the id: %s vs %s", again[0].ID, msgs[1].ID)
	}
}

func TestMinMsgTime(t *testing.T) {
	h := newHarness(t)
	h.create("q", nil)
	if !h.info("q").MinMsgTime.IsZero() {
		t.Fatal("empty queue has a minMsgTime")
	}
	t0 := h.clock.Now()
	h.send("q", "a")
	h.clock.Advance(time.Second)
	h.send("q", "b")
	if got := h.info("q").MinMsgTime; !got.Equal(t0) {
		t.Fatalf("minMsgTime %v, want %v", got, t0)
	}
	m := h.receive("q", 1)
	h.e.DeleteMessage(h.ctx, "ns", "q", m[0].ReceiptHandle)
	if got := h.info("q").MinMsgTime; !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("minMsgTime after delete %v, want %v", got, t0.Add(time.Second))
	}
}

func TestSendLimits(t *testing.T) {
	h := newHarness(t)
	h.create("q", func(a *QueueAttributes) { a.MaxMsgSize = 1024; a.MaxMsgHeapNum = 3 })
	_, err := h.e.SendMessage(h.ctx, "ns", "q", make([]byte, 1025), 0)
	wantErr(t, err, ErrMsgTooLarge)
	_, err = h.e.SendMessage(h.ctx, "ns", "q", nil, 0)
	wantErr(t, err, ErrEmptyBody)
	_, err = h.e.BatchSendMessage(h.ctx, "ns", "q", make([][]byte, 17), 0)
	wantErr(t, err, ErrBatchSize)
	_, err = h.e.SendMessage(h.ctx, "ns", "q", []byte("x"), -1)
	wantErr(t, err, ErrParameterRange)
	_, err = h.e.SendMessage(h.ctx, "ns", "missing", []byte("x"), 0)
	wantErr(t, err, ErrQueueNotExist)
	if _, err := h.e.SendMessage(h.ctx, "ns", "q", make([]byte, 1024), 0); err != nil {
		t.Fatalf("a body of exactly maxMsgSize: %v", err)
	}
	h.send("q", "a", "b")
	// The backlog is full: a batch that would pass it is refused whole.
	_, err = h.e.SendMessage(h.ctx, "ns", "q", []byte("c"), 0)
	wantErr(t, err, ErrQueueFull)
	// Received (in-flight) messages still count; deleting frees room.
	m := h.receive("q", 1)
	_, err = h.e.SendMessage(h.ctx, "ns", "q", []byte("c"), 0)
	wantErr(t, err, ErrQueueFull)
	if err := h.e.DeleteMessage(h.ctx, "ns", "q", m[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	h.send("q", "c")
	if got := h.counts("q"); got != [4]int64{3, 0, 0, 0} {
		t.Fatalf("counts %v", got)
	}
}

func TestReceiptHandleErrors(t *testing.T) {
	h := newHarness(t)
	h.create("q", func(a *QueueAttributes) { a.VisibilityTimeout = 10 })
	h.create("other", nil)
	h.send("q", "a", "b")
	h.send("other", "x")
	first := h.receive("q", 1)[0]
	otherMsg := h.receive("other", 1)[0]

	wantErr(t, h.e.DeleteMessage(h.ctx, "ns", "q", "garbage"), ErrHandleMalformed)
	tampered := []byte(first.ReceiptHandle)
	tampered[10] ^= 1 // still in the alphabet, fails the check
	wantErr(t, h.e.DeleteMessage(h.ctx, "ns", "q", string(tampered)), ErrHandleMalformed)
	last := []byte(first.ReceiptHandle) // only unused bits change: strict decoding refuses it
	last[len(last)-1] = map[bool]byte{true: 'B', false: 'A'}[last[len(last)-1] == 'A']
	wantErr(t, h.e.DeleteMessage(h.ctx, "ns", "q", string(last)), ErrHandleMalformed)
	wantErr(t, h.e.DeleteMessage(h.ctx, "ns", "q", otherMsg.ReceiptHandle), ErrHandleWrongQueue)

	// The lease runs out and the message is received again: the first handle is stale.
	h.clock.Advance(10 * time.Second)
	second := h.receive("q", 1)[0]
	if second.ID != first.ID || second.ReceiptHandle == first.ReceiptHandle {
		t.Fatalf("expected a new handle for the same message")
	}
	wantErr(t, h.e.DeleteMessage(h.ctx, "ns", "q", first.ReceiptHandle), ErrHandleStale)
	if err := h.e.DeleteMessage(h.ctx, "ns", "q", second.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	wantErr(t, h.e.DeleteMessage(h.ctx, "ns", "q", second.ReceiptHandle), ErrHandleDeleted)

	// A lease that ran out without a new receive is stale too.
	b := h.receive("q", 1)[0]
	h.clock.Advance(10 * time.Second)
	wantErr(t, h.e.DeleteMessage(h.ctx, "ns", "q", b.ReceiptHandle), ErrHandleStale)

	// A queue deleted and re-created under the same name: old handles are for another queue.
	c := h.receive("q", 1)[0]
	if err := h.e.DeleteQueue(h.ctx, "ns", "q"); err != nil {
		t.Fatal(err)
	}
	h.create("q", nil)
	wantErr(t, h.e.DeleteMessage(h.ctx, "ns", "q", c.ReceiptHandle), ErrHandleWrongQueue)
}

func TestBatchDeletePerEntry(t *testing.T) {
	h := newHarness(t)
	h.create("q", nil)
	h.send("q", "a", "b", "c")
	msgs := h.receive("q", 3)
	if err := h.e.DeleteMessage(h.ctx, "ns", "q", msgs[1].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	errs, err := h.e.BatchDeleteMessage(h.ctx, "ns", "q", []string{msgs[0].ReceiptHandle, msgs[1].ReceiptHandle, "junk", msgs[2].ReceiptHandle})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || !errors.Is(errs[1], ErrHandleDeleted) || !errors.Is(errs[2], ErrHandleMalformed) || errs[3] != nil {
		t.Fatalf("per-entry results: %v", errs)
	}
	if got := h.counts("q"); got != [4]int64{0, 0, 0, 0} {
		t.Fatalf("counts %v", got)
	}
	_, err = h.e.BatchDeleteMessage(h.ctx, "ns", "q", nil)
	wantErr(t, err, ErrBatchSize)
}

func TestChangeMessageVisibility(t *testing.T) {
	h := newHarness(t)
	h.create("q", func(a *QueueAttributes) { a.VisibilityTimeout = 10 })
	h.send("q", "a")
	m := h.receive("q", 1)[0]
	// Extend the lease: it outlives the original timeout.
	next, err := h.e.ChangeMessageVisibility(h.ctx, "ns", "q", m.ReceiptHandle, 60)
	if err != nil || !next.Equal(h.clock.Now().Add(60*time.Second)) {
		t.Fatalf("extend: %v %v", next, err)
	}
	h.clock.Advance(30 * time.Second)
	if got := h.receive("q", 1); len(got) != 0 {
		t.Fatal("an extended lease ended early")
	}
	if err := h.e.DeleteMessage(h.ctx, "ns", "q", m.ReceiptHandle); err != nil {
		t.Fatalf("the handle stays valid after a change: %v", err)
	}
	// End a lease: the message is visible at once and the old handle is stale.
	h.send("q", "b")
	m = h.receive("q", 1)[0]
	if _, err := h.e.ChangeMessageVisibility(h.ctx, "ns", "q", m.ReceiptHandle, 0); err != nil {
		t.Fatal(err)
	}
	wantErr(t, h.e.DeleteMessage(h.ctx, "ns", "q", m.ReceiptHandle), ErrHandleStale)
	wantStrings(t, h.bodies(h.receive("q", 1)), []string{"b"})
	_, err = h.e.ChangeMessageVisibility(h.ctx, "ns", "q", m.ReceiptHandle, 43201)
	wantErr(t, err, ErrParameterRange)
}

func TestRetention(t *testing.T) {
	h := newHarness(t)
	h.create("q", func(a *QueueAttributes) { a.MsgRetentionSeconds = 60; a.VisibilityTimeout = 1000 })
	h.send("q", "old1", "old2")
	h.receive("q", 1) // one in flight: it expires all the same
	h.clock.Advance(30 * time.Second)
	h.send("q", "young")
	h.sendDelayed("q", 45, "delayed")
	h.clock.Advance(30 * time.Second) // old ones are exactly 60 s old now
	h.tick()
	if got := h.counts("q"); got != [4]int64{1, 0, 1, 0} {
		t.Fatalf("after retention: %v", got)
	}
	wantStrings(t, h.bodies(h.receive("q", 16)), []string{"young"})
	h.clock.Advance(30 * time.Second)
	h.tick()
	if got := h.counts("q"); got != [4]int64{0, 0, 0, 0} {
		t.Fatalf("everything expired: %v", got)
	}
}

func TestDeleteQueueThenRecreate(t *testing.T) {
	h := newHarness(t)
	h.create("q", nil)
	h.send("q", "old")
	if err := h.e.DeleteQueue(h.ctx, "ns", "q"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, h.e.DeleteQueue(h.ctx, "ns", "q"), ErrQueueNotExist)
	_, err := h.e.GetQueueAttributes(context.Background(), "ns", "q")
	wantErr(t, err, ErrQueueNotExist)
	h.create("q", nil)
	if got := h.receive("q", 16); len(got) != 0 {
		t.Fatalf("re-created queue shows %q", h.bodies(got))
	}
	h.reopen()
	if got := h.receive("q", 16); len(got) != 0 {
		t.Fatalf("after restart the re-created queue shows %q", h.bodies(got))
	}
}

func TestSetQueueAttributes(t *testing.T) {
	h := newHarness(t)
	h.create("q", nil)
	v := int64(120)
	a, err := h.e.SetQueueAttributes(h.ctx, "ns", "q", QueueAttributeUpdate{VisibilityTimeout: &v})
	if err != nil || a.VisibilityTimeout != 120 || a.MaxMsgSize != MaxMsgSizeDefault {
		t.Fatalf("set: %+v %v", a, err)
	}
	bad := int64(0)
	_, err = h.e.SetQueueAttributes(h.ctx, "ns", "q", QueueAttributeUpdate{VisibilityTimeout: &bad})
	wantErr(t, err, ErrParameterRange)
	if got := h.info("q").Attributes.VisibilityTimeout; got != 120 {
		t.Fatalf("a refused update changed the queue: %d", got)
	}
	_, err = h.e.SetQueueAttributes(h.ctx, "ns", "missing", QueueAttributeUpdate{VisibilityTimeout: &v})
	wantErr(t, err, ErrQueueNotExist)
}

func TestRewind(t *testing.T) {
	h := newHarness(t)
	h.create("q", func(a *QueueAttributes) { a.RewindSeconds = 3600 })
	h.create("norewind", nil)
	consume := func() []string {
		var got []string
		for _, m := range h.receive("q", 16) {
			got = append(got, string(m.Body))
			if err := h.e.DeleteMessage(h.ctx, "ns", "q", m.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
		}
		return got
	}
	h.clock.Advance(500 * time.Millisecond) // t0 + 0.5 s: not on a second boundary
	h.send("q", "a")
	t1 := h.clock.Now()
	h.clock.Advance(time.Second) // the next message is in the next second
	h.send("q", "b")
	h.clock.Advance(time.Second)
	h.send("q", "c")
	wantStrings(t, consume(), []string{"a", "b", "c"})
	if got := h.counts("q"); got != [4]int64{0, 0, 0, 3} {
		t.Fatalf("deleted messages are kept for rewind: %v", got)
	}
	// Rewind to the second after a's: a was enqueued before it (at .5 of the previous
	// second) and stays consumed; b and c come back in send order.
	start := t1.Unix() + 1
	if err := h.e.RewindQueue(h.ctx, "ns", "q", start); err != nil {
		t.Fatal(err)
	}
	wantStrings(t, consume(), []string{"b", "c"})
	// The bound is inclusive: rewinding to a's own second brings a back.
	if err := h.e.RewindQueue(h.ctx, "ns", "q", t1.Unix()); err != nil {
		t.Fatal(err)
	}
	wantStrings(t, consume(), []string{"a", "b", "c"})
	// Out of the window, and in the future, are refused; a queue without rewind refuses.
	now := h.clock.Now().Unix()
	wantErr(t, h.e.RewindQueue(h.ctx, "ns", "q", now-3601), ErrRewindTime)
	wantErr(t, h.e.RewindQueue(h.ctx, "ns", "q", now+1), ErrRewindTime)
	wantErr(t, h.e.RewindQueue(h.ctx, "ns", "norewind", now), ErrRewindDisabled)
	// Rewound messages survive a restart.
	if err := h.e.RewindQueue(h.ctx, "ns", "q", t1.Unix()); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	wantStrings(t, consume(), []string{"a", "b", "c"})
	// Past the rewind window, deleted messages are dropped for good.
	h.clock.Advance(3601 * time.Second)
	h.tick()
	if got := h.counts("q"); got != [4]int64{0, 0, 0, 0} {
		t.Fatalf("rewindable after the window: %v", got)
	}
}

func TestRewindCancelsLeases(t *testing.T) {
	h := newHarness(t)
	h.create("q", func(a *QueueAttributes) { a.RewindSeconds = 600 })
	start := h.clock.Now().Unix()
	h.send("q", "a", "b")
	inflight := h.receive("q", 1)[0]
	if err := h.e.RewindQueue(h.ctx, "ns", "q", start); err != nil {
		t.Fatal(err)
	}
	wantErr(t, h.e.DeleteMessage(h.ctx, "ns", "q", inflight.ReceiptHandle), ErrHandleStale)
	got := h.receive("q", 16)
	wantStrings(t, h.bodies(got), []string{"a", "b"})
	if got[0].DequeueCount != 1 {
		t.Fatalf("a rewound message starts its receive count again: %d", got[0].DequeueCount)
	}
}

func TestDeadLetterAfterMaxReceiveCount(t *testing.T) {
	h := newHarness(t)
	h.create("dlq", nil)
	h.create("q", func(a *QueueAttributes) {
		a.VisibilityTimeout = 10
		a.DeadLetter = &DeadLetterPolicy{Queue: "dlq", Policy: 0, MaxReceiveCount: 2}
	})
	ids := h.send("q", "poison")
	for i := 0; i < 2; i++ {
		if got := h.receive("q", 1); len(got) != 1 {
			t.Fatalf("receive %d: %d messages", i, len(got))
		}
		h.clock.Advance(10 * time.Second)
	}
	h.tick()
	if got := h.counts("q"); got != [4]int64{0, 0, 0, 0} {
		t.Fatalf("source after the move: %v", got)
	}
	if got := h.counts("dlq"); got != [4]int64{1, 0, 0, 0} {
		t.Fatalf("dead-letter queue after the move: %v", got)
	}
	dead := h.receive("dlq", 1)
	if len(dead) != 1 || string(dead[0].Body) != "poison" || dead[0].ID != ids[0] {
		t.Fatalf("dead letter: %+v (want id %s)", dead, ids[0])
	}
	total, refs, err := h.e.ListDeadLetterSourceQueues(context.Background(), "ns", "dlq", "", 0, 20)
	if err != nil || total != 1 || refs[0].Name != "q" {
		t.Fatalf("sources: %d %v %v", total, refs, err)
	}
	wantErr(t, h.e.DeleteQueue(h.ctx, "ns", "dlq"), ErrIsDeadLetterQueue)
	if err := h.e.UnbindDeadLetterQueue(h.ctx, "ns", "q"); err != nil {
		t.Fatal(err)
	}
	if h.info("q").Attributes.DeadLetter != nil {
		t.Fatal("unbind left the policy")
	}
	if err := h.e.DeleteQueue(h.ctx, "ns", "dlq"); err != nil {
		t.Fatalf("an unbound dead-letter queue can be deleted: %v", err)
	}
}

func TestDeadLetterTimeToLive(t *testing.T) {
	h := newHarness(t)
	h.create("dlq", nil)
	h.create("q", func(a *QueueAttributes) {
		a.DeadLetter = &DeadLetterPolicy{Queue: "dlq", Policy: 1, MaxTimeToLive: 300}
	})
	h.send("q", "old")
	h.clock.Advance(200 * time.Second)
	h.send("q", "young")
	h.clock.Advance(100 * time.Second)
	h.tick()
	wantStrings(t, h.bodies(h.receive("dlq", 16)), []string{"old"})
	wantStrings(t, h.bodies(h.receive("q", 16)), []string{"young"})
}

func TestDeadLetterBindingRules(t *testing.T) {
	h := newHarness(t)
	h.create("dlq", nil)
	policy := func(q string) func(*QueueAttributes) {
		return func(a *QueueAttributes) { a.DeadLetter = &DeadLetterPolicy{Queue: q, Policy: 0, MaxReceiveCount: 1} }
	}
	h.create("src", policy("dlq"))
	// A dead-letter queue may not have its own policy, nor be used through a source.
	_, err := h.e.SetQueueAttributes(h.ctx, "ns", "dlq", QueueAttributeUpdate{DeadLetter: &DeadLetterPolicy{Queue: "src", Policy: 0, MaxReceiveCount: 1}})
	wantErr(t, err, ErrDeadLetterNest)
	a := DefaultQueueAttributes()
	policy("src")(&a)
	_, err = h.e.CreateQueue(h.ctx, "ns", "x", a)
	wantErr(t, err, ErrDeadLetterNest)
	// At most MaxDeadLetterSources sources per dead-letter queue.
	for i := 1; i < 6; i++ {
		h.create(fmt.Sprintf("src%d", i), policy("dlq"))
	}
	a = DefaultQueueAttributes()
	policy("dlq")(&a)
	_, err = h.e.CreateQueue(h.ctx, "ns", "src6", a)
	wantErr(t, err, ErrDeadLetterBound)
	// Deleting a source frees a place.
	if err := h.e.DeleteQueue(h.ctx, "ns", "src5"); err != nil {
		t.Fatal(err)
	}
	h.create("src6", policy("dlq"))
	// The bindings survive a restart.
	h.reopen()
	total, _, _ := h.e.ListDeadLetterSourceQueues(context.Background(), "ns", "dlq", "", 0, 50)
	if total != 6 {
		t.Fatalf("sources after restart: %d", total)
	}
	wantErr(t, h.e.DeleteQueue(h.ctx, "ns", "dlq"), ErrIsDeadLetterQueue)
}

func TestRestartKeepsAcknowledgedState(t *testing.T) {
	for _, checkpoint := range []bool{false, true} {
		t.Run(fmt.Sprintf("checkpoint=%v", checkpoint), func(t *testing.T) {
			h := newHarness(t)
			if !checkpoint {
				h.opts.CheckpointBytes = 1 << 40
			}
			h.create("q", func(a *QueueAttributes) { a.VisibilityTimeout = 100 })
			h.send("q", "a", "b", "c", "d")
			h.sendDelayed("q", 50, "e")
			msgs := h.receive("q", 3)
			h.e.DeleteMessage(h.ctx, "ns", "q", msgs[1].ReceiptHandle)
			before := h.counts("q")
			if checkpoint {
				h.reopen() // Close writes a checkpoint
			} else {
				// A power loss: no Close, so no checkpoint; everything comes from the journal.
				h.crash(1)
			}
			if got := h.counts("q"); got != before {
				t.Fatalf("counts after restart %v, before %v", got, before)
			}
			// The in-flight handles still work, the deleted message stays deleted.
			if err := h.e.DeleteMessage(h.ctx, "ns", "q", msgs[0].ReceiptHandle); err != nil {
				t.Fatalf("handle after restart: %v", err)
			}
			wantErr(t, h.e.DeleteMessage(h.ctx, "ns", "q", msgs[1].ReceiptHandle), ErrHandleDeleted)
			wantStrings(t, h.bodies(h.receive("q", 16)), []string{"d"})
			h.clock.Advance(100 * time.Second)
			wantStrings(t, h.bodies(h.receive("q", 16)), []string{"c", "d", "e"})
		})
	}
}
