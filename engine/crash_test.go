package engine

// Crash consistency of the whole engine. A random workload runs against the harness
// (in-memory file system, fake clock, manual ticks): single and batch sends, delayed sends,
// receives, deletes, visibility changes, rewinds, dead-letter moves (leases that run out
// on a queue with a dead-letter policy), queue deletes and creates, ticks, clean restarts.
// The test keeps, from the API's answers alone, what the engine must hold: every
// acknowledged send (id, body, enqueue time) and every acknowledged delete. After a
// simulated power loss (MemFS.CrashClone) and recovery it checks that
//
//  1. every acknowledged message that was not acknowledged deleted and is not past its
//     retention is still there (the queues are drained: the clock moves past every lease
//     and delay, everything is received and compared by id); a message sent to q1 counts
//     as there if it is in q1 or in its dead-letter queue, and it is never in both;
//  2. no acknowledged delete is undone, except by an acknowledged RewindQueue that covers
//     the message (after which it may come back), and no message of a deleted queue comes
//     back in a queue of the same name;
//  3. nothing is invented: every message received was acknowledged (or was being sent
//     when the disk state was captured);
//  4. bodies are byte-identical;
//  5. (TestCrashKeepsAcknowledgedState only, where crashes fall between calls) the whole
//     recovered state machine equals the one before the crash: every command was
//     acknowledged only after its journal entry was synced, so recovery must rebuild
//     exactly that state.

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencmq/opencmq/segment/vfs"
)

// The workload's queues, in creation order. q1 moves its dead letters to dlq, which is never
// deleted; q2 has rewind on and is deleted and created again. The model keeps one group
// per queue that is sent to: group q1 is q1 and dlq together.
const dlqName = "dlq"

var (
	crashQueueNames = []string{dlqName, "q1", "q2"}
	crashGroups     = []string{"q1", "q2"}
)

// groupOf names the model group a queue belongs to.
func groupOf(name string) string {
	if name == dlqName {
		return "q1"
	}
	return name
}

// groupMembers lists the queues of a group, the source before its dead-letter queue (a
// drain of the source may move messages into the dead-letter queue, never back).
func groupMembers(group string) []string {
	if group == "q1" {
		return []string{"q1", dlqName}
	}
	return []string{group}
}

type crashMsg struct {
	body    []byte
	enqueue int64
}

// crashQueue is what a group must hold (msgs: acknowledged sends not acknowledged deleted)
// and may hold (maybe: deleted, then covered by an acknowledged rewind).
type crashQueue struct {
	retention int64 // seconds
	rewind    int64 // rewindSeconds
	msgs      map[string]crashMsg
	maybe     map[string]crashMsg
	deleted   map[string]crashMsg // acknowledged deleted: what a rewind may bring back
}

func newCrashQueue(a QueueAttributes) *crashQueue {
	return &crashQueue{retention: a.MsgRetentionSeconds, rewind: a.RewindSeconds,
		msgs: map[string]crashMsg{}, maybe: map[string]crashMsg{}, deleted: map[string]crashMsg{}}
}

func (q *crashQueue) clone() *crashQueue {
	return &crashQueue{retention: q.retention, rewind: q.rewind,
		msgs: maps.Clone(q.msgs), maybe: maps.Clone(q.maybe), deleted: maps.Clone(q.deleted)}
}

// crashOp is a call in progress: a disk state captured during it may or may not hold its
// effect.
type crashOp struct {
	desc      string
	queue     string              // its group
	queueOp   bool                // CreateQueue or DeleteQueue: the queue may or may not exist
	sent      map[string]crashMsg // filled in when the call returns
	attempted [][]byte            // Send: the bodies, which may be there if the call failed
	deleted   []string            // Delete: the ids it may delete
	rewound   map[string]crashMsg // RewindQueue: deleted messages it may bring back
}

