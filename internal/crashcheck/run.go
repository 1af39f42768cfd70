// Package crashcheck is the crash-consistency workload and model shared by the crash tests
// of the engine (a standalone engine on an in-memory file system that simulates power
// loss) and of replication (the engine behind a one-voter raft group, as cmqd runs it).
// It is test support: no server code imports it.
//
// A Run drives a System with a random workload: single and batch sends, delayed sends,
// receives, deletes, visibility changes, rewinds, dead-letter moves (leases that run out
// on a queue with a dead-letter policy), queue deletes and creates, ticks, clean restarts
// and crashes. From the API's answers alone it keeps what the engine must hold: every
// acknowledged send (id, body, enqueue time) and every acknowledged delete. The System
// takes disk images at moments of its choosing (Capture); Verify opens nothing itself: it
// drains an engine recovered from an image and checks that
//
//  1. every acknowledged message that was not acknowledged deleted and is not past its
//     retention is still there (the clock moves past every lease and delay, everything is
//     received and compared by id); a message sent to q1 counts as there if it is in q1
//     or in its dead-letter queue, and it is never in both;
//  2. no acknowledged delete is undone, except by an acknowledged RewindQueue that covers
//     the message (after which it may come back), and no message of a deleted queue comes
//     back in a queue of the same name;
//  3. nothing is invented: every message received was acknowledged, or was being sent
//     when the image was taken;
//  4. bodies are byte-identical;
//  5. a queue being created or deleted when the image was taken is absent or whole.
package crashcheck

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/internal/testkit"
)

// System is the stack the workload drives.
type System interface {
	// Engine is the engine to call now (a restart replaces it).
	Engine() *engine.Engine
	// Reopen restarts the stack cleanly. Called by the workload only if Run.Reopens.
	Reopen()
	// Crash simulates a power loss between two calls and recovers from what it leaves.
	// Called by the workload only if Run.Crashes.
	Crash(seed uint64)
}

// Run is one seeded workload against a System, with its model.
type Run struct {
	Seed  uint64
	Rand  *rand.Rand // the workload's random source; a System may draw its options from it
	Clock *testkit.Clock

	// Reopens lets the workload restart the stack cleanly; Crashes lets it crash it
	// (between calls) and verify the recovered engine at once.
	Reopens, Crashes bool
	// State, if set, renders an engine's whole state: after a Crash between calls the
	// recovered state must equal the state before it (every command was acknowledged only
	// after it was durable, so recovery rebuilds exactly that state).
	State func(*engine.Engine) string

	t              testing.TB
	sys            System
	ctx            context.Context
	log            []string
	shortRetention bool

	// injected is set when a failpoint failed the stack on purpose: a call failing after
	// that has an unknown outcome (failedOp), and the workload stops.
	injected atomic.Bool
	failedOp *call
	stopped  bool
	// failedSends are sends refused after the failure (CheckRefuses): a failed stack may
	// have made them durable before it noticed, so they may appear after recovery.
	failedSends []*call

	mu       sync.Mutex // guards op, queues, pending, captures: capture hooks run on other goroutines
	op       int
	queues   map[string]*queueModel
	pending  *call
	captures []*Capture

	handles []handle
	deleted map[string]bool // ids acknowledged deleted (or gone with their queue), not rewound
	bodyN   int
	stats   map[string]int
}

type handle struct {
	queue string
	id    string
	s     string
}

// NewRun prepares a run for seed: its random source and model. Start creates the queues
// once the System is open (the System may draw its options from Rand first).
func NewRun(t testing.TB, seed uint64, clock *testkit.Clock, stats map[string]int) *Run {
	r := &Run{
		Seed: seed, Rand: rand.New(rand.NewPCG(seed, 0x63726173)), Clock: clock, Reopens: true,
		t: t, ctx: context.Background(), queues: map[string]*queueModel{}, deleted: map[string]bool{}, stats: stats,
	}
	r.shortRetention = r.Rand.IntN(2) == 0
	return r
}

// Start creates the workload's queues on sys.
func (r *Run) Start(sys System) {
	r.sys = sys
	for _, name := range queueNames {
		r.createQueue(name)
	}
}