// crashCapture is a disk state captured at a moment of interest, with what it must hold.
type crashCapture struct {
	fs      *vfs.MemFS
	what    string
	op      int
	now     int64
	queues  map[string]*crashQueue
	pending *crashOp
}

type crashHandle struct {
	queue string
	id    string
	s     string
}

type crashRun struct {
	t    *testing.T
	seed uint64
	r    *rand.Rand
	h    *harness
	op   int
	log  []string

	shortRetention bool
	crashes        bool // the workload crashes the engine (TestCrashKeepsAcknowledgedState)
	noReopen       bool // no clean restarts (a failpoint may fail the engine at any moment)

	// injected is set when a failpoint failed the engine on purpose: a call failing after
	// that has an unknown outcome (failedOp), and the workload stops.
	injected atomic.Bool
	failedOp *crashOp
	stopped  bool

	mu       sync.Mutex // guards queues, pending and captures: capture hooks run on engine goroutines
	queues   map[string]*crashQueue
	pending  *crashOp
	captures []*crashCapture
	counts   map[string]int // captures per reason

	handles []crashHandle
	deleted map[string]bool // ids acknowledged deleted (or gone with their queue), not rewound
	bodyN   int
	stats   map[string]int
}

func newCrashRun(t *testing.T, seed uint64, stats map[string]int) *crashRun {
	cr := &crashRun{
		t: t, seed: seed, r: rand.New(rand.NewPCG(seed, 0x63726173)),
		queues: map[string]*crashQueue{}, counts: map[string]int{}, deleted: map[string]bool{}, stats: stats,
	}
	cr.shortRetention = cr.r.IntN(2) == 0
	h := newHarness(t)
	h.e.Close()
	if cr.r.IntN(3) > 0 {
		// Checkpoints (journal truncation, segment drops, queue directory removal) every
		// few commands, in the background, and segments that roll often.
		h.opts.CheckpointBytes = 4096
	} else {
		h.opts.CheckpointBytes = 1 << 40 // only Close checkpoints: recovery replays the journal
	}
	h.opts.SegmentBytes = 4096
	h.open()
	cr.h = h
	for _, name := range crashQueueNames {
		cr.createQueue(name)
	}
	return cr
}

func (cr *crashRun) logf(format string, args ...any) {
	cr.log = append(cr.log, fmt.Sprintf("%4d ", cr.op)+fmt.Sprintf(format, args...))
}

func (cr *crashRun) failf(format string, args ...any) {
	cr.t.Helper()
	log := cr.log
	if !testing.Verbose() && len(log) > 40 {
		log = log[len(log)-40:]
	}
	cr.t.Fatalf("seed %d, op %d: %s\noperations:\n%s", cr.seed, cr.op, fmt.Sprintf(format, args...), strings.Join(log, "\n"))
}

// callFailed reports a call that failed: a test failure, unless a failpoint failed the
// engine on purpose; then the call's outcome is unknown and the workload stops.
func (cr *crashRun) callFailed(op *crashOp, err error) {
	cr.t.Helper()
	cr.logf("%s -> %v", op.desc, err)
	if !cr.injected.Load() {
		cr.failf("%s: %v", op.desc, err)
	}
	cr.failedOp, cr.stopped = op, true
}

// begin marks a call as in progress; end records its acknowledged effect.
func (cr *crashRun) begin(op *crashOp) {
	cr.mu.Lock()
	cr.pending = op
	cr.mu.Unlock()
}

func (cr *crashRun) end(apply func()) {
	cr.mu.Lock()
	if apply != nil {
		apply()
	}
	cr.pending = nil
	cr.mu.Unlock()
}