// Stats are the counters the run adds to (shared by the runs of a test).
func (r *Run) Stats() map[string]int { return r.stats }

// Logf adds a line to the operation log printed on failure.
func (r *Run) Logf(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf("%4d ", r.op)+fmt.Sprintf(format, args...))
}

// Fatalf fails the test with the seed, the step and the end of the operation log.
func (r *Run) Fatalf(format string, args ...any) {
	r.t.Helper()
	log := r.log
	if !testing.Verbose() && len(log) > 40 {
		log = log[len(log)-40:]
	}
	r.t.Fatalf("seed %d, op %d: %s\noperations:\n%s", r.Seed, r.op, fmt.Sprintf(format, args...), strings.Join(log, "\n"))
}

// Steps runs up to n random operations, fewer if an injected failure stopped the stack.
func (r *Run) Steps(n int) {
	for op := 1; op <= n && !r.stopped; op++ {
		r.mu.Lock()
		r.op = op
		r.mu.Unlock()
		r.step()
	}
}

// Inject tells the run that the stack is being failed on purpose (by a failpoint): calls
// that fail from now on have unknown outcomes, and the workload stops at the first.
func (r *Run) Inject() { r.injected.Store(true) }

// Injected reports whether Inject was called.
func (r *Run) Injected() bool { return r.injected.Load() }

// Capture records an image taken by take, with what it must hold: the acknowledged state
// and the call in progress. take runs with the model locked, so no call starts or ends
// between the image and the model. Safe to call from any goroutine (a hook inside the
// stack).
func (r *Run) Capture(what string, take func() any) *Capture {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.captureLocked(what, take(), r.pending)
}

// CaptureAfterFailure records image, taken after an injected failure stopped the stack:
// the call that failed has an unknown outcome.
func (r *Run) CaptureAfterFailure(what string, image any) *Capture {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.captureLocked(what, image, r.failedOp)
}

func (r *Run) captureLocked(what string, image any, pending *call) *Capture {
	c := r.newCapture(what, image, pending)
	r.captures = append(r.captures, c)
	return c
}

// newCapture pairs image with a copy of the model. r.mu must be held.
func (r *Run) newCapture(what string, image any, pending *call) *Capture {
	c := &Capture{Image: image, What: what, Op: r.op, Now: r.Clock.Now().UnixMilli(), NestedOK: true,
		pending: pending, failedSends: r.failedSends, queues: make(map[string]*queueModel, len(r.queues))}
	for name, q := range r.queues {
		c.queues[name] = q.clone()
	}
	return c
}

// Captures returns the captures in the order they were taken.
func (r *Run) Captures() []*Capture {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Capture(nil), r.captures...)
}

// callFailed reports a call that failed: a test failure, unless the stack is being failed
// on purpose; then the call's outcome is unknown and the workload stops.
func (r *Run) callFailed(c *call, err error) {
	r.t.Helper()
	r.Logf("%s -> %v", c.desc, err)
	if !r.injected.Load() {
		r.Fatalf("%s: %v", c.desc, err)
	}
	r.failedOp, r.stopped = c, true
}

// begin marks a call as in progress; end records its acknowledged effect.
func (r *Run) begin(c *call) {
	r.mu.Lock()
	r.pending = c
	r.mu.Unlock()
}

func (r *Run) end(apply func()) {
	r.mu.Lock()
	if apply != nil {
		apply()
	}
	r.pending = nil
	r.mu.Unlock()
}

func (r *Run) e() *engine.Engine { return r.sys.Engine() }