// createQueue creates a queue of the workload; the dead-letter queue only exists beside
// q1, which creates its group.
func (cr *crashRun) createQueue(name string) {
	a := DefaultQueueAttributes()
	a.MaxMsgHeapNum = 1_000_000
	a.VisibilityTimeout = int64(1 + cr.r.IntN(5))
	if cr.shortRetention && name != dlqName {
		// The dead-letter queue keeps the default retention: a moved message is enqueued
		// anew, at a time the model does not know.
		a.MsgRetentionSeconds = int64(60 + cr.r.IntN(60))
	}
	switch name {
	case "q1":
		a.DeadLetter = &DeadLetterPolicy{Queue: dlqName, Policy: 0, MaxReceiveCount: int64(1 + cr.r.IntN(3))}
	case "q2":
		a.RewindSeconds = min(a.MsgRetentionSeconds, int64(60+cr.r.IntN(600)))
	}
	cr.logf("CreateQueue %s vis=%d retention=%d rewind=%d deadLetter=%v", name, a.VisibilityTimeout, a.MsgRetentionSeconds, a.RewindSeconds, a.DeadLetter)
	op := &crashOp{desc: "CreateQueue " + name, queue: groupOf(name), queueOp: name != dlqName}
	cr.begin(op)
	if _, err := cr.h.e.CreateQueue(cr.h.ctx, "ns", name, a); err != nil {
		cr.end(nil)
		cr.callFailed(op, err)
		return
	}
	cr.end(func() {
		if name != dlqName {
			cr.queues[name] = newCrashQueue(a)
		}
	})
}

func (cr *crashRun) deleteQueue(name string) {
	cr.logf("DeleteQueue %s", name)
	op := &crashOp{desc: "DeleteQueue " + name, queue: name, queueOp: true}
	cr.begin(op)
	if err := cr.h.e.DeleteQueue(cr.h.ctx, "ns", name); err != nil {
		cr.end(nil)
		cr.callFailed(op, err)
		return
	}
	cr.end(func() {
		q := cr.queues[name]
		for _, set := range []map[string]crashMsg{q.msgs, q.maybe, q.deleted} {
			for id := range set {
				cr.deleted[id] = true
			}
		}
		delete(cr.queues, name)
	})
}

// rewind rewinds q2 to a random second of its window. Deleted messages enqueued at or after
// it may come back (those still stored must, but which are stored depends on the window's
// trimming, which the model does not follow).
func (cr *crashRun) rewind() {
	q := cr.queues["q2"]
	if q == nil {
		return
	}
	nowSec := cr.h.clock.Now().Unix()
	to := nowSec - int64(cr.r.IntN(int(min(q.rewind, 90))+1))
	op := &crashOp{desc: "Rewind q2", queue: "q2", rewound: map[string]crashMsg{}}
	for id, m := range q.deleted {
		if m.enqueue >= to*1000 {
			op.rewound[id] = m
		}
	}
	cr.begin(op)
	err := cr.h.e.RewindQueue(cr.h.ctx, "ns", "q2", to)
	cr.logf("Rewind q2 to %d (now %d) -> %v; %d deleted messages may come back", to, nowSec, err, len(op.rewound))
	cr.end(func() {
		if err != nil {
			return
		}
		for id, m := range op.rewound {
			q.maybe[id] = m
			delete(q.deleted, id)
			delete(cr.deleted, id)
		}
	})
	if err != nil {
		cr.callFailed(op, err)
		return
	}
	cr.stats["acknowledged rewinds"]++
}

func (cr *crashRun) randBody() []byte {
	cr.bodyN++
	n := 1 + cr.r.IntN(200)
	if cr.r.IntN(10) == 0 {
		n = 500 + cr.r.IntN(2500) // several records per segment, not dozens
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(cr.r.Uint32())
	}
	copy(b, fmt.Sprintf("#%d:", cr.bodyN))
	return b
}

func (cr *crashRun) send(name string) {
	n := 1 + cr.r.IntN(4)
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = cr.randBody()
	}
	var delay int64
	if cr.r.IntN(5) == 0 {
		delay = int64(1 + cr.r.IntN(3))
	}
	op := &crashOp{desc: "Send " + name, queue: groupOf(name), sent: map[string]crashMsg{}, attempted: bodies}
	cr.begin(op)
	now := cr.h.clock.Now().UnixMilli()
	ids, err := cr.h.e.BatchSendMessage(cr.h.ctx, "ns", name, bodies, delay)
	cr.logf("Send %s %d bodies delay=%d -> %v", name, n, delay, err)
	cr.end(func() {
		if err != nil {
			return
		}
		for i, id := range ids {
			m := crashMsg{body: bodies[i], enqueue: now}
			op.sent[id] = m
			cr.queues[name].msgs[id] = m
		}
	})
	if err != nil {
		cr.callFailed(op, err)
		return
	}
	cr.stats["acknowledged sends"] += n
}

func (cr *crashRun) receive(name string) {
	op := &crashOp{desc: "Receive " + name, queue: groupOf(name)}
	cr.begin(op)
	msgs, err := cr.h.e.ReceiveMessage(cr.h.ctx, "ns", name, 1+cr.r.IntN(8), 0)
	cr.end(nil)
	if err != nil && !errors.Is(err, ErrNoMessage) {
		cr.callFailed(op, err)
		return
	}
	cr.logf("Receive %s -> %d", name, len(msgs))
	cr.checkReceived(name, msgs, nil)
	for _, m := range msgs {
		cr.handles = append(cr.handles, crashHandle{queue: name, id: m.ID, s: m.ReceiptHandle})
	}
	if len(cr.handles) > 64 {
		cr.handles = cr.handles[len(cr.handles)-64:]
	}
}

// checkReceived checks that received messages are ones the queue must or may hold.
func (cr *crashRun) checkReceived(name string, msgs []Message, pending *crashOp) {
	cr.t.Helper()
	cr.mu.Lock()
	q := cr.queues[groupOf(name)]
	cr.mu.Unlock()
	for _, m := range msgs {
		want, ok := q.msgs[m.ID]
		if !ok {
			want, ok = q.maybe[m.ID]
		}
		if !ok && pending != nil {
			want, ok = pending.sent[m.ID]
		}
		switch {
		case !ok && cr.deleted[m.ID]:
			cr.failf("%s: message %s was acknowledged deleted and came back", name, m.ID)
		case !ok:
			cr.failf("%s: message %s (%.20q) was never acknowledged", name, m.ID, m.Body)
		case !bytes.Equal(m.Body, want.body):
			cr.failf("%s: message %s body %.40q, sent %.40q", name, m.ID, m.Body, want.body)
		}
	}
}

func (cr *crashRun) deleteMessages() {
	if len(cr.handles) == 0 {
		return
	}
	n := 1 + cr.r.IntN(3)
	hs := make([]crashHandle, n)
	strs := make([]string, n)
	for i := range hs {
		hs[i] = cr.handles[max(0, len(cr.handles)-1-cr.r.IntN(12))]
		strs[i] = hs[i].s
	}
	name := hs[0].queue
	group := groupOf(name)
	// Until the call returns, any of the messages may be deleted or not.
	op := &crashOp{desc: "Delete " + name, queue: group}
	for _, hd := range hs {
		op.deleted = append(op.deleted, hd.id)
	}
	cr.begin(op)
	errs, err := cr.h.e.BatchDeleteMessage(cr.h.ctx, "ns", name, strs)
	cr.logf("Delete %s %d handles -> %v %v", name, n, errs, err)
	if errors.Is(err, ErrQueueNotExist) {
		cr.end(nil)
		return
	}
	if err != nil {
		cr.end(nil)
		cr.callFailed(op, err)
		return
	}
	var unknown string
	cr.end(func() {
		q := cr.queues[group]
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
			cr.deleted[hs[i].id] = true
			cr.stats["acknowledged deletes"]++
		}
	})
	if unknown != "" {
		cr.failf("delete of %s succeeded, but %s did not hold it", unknown, name)
	}
}