// createQueue creates a queue of the workload; the dead-letter queue only exists beside
// q1, which creates its group.
func (r *Run) createQueue(name string) {
	a := engine.DefaultQueueAttributes()
	a.MaxMsgHeapNum = 1_000_000
	a.VisibilityTimeout = int64(1 + r.Rand.IntN(5))
	if r.shortRetention && name != dlqName {
		// The dead-letter queue keeps the default retention: a moved message is enqueued
		// anew, at a time the model does not know.
		a.MsgRetentionSeconds = int64(60 + r.Rand.IntN(60))
	}
	switch name {
	case "q1":
		a.DeadLetter = &engine.DeadLetterPolicy{Queue: dlqName, Policy: 0, MaxReceiveCount: int64(1 + r.Rand.IntN(3))}
	case "q2":
		a.RewindSeconds = min(a.MsgRetentionSeconds, int64(60+r.Rand.IntN(600)))
	}
	r.Logf("CreateQueue %s vis=%d retention=%d rewind=%d deadLetter=%v", name, a.VisibilityTimeout, a.MsgRetentionSeconds, a.RewindSeconds, a.DeadLetter)
	c := &call{desc: "CreateQueue " + name, queue: groupOf(name), queueOp: name != dlqName}
	r.begin(c)
	if _, err := r.e().CreateQueue(r.ctx, "ns", name, a); err != nil {
		r.end(nil)
		r.callFailed(c, err)
		return
	}
	r.end(func() {
		if name != dlqName {
			r.queues[name] = newQueueModel(a)
		}
	})
}

func (r *Run) deleteQueue(name string) {
	r.Logf("DeleteQueue %s", name)
	c := &call{desc: "DeleteQueue " + name, queue: name, queueOp: true}
	r.begin(c)
	if err := r.e().DeleteQueue(r.ctx, "ns", name); err != nil {
		r.end(nil)
		r.callFailed(c, err)
		return
	}
	r.end(func() {
		q := r.queues[name]
		for _, set := range []map[string]msg{q.msgs, q.maybe, q.deleted} {
			for id := range set {
				r.deleted[id] = true
			}
		}
		delete(r.queues, name)
	})
}

// rewind rewinds q2 to a random second of its window. Deleted messages enqueued at or after
// it may come back (those still stored must, but which are stored depends on the window's
// trimming, which the model does not follow).
func (r *Run) rewind() {
	q := r.queues["q2"]
	if q == nil {
		return
	}
	nowSec := r.Clock.Now().Unix()
	to := nowSec - int64(r.Rand.IntN(int(min(q.rewind, 90))+1))
	c := &call{desc: "Rewind q2", queue: "q2", rewound: map[string]msg{}}
	for id, m := range q.deleted {
		if m.enqueue >= to*1000 {
			c.rewound[id] = m
		}
	}
	r.begin(c)
	err := r.e().RewindQueue(r.ctx, "ns", "q2", to)
	r.Logf("Rewind q2 to %d (now %d) -> %v; %d deleted messages may come back", to, nowSec, err, len(c.rewound))
	r.end(func() {
		if err != nil {
			return
		}
		for id, m := range c.rewound {
			q.maybe[id] = m
			delete(q.deleted, id)
			delete(r.deleted, id)
		}
	})
	if err != nil {
		r.callFailed(c, err)
		return
	}
	r.stats["acknowledged rewinds"]++
}

// RandBody returns a new body, unique by its "#n:" prefix.
func (r *Run) RandBody() []byte {
	r.bodyN++
	n := 1 + r.Rand.IntN(200)
	if r.Rand.IntN(10) == 0 {
		n = 500 + r.Rand.IntN(2500) // several records per segment, not dozens
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Rand.Uint32())
	}
	copy(b, fmt.Sprintf("#%d:", r.bodyN))
	return b
}

func (r *Run) send(name string) {
	n := 1 + r.Rand.IntN(4)
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = r.RandBody()
	}
	var delay int64
	if r.Rand.IntN(5) == 0 {
		delay = int64(1 + r.Rand.IntN(3))
	}
	c := &call{desc: "Send " + name, queue: groupOf(name), sent: map[string]msg{}, attempted: bodies}
	r.begin(c)
	now := r.Clock.Now().UnixMilli()
	ids, err := r.e().BatchSendMessage(r.ctx, "ns", name, bodies, delay)
	r.Logf("Send %s %d bodies delay=%d -> %v", name, n, delay, err)
	r.end(func() {
		if err != nil {
			return
		}
		for i, id := range ids {
			m := msg{body: bodies[i], enqueue: now}
			c.sent[id] = m
			r.queues[name].msgs[id] = m
		}
	})
	if err != nil {
		r.callFailed(c, err)
		return
	}
	r.stats["acknowledged sends"] += n
}