func (cr *crashRun) changeVisibility() {
	if len(cr.handles) == 0 {
		return
	}
	hd := cr.handles[max(0, len(cr.handles)-1-cr.r.IntN(8))]
	cr.begin(&crashOp{desc: "ChangeVisibility " + hd.queue, queue: hd.queue})
	_, err := cr.h.e.ChangeMessageVisibility(cr.h.ctx, "ns", hd.queue, hd.s, int64(cr.r.IntN(4)))
	cr.end(nil)
	cr.logf("ChangeVisibility %s -> %v", hd.queue, err)
}

// step runs one random operation of the workload.
func (cr *crashRun) step() {
	r, h := cr.r, cr.h
	name := crashGroups[r.IntN(len(crashGroups))]
	exists := cr.queues[name] != nil
	switch k := r.IntN(200); {
	case k < 60:
		if exists {
			cr.send(name)
		}
	case k < 105:
		if name == "q1" && r.IntN(3) == 0 {
			name = dlqName
		}
		if exists {
			cr.receive(name)
		}
	case k < 145:
		cr.deleteMessages()
	case k < 150:
		cr.changeVisibility()
	case k < 172:
		ms := int64(r.IntN(3000))
		if cr.shortRetention && r.IntN(15) == 0 {
			ms = int64(20_000 + r.IntN(60_000))
		}
		cr.logf("clock +%d ms", ms)
		h.clock.Advance(time.Duration(ms) * time.Millisecond)
	case k < 175:
		cr.rewind()
	case k < 183:
		cr.logf("Tick")
		op := &crashOp{desc: "Tick"}
		cr.begin(op)
		err := h.e.Tick(h.ctx)
		cr.end(nil)
		if err != nil {
			cr.callFailed(op, err)
		}
	case k < 187:
		if cr.noReopen {
			return
		}
		cr.logf("reopen")
		h.reopen() // Close writes a checkpoint: captures may happen in it
	case k < 193:
		if name == "q2" && exists {
			cr.deleteQueue(name)
		} else if !exists {
			cr.createQueue(name)
		}
	default:
		if cr.crashes {
			cr.crash()
		}
	}
}

// crash simulates a power loss between two calls and checks the recovered engine.
func (cr *crashRun) crash() {
	h := cr.h
	before := engineState(h.e)
	cr.logf("crash")
	h.crash(cr.seed<<20 | uint64(cr.op))
	cr.stats["crashes"]++
	if after := engineState(h.e); after != before {
		cr.failf("the recovered state differs from the state before the crash:\nbefore %s\nafter  %s", before, after)
	}
	drained := cr.verify(h.e, h.clock, cr.queues, nil)
	// The drained messages are in flight now: their handles are current.
	for name, msgs := range drained {
		for _, m := range msgs {
			cr.handles = append(cr.handles, crashHandle{queue: name, id: m.ID, s: m.ReceiptHandle})
		}
	}
}

// engineState renders the state machine minus what recovery may legitimately change
// (pendingRemoval: recovery removes those directories).
func engineState(e *Engine) string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var b strings.Builder
	fmt.Fprintf(&b, "applied=%d clock=%d nextQueueID=%d", e.sm.applied, e.sm.clock, e.sm.nextQueueID)
	ids := make([]uint64, 0, len(e.sm.queues))
	for id := range e.sm.queues {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		q := e.sm.queues[id]
		fmt.Fprintf(&b, " | %s first=%d head=%d cursor=%d tail=%d state=%x", q.name, q.first, q.head, q.cursor, q.tail, q.appendState(nil))
	}
	return b.String()
}

// verify drains every queue of engine e (whose clock is clock) and checks it against
// queues, what the disk must hold; pending is the call in progress when the disk state was
// taken, if any. It returns the messages it received, by queue.
func (cr *crashRun) verify(e *Engine, clock *fakeClock, queues map[string]*crashQueue, pending *crashOp) map[string][]Message {
	cr.t.Helper()
	clock.Advance(6 * time.Second) // past every lease (<= 5 s) and delay (<= 3 s)
	now := clock.Now().UnixMilli()
	out := map[string][]Message{}
	type delivery struct {
		body []byte
		from string
	}
	for _, group := range crashGroups {
		q := queues[group]
		if pending != nil && pending.queueOp && pending.queue == group {
			// CreateQueue or DeleteQueue in progress: the queue may or may not exist, but
			// if it does, it is whole (empty if it was being created).
			if _, err := e.GetQueueAttributes(cr.h.ctx, "ns", group); errors.Is(err, ErrQueueNotExist) {
				continue
			}
			if q == nil {
				q = newCrashQueue(DefaultQueueAttributes())
			}
			cr.stats["queues created or deleted at the crash, found whole"]++
		}
		for _, name := range groupMembers(group) {
			_, err := e.GetQueueAttributes(cr.h.ctx, "ns", name)
			switch {
			case pending != nil && pending.queueOp && pending.queue == group:
			case q == nil && !errors.Is(err, ErrQueueNotExist):
				cr.failf("after recovery: queue %s was acknowledged deleted, GetQueueAttributes says %v", name, err)
			case q != nil && err != nil:
				cr.failf("after recovery: queue %s: %v", name, err)
			}
		}
		if q == nil {
			continue
		}
		got := map[string]delivery{}
		for _, name := range groupMembers(group) {
			for {
				msgs, err := e.ReceiveMessage(cr.h.ctx, "ns", name, 16, 0)
				if errors.Is(err, ErrNoMessage) {
					break
				}
				if err != nil {
					cr.failf("after recovery: receive from %s: %v", name, err)
				}
				for _, m := range msgs {
					if d, dup := got[m.ID]; dup {
						cr.failf("after recovery: %s delivered twice in one drain (from %s and %s)", m.ID, d.from, name)
					}
					got[m.ID] = delivery{m.Body, name}
				}
				out[name] = append(out[name], msgs...)
			}
		}
		inPending := func(id string) (crashMsg, bool) {
			if pending == nil || pending.queue != group {
				return crashMsg{}, false
			}
			if m, ok := pending.sent[id]; ok {
				return m, true
			}
			if m, ok := pending.rewound[id]; ok {
				return m, true
			}
			for _, b := range pending.attempted { // a send that failed: unknown outcome
				if d, ok := got[id]; ok && bytes.Equal(d.body, b) {
					return crashMsg{body: b, enqueue: now}, true
				}
			}
			return crashMsg{}, false
		}
		maybeDeleted := func(id string) bool {
			return pending != nil && pending.queue == group && slices.Contains(pending.deleted, id)
		}
		// A message past its retention is gone from its queue, unless it was moved to the
		// dead-letter queue before, where it was enqueued anew.
		expired := func(m crashMsg) bool { return now >= m.enqueue+q.retention*1000 }
		for id, m := range q.msgs {
			d, ok := got[id]
			switch {
			case expired(m) && ok && d.from != dlqName:
				cr.failf("after recovery: %s delivered %s, which is past its retention", d.from, id)
			case expired(m) || (!ok && maybeDeleted(id)):
			case !ok:
				cr.failf("after recovery: %s lost acknowledged message %s (%.20q; %d messages expected, %d received)", group, id, m.body, len(q.msgs), len(got))
			}
			cr.stats["messages checked after recovery"]++
		}
		for id, d := range got {
			m, ok := q.msgs[id]
			if !ok {
				m, ok = q.maybe[id]
			}
			if !ok {
				m, ok = inPending(id)
			}
			switch {
			case !ok && cr.deleted[id]:
				cr.failf("after recovery: %s message %s was acknowledged deleted and came back", d.from, id)
			case !ok:
				cr.failf("after recovery: %s message %s (%.20q) was never acknowledged", d.from, id, d.body)
			case !bytes.Equal(d.body, m.body):
				cr.failf("after recovery: %s message %s body %.40q, sent %.40q", d.from, id, d.body, m.body)
			case expired(m) && d.from != dlqName:
				cr.failf("after recovery: %s delivered %s, which is past its retention", d.from, id)
			}
			if d.from == dlqName {
				cr.stats["messages found in the dead-letter queue after recovery"]++
			}
		}
	}
	return out
}