func (r *Run) receive(name string) {
	c := &call{desc: "Receive " + name, queue: groupOf(name)}
	r.begin(c)
	msgs, err := r.e().ReceiveMessage(r.ctx, "ns", name, 1+r.Rand.IntN(8), 0)
	r.end(nil)
	if err != nil && !errors.Is(err, engine.ErrNoMessage) {
		r.callFailed(c, err)
		return
	}
	r.Logf("Receive %s -> %d", name, len(msgs))
	r.checkReceived(name, msgs)
	r.keepHandles(name, msgs)
}

// keepHandles remembers the receipt handles of messages just received.
func (r *Run) keepHandles(name string, msgs []engine.Message) {
	for _, m := range msgs {
		r.handles = append(r.handles, handle{queue: name, id: m.ID, s: m.ReceiptHandle})
	}
	if len(r.handles) > 64 {
		r.handles = r.handles[len(r.handles)-64:]
	}
}

// checkReceived checks that received messages are ones the queue must or may hold.
func (r *Run) checkReceived(name string, msgs []engine.Message) {
	r.t.Helper()
	r.mu.Lock()
	q := r.queues[groupOf(name)]
	r.mu.Unlock()
	for _, m := range msgs {
		want, ok := q.msgs[m.ID]
		if !ok {
			want, ok = q.maybe[m.ID]
		}
		switch {
		case !ok && r.deleted[m.ID]:
			r.Fatalf("%s: message %s was acknowledged deleted and came back", name, m.ID)
		case !ok:
			r.Fatalf("%s: message %s (%.20q) was never acknowledged", name, m.ID, m.Body)
		case string(m.Body) != string(want.body):
			r.Fatalf("%s: message %s body %.40q, sent %.40q", name, m.ID, m.Body, want.body)
		}
	}
}

func (r *Run) deleteMessages() {
	if len(r.handles) == 0 {
		return
	}
	n := 1 + r.Rand.IntN(3)
	hs := make([]handle, n)
	strs := make([]string, n)
	for i := range hs {
		hs[i] = r.handles[max(0, len(r.handles)-1-r.Rand.IntN(12))]
		strs[i] = hs[i].s
	}
	name := hs[0].queue
	group := groupOf(name)
	// Until the call returns, any of the messages may be deleted or not.
	c := &call{desc: "Delete " + name, queue: group}
	for _, hd := range hs {
		c.deleted = append(c.deleted, hd.id)
	}
	r.begin(c)
	errs, err := r.e().BatchDeleteMessage(r.ctx, "ns", name, strs)
	r.Logf("Delete %s %d handles -> %v %v", name, n, errs, err)
	if errors.Is(err, engine.ErrQueueNotExist) {
		r.end(nil)
		return
	}
	if err != nil {
		r.end(nil)
		r.callFailed(c, err)
		return
	}
	var unknown string
	r.end(func() {
		q := r.queues[group]
		for i, e := range errs {
			if e != nil || hs[i].queue != name {
				continue
			}
			id := hs[i].id
			m, ok := q.msgs[id]
			if !ok {
				m, ok = q.maybe[id]
			}
			if !ok {
				unknown = id
			}
			delete(q.msgs, id)
			delete(q.maybe, id)
			q.deleted[id] = m
			r.deleted[id] = true
			r.stats["acknowledged deletes"]++
		}
	})
	if unknown != "" {
		r.Fatalf("delete of %s succeeded, but %s did not hold it", unknown, name)
	}
}

func (r *Run) changeVisibility() {
	if len(r.handles) == 0 {
		return
	}
	hd := r.handles[max(0, len(r.handles)-1-r.Rand.IntN(8))]
	r.begin(&call{desc: "ChangeVisibility " + hd.queue, queue: groupOf(hd.queue)})
	_, err := r.e().ChangeMessageVisibility(r.ctx, "ns", hd.queue, hd.s, int64(r.Rand.IntN(4)))
	r.end(nil)
	r.Logf("ChangeVisibility %s -> %v", hd.queue, err)
}

func (r *Run) tick() {
	r.Logf("Tick")
	c := &call{desc: "Tick"}
	r.begin(c)
	err := r.e().Tick(r.ctx)
	r.end(nil)
	if err != nil {
		r.callFailed(c, err)
	}
}