// TestCrashKeepsAcknowledgedState crashes the engine at random points between calls, several
// times per seed, and checks what recovery rebuilds.
func TestCrashKeepsAcknowledgedState(t *testing.T) {
	first, last := crashSeeds(t, 40, 10)
	ops := 300
	stats := map[string]int{}
	for seed := first; seed <= last; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			cr := newCrashRun(t, seed, stats)
			cr.crashes = true
			for cr.op = 1; cr.op <= ops; cr.op++ {
				cr.step()
			}
			cr.crash()
		})
	}
	logStats(t, stats)
}

// crashSeeds returns the seeds a crash test runs: n of them (short in -short mode) from 1,
// or as the environment says for a long run: CMQ_CRASH_SEEDS=count, and optionally
// CMQ_CRASH_FIRST_SEED=first (to run further seeds, or one that failed).
func crashSeeds(t *testing.T, n, short int) (first, last uint64) {
	if testing.Short() {
		n = short
	}
	first = 1
	if v := os.Getenv("CMQ_CRASH_FIRST_SEED"); v != "" {
		x, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CMQ_CRASH_FIRST_SEED=%q: %v", v, err)
		}
		first = x
	}
	if v := os.Getenv("CMQ_CRASH_SEEDS"); v != "" {
		x, err := strconv.Atoi(v)
		if err != nil || x < 1 {
			t.Fatalf("CMQ_CRASH_SEEDS=%q: want a count >= 1", v)
		}
		n = x
	}
	return first, first + uint64(n) - 1
}

func logStats(t *testing.T, stats map[string]int) {
	if !testing.Verbose() {
		return
	}
	keys := make([]string, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("%6d  %s", stats[k], k)
	}
}

// captureReason says whether an operation on the file system is a dangerous moment worth
// capturing the disk at, and which.
func captureReason(op vfs.Op, path string) string {
	switch {
	case op == vfs.OpCreate && path == "/data/checkpoint.tmp":
		return "checkpoint: queue logs synced, temporary file not yet created"
	case op == vfs.OpSync && path == "/data/checkpoint.tmp":
		return "checkpoint: temporary file written, not synced"
	case op == vfs.OpRename && path == "/data/checkpoint.tmp":
		return "checkpoint: before the rename"
	case op == vfs.OpSyncDir && path == "/data":
		return "checkpoint: renamed, directory not synced"
	case op == vfs.OpRemove && strings.HasPrefix(path, "/data/journal/"):
		return "journal: dropping segments the checkpoint covers"
	case op == vfs.OpRemove && strings.HasPrefix(path, "/data/queues/"):
		if strings.Count(path, "/") == 3 {
			return "queue directory removal"
		}
		return "queue log: dropping segments below first"
	case op == vfs.OpSyncDir && path == "/data/queues":
		return "queue directory removal: removed, not synced"
	case op == vfs.OpTruncate:
		return "log truncation"
	}
	return ""
}

// TestCrashDuringCheckpointAndQueueDelete captures the disk at dangerous moments (during
// checkpoints, journal and segment drops, queue directory removal: see captureReason) with
// an InjectError hook that takes a CrashClone just before the operation, then recovers each
// captured disk and checks it holds what was acknowledged at that moment.
func TestCrashDuringCheckpointAndQueueDelete(t *testing.T) {
	first, last := crashSeeds(t, 20, 6)
	ops := 300
	stats := map[string]int{}
	for seed := first; seed <= last; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			cr := newCrashRun(t, 1000+seed, stats)
			mem := cr.h.fs.(*vfs.MemFS)
			t.Cleanup(func() { mem.InjectError(nil) }) // before the harness closes the engine
			cloneRand := rand.New(rand.NewPCG(seed, 0x636c6f6e))
			mem.InjectError(func(op vfs.Op, path string) error {
				why := captureReason(op, path)
				if why == "" {
					return nil
				}
				cr.mu.Lock()
				defer cr.mu.Unlock()
				n := cr.counts[why]
				cr.counts[why]++
				if n >= 3 && n%5 != 0 || len(cr.captures) >= 40 {
					return nil
				}
				cr.captureLocked(fmt.Sprintf("%s (%s %s)", why, op, path),
					mem.CrashClone(rand.New(rand.NewPCG(cloneRand.Uint64(), uint64(len(cr.captures))))))
				return nil
			})
			for op := 1; op <= ops; op++ {
				// Checkpoints run in the background: the hook reads cr.op on their goroutine.
				cr.mu.Lock()
				cr.op = op
				cr.mu.Unlock()
				cr.step()
			}
			cr.h.reopen() // a last checkpoint, and recovery with its directory removals
			mem.InjectError(nil)
			for i, c := range cr.captures {
				cr.stats["captures: "+c.what[:strings.Index(c.what, " (")]]++
				if c.pending != nil {
					cr.stats["captures taken while a call was in progress"]++
				}
				cr.logf("verify capture %d at op %d: %s; call in progress: %v", i, c.op, c.what, c.pending != nil)
				cr.verifyCapture(c, false)
			}
		})
	}
	logStats(t, stats)
}

// captureLocked records fs, a disk image taken now (a CrashClone, or a KillClone), with
// what it must hold: the acknowledged state and the call in progress. cr.mu must be held,
// so that no call starts or ends between the image and the model.
func (cr *crashRun) captureLocked(what string, fs *vfs.MemFS) *crashCapture {
	c := &crashCapture{fs: fs, what: what, op: cr.op, now: cr.h.clock.Now().UnixMilli(), pending: cr.pending,
		queues: make(map[string]*crashQueue, len(cr.queues))}
	for name, q := range cr.queues {
		c.queues[name] = q.clone()
	}
	cr.captures = append(cr.captures, c)
	return c
}

// verifyCapture opens an engine on a captured disk and checks it. Recovery itself is a
// dangerous moment too (torn tails cut, logs cut back to the checkpoint's tails, directories
// of deleted queues removed): the disk is also captured during it, and those disks, which a
// second power loss would leave, are checked against the same expectations.
func (cr *crashRun) verifyCapture(c *crashCapture, nested bool) {
	cr.t.Helper()
	clock := &fakeClock{t: time.UnixMilli(c.now)}
	opts := cr.h.opts
	opts.FS, opts.Now = c.fs, clock.Now
	var (
		againMu sync.Mutex // recovery runs on this goroutine, but be safe
		again   []*crashCapture
	)
	if !nested {
		c.fs.InjectError(func(op vfs.Op, path string) error {
			why := captureReason(op, path)
			againMu.Lock()
			defer againMu.Unlock()
			if why == "" || len(again) >= 2 {
				return nil
			}
			seed := uint64(len(again)+1)<<32 | uint64(c.op)
			again = append(again, &crashCapture{
				fs: c.fs.CrashClone(rand.New(rand.NewPCG(seed, cr.seed))), what: "recovery of " + c.what + ", at " + why,
				op: c.op, now: c.now, queues: c.queues, pending: c.pending,
			})
			return nil
		})
	}
	e, err := Open(cr.h.dir, opts)
	c.fs.InjectError(nil) // recovery is over (it runs on the opening goroutine)
	if err != nil {
		cr.failf("recovery of the disk captured at %s: %v", c.what, err)
	}
	defer e.Close()
	cr.verify(e, clock, c.queues, c.pending)
	for _, n := range again {
		cr.stats["captures during recovery: "+n.what[strings.LastIndex(n.what, ", at ")+5:]]++
		cr.verifyCapture(n, true)
	}
}