// step runs one random operation of the workload.
func (r *Run) step() {
	name := groups[r.Rand.IntN(len(groups))]
	exists := r.queues[name] != nil
	switch k := r.Rand.IntN(200); {
	case k < 60:
		if exists {
			r.send(name)
		}
	case k < 105:
		if name == "q1" && r.Rand.IntN(3) == 0 {
			name = dlqName
		}
		if exists {
			r.receive(name)
		}
	case k < 145:
		r.deleteMessages()
	case k < 150:
		r.changeVisibility()
	case k < 172:
		ms := int64(r.Rand.IntN(3000))
		if r.shortRetention && r.Rand.IntN(15) == 0 {
			ms = int64(20_000 + r.Rand.IntN(60_000))
		}
		r.Logf("clock +%d ms", ms)
		r.Clock.Advance(time.Duration(ms) * time.Millisecond)
	case k < 175:
		r.rewind()
	case k < 183:
		r.tick()
	case k < 187:
		if r.Reopens {
			r.Logf("reopen")
			r.sys.Reopen() // Close writes a checkpoint: captures may happen in it
		}
	case k < 193:
		if name == "q2" && exists {
			r.deleteQueue(name)
		} else if !exists {
			r.createQueue(name)
		}
	default:
		if r.Crashes {
			r.Crash()
		}
	}
}

// Crash crashes the stack between two calls (System.Crash) and checks the recovered
// engine at once.
func (r *Run) Crash() {
	r.t.Helper()
	var before string
	if r.State != nil {
		before = r.State(r.e())
	}
	r.Logf("crash")
	r.sys.Crash(r.Seed<<20 | uint64(r.op))
	r.stats["crashes"]++
	if r.State != nil {
		if after := r.State(r.e()); after != before {
			r.Fatalf("the recovered state differs from the state before the crash:\nbefore %s\nafter  %s", before, after)
		}
	}
	r.mu.Lock()
	live := r.newCapture("crash between calls", nil, nil)
	r.mu.Unlock()
	for name, msgs := range r.Verify(r.e(), r.Clock, live) {
		r.keepHandles(name, msgs) // in flight now: their handles are current
	}
}

// CheckRefuses checks that a stack failed on purpose serves nothing: sends go on
// succeeding only until the failure reaches the engine (a background checkpoint reports it
// at the first apply after it has finished, however long the scheduler makes that; each
// such send is durable and so added to what must be there), and after that every command
// fails. The wait is bounded generously (10,000 sends, a millisecond apart after the
// first hundred): a stack that never refuses swallowed the error.
func (r *Run) CheckRefuses() {
	r.t.Helper()
	e, ctx := r.e(), r.ctx
	for i := 0; ; i++ {
		if i == 10_000 {
			r.Fatalf("the stack still accepts sends %d commands after a failed storage operation", i)
		}
		if i >= 100 {
			time.Sleep(time.Millisecond)
		}
		body := r.RandBody()
		now := r.Clock.Now().UnixMilli()
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		id, err := e.SendMessage(sctx, "ns", "q1", body, 0)
		cancel()
		if err != nil {
			// Refused, but possibly durable: the engine may learn of the failure only
			// after it wrote the command to its log (and an error is no definite answer).
			r.mu.Lock()
			r.failedSends = append(r.failedSends, &call{desc: "Send q1 after the failure", queue: "q1", attempted: [][]byte{body}})
			r.mu.Unlock()
			break
		}
		r.mu.Lock()
		r.queues["q1"].msgs[id] = msg{body: body, enqueue: now}
		r.mu.Unlock()
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := e.ReceiveMessage(cctx, "ns", "q1", 1, 0); err == nil {
		r.Fatalf("a failed stack served a receive")
	}
	if _, err := e.CreateQueue(cctx, "ns", "q9", engine.DefaultQueueAttributes()); err == nil {
		r.Fatalf("a failed stack created a queue")
	}
	if err := e.Tick(cctx); err == nil {
		r.Fatalf("a failed stack applied a tick")
	}
	r.stats["stacks that refused to serve after the failure"]++
}
