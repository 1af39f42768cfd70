package engine

// A model-based property test: a deliberately simple in-memory model of one namespace's
// queue semantics, run against a real Engine (in-memory file system, fake clock, manual
// ticks) on random operations, comparing every result, error and counter.
//
// The model's rules (times are unix milliseconds; "now" is the time of the operation):
//
//   - Messages of a queue are kept in send order (seq). A message is live unless deleted.
//     Deleted messages stay stored (for RewindQueue) only while the queue has rewindSeconds
//     > 0 and the message's enqueue second is inside the window: it is dropped once
//     (now/1000 - rewindSeconds)*1000 > enqueue. With rewindSeconds = 0 a deleted message is
//     dropped at once, and setting rewindSeconds to 0 drops every deleted message.
//   - Retention: a message (live or deleted) expires when now >= enqueue + retention*1000.
//   - Delay: a message sent with delaySeconds d is invisible until now >= enqueue + d*1000.
//   - Leases: a receive makes a message in flight until now + visibilityTimeout*1000; the
//     lease is expired when its deadline <= now, and its handle is then stale.
//     ChangeMessageVisibility(s) moves the deadline to now + s*1000; s = 0 ends the lease.
//   - Handles: malformed (not a handle), wrong queue (issued by another queue, or by an
//     earlier queue of the same name), deleted (the message was deleted, moved to the
//     dead-letter queue, or is no longer stored), stale (anything else that is not the
//     current, unexpired lease), checked in that order.
//   - Delivery order: messages that were handed out before and are visible again (lease
//     expired or ended; or delayed messages that a receive walked past and that came due
//     since) are served first, lowest seq first; then messages never offered yet, in send
//     order. The engine implements this with a delivery cursor: "walked past" means a
//     receive that still wanted messages looked at it while it was delayed. The model keeps
//     the same cursor, as a seq, because the order is observable and the engine documents it
//     (DESIGN.md "Receive serves the ready set first, then walks the cursor"); CMQ itself
//     promises no order (cmq-api.md §13).
//   - Rewind(T seconds): valid iff rewindSeconds > 0 and now/1000 - rewindSeconds <= T <=
//     now/1000 (integer division). Every stored message with enqueue >= T*1000 becomes
//     fresh again (not deleted, no lease, receive count 0, no first dequeue time) except
//     delayed messages that are not due, which stay delayed; they are served after the
//     redeliveries below that point, in send order.
//   - Dead letters, policy 0: when a lease expires (or is ended by a visibility change to 0)
//     and the receive count has reached maxReceiveCount, the message moves to the dead-letter
//     queue (same id and body, enqueue time = the time of the command that noticed it) and
//     is deleted from the source. If the dead-letter queue is full the message stays, visible.
//   - Time-driven changes are lazy, as the engine defines them: they are applied to a queue
//     by the next command that touches it (and on a dead-letter queue by a move into it), or
//     by Tick for every queue. This only matters for dead-letter moves (their enqueue time)
//     and for what reads see of changes that nothing has applied yet.
//   - Reads (GetQueueAttributes) are exact as of now: ActiveMsgNum counts visible live
//     messages, InactiveMsgNum live messages whose lease runs, DelayMsgNum delayed ones not
//     due, RewindMsgNum deleted messages that a rewind could still bring back, MinMsgTime
//     the enqueue time of the oldest live message; messages past their retention count
//     nowhere. To be exact, the engine's GetQueueAttributes first applies a Tick when the
//     queue may have time-driven work due, judged by internal lower bounds; that Tick
//     advances every queue with work due, which decides when pending dead-letter moves
//     happen. The model cannot know those bounds, so before each read it asks the engine
//     whether the read will tick (the test that GetQueueAttributes makes) and ticks too.
//     Reading every queue after every operation would thus apply all time-driven work
//     before every command; so the test reads a random subset of the queues after a random
//     subset of the operations, and commands meet pending work (leases, delays, retention,
//     dead-letter moves) in between.
//   - ReceiveMessage with wait 0 on a queue with nothing visible answers ErrNoMessage
//     without a command (so it applies no time-driven change).
//
// Only queue "a" may have a dead-letter policy (onto "dlq"): with two sources, the order in
// which one Tick moves their messages into the dead-letter queue is the engine's internal
// scheduling order, which nothing specifies.
//
// The TestBug* tests at the end are the minimal reproductions of the engine bugs this test
// found (all fixed in 6a1a72c); they stay as regression tests.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencmq/opencmq/internal/testkit"
)

type mMsg struct {
	seq          uint64
	id           string
	body         string
	enqueue      int64
	deleted      bool  // deleted or moved to the dead-letter queue; stored for rewind
	gone         bool  // no longer stored at all
	due          int64 // > 0: delayed until due (cleared when a command applies it)
	inflight     bool
	deadline     int64  // lease deadline while inflight
	handle       string // the current lease's receipt handle
	count        int
	firstDequeue int64
}

type mQueue struct {
	name    string
	id      string
	attrs   QueueAttributes
	msgs    []*mMsg // stored messages, by seq
	nextSeq uint64
	cursor  uint64 // delivery cursor: seqs below it were offered (or walked past)
	sources int    // queues using this one as dead-letter queue
	created int64
}

type model struct {
	now     int64
	queues  map[string]*mQueue
	events  map[string]int // what happened, for -v
	ticking bool           // in tick (for events)
}

func (q *mQueue) expired(m *mMsg, now int64) bool {
	return now >= m.enqueue+q.attrs.MsgRetentionSeconds*1000
}

// live returns the number of stored messages that are not deleted.
func (q *mQueue) live() int {
	n := 0
	for _, m := range q.msgs {
		if !m.deleted {
			n++
		}
	}
	return n
}

// drop removes the messages for which f is true from storage.
func (q *mQueue) drop(f func(m *mMsg) bool) {
	q.msgs = slices.DeleteFunc(q.msgs, func(m *mMsg) bool {
		if f(m) {
			m.gone = true
			return true
		}
		return false
	})
}

// dropDeleted drops deleted messages enqueued before keepFrom.
func (q *mQueue) dropDeleted(keepFrom int64) {
	q.drop(func(m *mMsg) bool { return m.deleted && m.enqueue < keepFrom })
}

func (q *mQueue) markDeleted(m *mMsg) {
	m.deleted, m.inflight, m.due = true, false, 0
	if q.attrs.RewindSeconds == 0 {
		q.dropDeleted(math.MaxInt64)
	}
}

// advance applies every time-driven change due at md.now to q.
func (md *model) advance(q *mQueue) {
	now := md.now
	q.drop(func(m *mMsg) bool {
		if q.expired(m, now) {
			md.events["model: message expired (retention)"]++
			return true
		}
		return false
	})
	if w := q.attrs.RewindSeconds; w > 0 {
		q.dropDeleted((now/1000 - w) * 1000)
	}
	var exp []*mMsg
	for _, m := range q.msgs {
		if m.inflight && m.deadline <= now {
			exp = append(exp, m)
		}
	}
	slices.SortStableFunc(exp, func(x, y *mMsg) int {
		if x.deadline != y.deadline {
			return int(x.deadline - y.deadline)
		}
		return int(x.seq) - int(y.seq)
	})
	if len(exp) > 0 && !md.ticking {
		md.events["model: a command applied expired leases"]++
	}
	for _, m := range exp {
		m.inflight = false
		md.maybeDeadLetter(q, m)
	}
	for _, m := range q.msgs {
		if m.due > 0 && m.due <= now {
			m.due = 0
		}
	}
}

// maybeDeadLetter moves m, whose lease just ended, to q's dead-letter queue if it was
// received maxReceiveCount times.
func (md *model) maybeDeadLetter(q *mQueue, m *mMsg) {
	p := q.attrs.DeadLetter
	if p == nil || p.Policy != 0 || int64(m.count) < p.MaxReceiveCount {
		return
	}
	dlq := md.queues[p.Queue]
	md.advance(dlq) // messages that expired there make room
	if int64(dlq.live()) >= dlq.attrs.MaxMsgHeapNum {
		md.events["model: dead-letter move refused (full)"]++
		return
	}
	md.events["model: dead-letter move"]++
	if !md.ticking {
		md.events["model: dead-letter move by a command"]++
	}
	dlq.nextSeq++
	dlq.msgs = append(dlq.msgs, &mMsg{seq: dlq.nextSeq - 1, id: m.id, body: m.body, enqueue: md.now})
	q.markDeleted(m)
}

type mCounts struct {
	active, inactive, delay, rewind int64
	minMsgTime                      int64
}

// counts is what GetQueueAttributes reports at md.now.
func (md *model) counts(q *mQueue) mCounts {
	var c mCounts
	now := md.now
	w := q.attrs.RewindSeconds
	for _, m := range q.msgs {
		if q.expired(m, now) {
			continue
		}
		if m.deleted {
			if w > 0 && m.enqueue >= (now/1000-w)*1000 {
				c.rewind++
			}
			continue
		}
		if c.minMsgTime == 0 {
			c.minMsgTime = m.enqueue
		}
		switch {
		case m.inflight && m.deadline > now:
			c.inactive++
		case m.due > now:
			c.delay++
		default:
			c.active++
		}
	}
	return c
}

func validModelAttrs(a QueueAttributes) error {
	switch {
	case a.MaxMsgHeapNum < 1, a.VisibilityTimeout < 1 || a.VisibilityTimeout > 43200,
		a.MsgRetentionSeconds < 60 || a.MsgRetentionSeconds > 1_296_000, a.RewindSeconds < 0:
		return ErrParameterRange
	case a.RewindSeconds > a.MsgRetentionSeconds:
		return ErrRewindRetention
	}
	return nil
}

func (md *model) createQueue(name string, a QueueAttributes) (*mQueue, error) {
	if err := validModelAttrs(a); err != nil {
		return nil, err
	}
	if md.queues[name] != nil {
		return nil, ErrQueueExists
	}
	if p := a.DeadLetter; p != nil {
		dlq := md.queues[p.Queue]
		if dlq == nil {
			return nil, ErrDeadLetterMissing
		}
		dlq.sources++
	}
	q := &mQueue{name: name, attrs: a, nextSeq: 1, cursor: 1, created: md.now}
	md.queues[name] = q
	return q, nil
}

func (md *model) deleteQueue(name string) error {
	q := md.queues[name]
	if q == nil {
		return ErrQueueNotExist
	}
	md.advance(q)
	if q.sources > 0 {
		return ErrIsDeadLetterQueue
	}
	if p := q.attrs.DeadLetter; p != nil {
		md.queues[p.Queue].sources--
	}
	q.drop(func(*mMsg) bool { return true })
	delete(md.queues, name)
	return nil
}

func (md *model) setAttributes(q *mQueue, u QueueAttributeUpdate) error {
	md.advance(q)
	a := u.apply(q.attrs)
	if err := validModelAttrs(a); err != nil {
		return err
	}
	q.attrs = a
	if a.RewindSeconds == 0 {
		q.dropDeleted(math.MaxInt64)
	}
	md.advance(q)
	return nil
}

// send returns the new messages (ids to be filled in from the engine's answer).
func (md *model) send(q *mQueue, bodies []string, delay int64) ([]*mMsg, error) {
	md.advance(q)
	if delay < 0 || delay >= q.attrs.MsgRetentionSeconds {
		return nil, ErrParameterRange
	}
	if q.live()+len(bodies) > int(q.attrs.MaxMsgHeapNum) {
		return nil, ErrQueueFull
	}
	var out []*mMsg
	for _, b := range bodies {
		m := &mMsg{seq: q.nextSeq, body: b, enqueue: md.now}
		q.nextSeq++
		if delay > 0 {
			m.due = md.now + delay*1000
		}
		q.msgs = append(q.msgs, m)
		out = append(out, m)
	}
	return out, nil
}

func (md *model) receive(q *mQueue, n int) ([]*mMsg, error) {
	if md.counts(q).active == 0 {
		return nil, ErrNoMessage // answered without a command
	}
	md.advance(q)
	var out []*mMsg
	deliver := func(m *mMsg) {
		m.count++
		if m.firstDequeue == 0 {
			m.firstDequeue = md.now
		}
		m.inflight = true
		m.deadline = md.now + q.attrs.VisibilityTimeout*1000
		m.handle = ""
		out = append(out, m)
	}
	// Redeliveries first, lowest seq first.
	for _, m := range q.msgs {
		if len(out) == n {
			break
		}
		if m.seq < q.cursor && !m.deleted && !m.inflight && m.due == 0 {
			deliver(m)
		}
	}
	// Then never-offered messages in send order; the cursor walks past delayed ones.
	for _, m := range q.msgs {
		if len(out) == n {
			break
		}
		if m.seq < q.cursor || m.deleted {
			continue
		}
		q.cursor = m.seq + 1
		if m.due == 0 {
			deliver(m)
		}
	}
	if len(out) == 0 {
		return nil, ErrNoMessage
	}
	return out, nil
}

// mHandle is a receipt handle the test holds, with what the model knows of it.
type mHandle struct {
	s string
	q *mQueue // queue instance that issued it; nil for junk
	m *mMsg
}

func (md *model) checkHandle(q *mQueue, h mHandle) (*mMsg, error) {
	switch {
	case h.q == nil:
		return nil, ErrHandleMalformed
	case h.q != q:
		return nil, ErrHandleWrongQueue
	case h.m.gone || h.m.deleted:
		return nil, ErrHandleDeleted
	case !h.m.inflight || h.m.handle != h.s || h.m.deadline <= md.now:
		return nil, ErrHandleStale
	}
	return h.m, nil
}

func (md *model) deleteMessages(q *mQueue, hs []mHandle) []error {
	md.advance(q)
	errs := make([]error, len(hs))
	for i, h := range hs {
		m, err := md.checkHandle(q, h)
		if err != nil {
			errs[i] = err
			continue
		}
		q.markDeleted(m)
	}
	return errs
}

func (md *model) changeVisibility(q *mQueue, h mHandle, secs int64) (int64, error) {
	md.advance(q)
	if secs < 0 || secs > 43200 {
		return 0, ErrParameterRange
	}
	m, err := md.checkHandle(q, h)
	if err != nil {
		return 0, err
	}
	m.deadline = md.now + secs*1000
	if secs > 0 {
		return m.deadline, nil
	}
	m.inflight = false
	md.maybeDeadLetter(q, m)
	return md.now, nil
}

func (md *model) rewind(q *mQueue, t int64) error {
	md.advance(q)
	w := q.attrs.RewindSeconds
	if w == 0 {
		return ErrRewindDisabled
	}
	if t < md.now/1000-w || t > md.now/1000 {
		return ErrRewindTime
	}
	s := q.nextSeq
	for _, m := range q.msgs {
		if m.enqueue < t*1000 {
			continue
		}
		s = min(s, m.seq)
		if m.due > 0 {
			continue // delayed and not due: stays delayed
		}
		if m.deleted {
			md.events["model: rewind restored a deleted message"]++
		}
		m.deleted, m.inflight, m.handle, m.count, m.firstDequeue = false, false, "", 0, 0
	}
	q.cursor = min(q.cursor, s)
	return nil
}

func (md *model) unbind(q *mQueue) {
	md.advance(q)
	if p := q.attrs.DeadLetter; p != nil {
		md.queues[p.Queue].sources--
		q.attrs.DeadLetter = nil
	}
}

// tick advances every queue (advancing one with nothing due changes nothing).
func (md *model) tick() {
	names := make([]string, 0, len(md.queues))
	for name := range md.queues {
		names = append(names, name)
	}
	slices.Sort(names)
	md.ticking = true
	for _, name := range names {
		md.advance(md.queues[name])
	}
	md.ticking = false
}

// ---------------------------------------------------------------------------------------
// The test driver.

var modelQueueNames = []string{"a", "b", "dlq"}

type modelRun struct {
	t       *testing.T
	seed    uint64
	r       *rand.Rand
	h       *harness
	md      *model
	handles []mHandle
	ids     map[string]bool
	qids    map[string]bool
	stats   map[string]int // outcomes seen, for -v
	log     []string
	op      int
	bodyN   int
}

func (mr *modelRun) logf(format string, args ...any) {
	mr.log = append(mr.log, fmt.Sprintf("%4d t=%d.%03d ", mr.op, mr.md.now/1000%100000, mr.md.now%1000)+fmt.Sprintf(format, args...))
}

func (mr *modelRun) failf(format string, args ...any) {
	mr.t.Helper()
	log := mr.log
	if !testing.Verbose() && len(log) > 40 {
		log = log[len(log)-40:] // -v prints them all
	}
	mr.t.Fatalf("seed %d, op %d: %s\noperations:\n%s\nreproduce: go test -v -run 'TestEngineMatchesModel/seed=%d$' ./engine/",
		mr.seed, mr.op, fmt.Sprintf(format, args...), strings.Join(log, "\n"), mr.seed)
}

func errName(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// sameErr reports whether got is want (nil, or the same CMQ code and module).
func sameErr(got, want error) bool {
	if want == nil || got == nil {
		return got == nil && want == nil
	}
	gc, gm := CodeOf(got)
	wc, wm := CodeOf(want)
	return errors.Is(got, want) && gc == wc && gm == wm
}

func (mr *modelRun) checkErr(what string, got, want error) {
	mr.t.Helper()
	op, _, _ := strings.Cut(what, " ")
	mr.stats[op+": "+errName(want)]++
	if !sameErr(got, want) {
		mr.failf("%s: error %q, model says %q", what, errName(got), errName(want))
	}
}

func (mr *modelRun) advanceClock(ms int64) {
	mr.h.clock.Advance(time.Duration(ms) * time.Millisecond)
	mr.md.now += ms
	if got := mr.h.clock.Now().UnixMilli(); got != mr.md.now {
		mr.failf("clock %d, model %d", got, mr.md.now)
	}
}

func (mr *modelRun) randAttrs(name string) QueueAttributes {
	r := mr.r
	a := DefaultQueueAttributes()
	a.MaxMsgHeapNum = int64(5 + r.IntN(26))
	a.VisibilityTimeout = int64(1 + r.IntN(5))
	a.MsgRetentionSeconds = int64(60 + r.IntN(241))
	if r.IntN(2) == 0 {
		a.RewindSeconds = int64(60 + r.IntN(61))
	}
	if name == "a" && r.IntN(4) > 0 {
		a.DeadLetter = &DeadLetterPolicy{Queue: "dlq", Policy: 0, MaxReceiveCount: int64(1 + r.IntN(3))}
	}
	return a
}

func (mr *modelRun) rememberHandle(h mHandle) {
	mr.handles = append(mr.handles, h)
	if len(mr.handles) > 48 {
		mr.handles = mr.handles[len(mr.handles)-48:]
	}
}

// randHandle picks a handle: often one that is current, else one a receive returned
// earlier (stale, deleted, of another queue), sometimes junk or a damaged one.
func (mr *modelRun) randHandle() mHandle {
	r := mr.r
	switch k := r.IntN(20); {
	case k == 0 || len(mr.handles) == 0:
		return mHandle{s: "junk"}
	case k == 1:
		h := mr.handles[r.IntN(len(mr.handles))].s
		b := []byte(h)
		i := r.IntN(len(b) - 1) // not the last character: it may carry only unused bits
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return mHandle{s: string(b)}
	case k < 11:
		var current []mHandle
		for _, h := range mr.handles {
			if m := h.m; mr.md.queues[h.q.name] == h.q && !m.gone && !m.deleted && m.inflight && m.handle == h.s && m.deadline > mr.md.now {
				current = append(current, h)
			}
		}
		if len(current) > 0 {
			return current[r.IntN(len(current))]
		}
		fallthrough
	default:
		return mr.handles[r.IntN(len(mr.handles))]
	}
}

// queueFor returns the queue to use a handle on: mostly the one that issued it.
func (mr *modelRun) queueFor(h mHandle) string {
	if h.q != nil && mr.r.IntN(4) > 0 {
		return h.q.name
	}
	return mr.randQueue()
}

func (mr *modelRun) randQueue() string {
	return modelQueueNames[mr.r.IntN(len(modelQueueNames))]
}

// step runs one random operation on the engine and the model and compares the results.
func (mr *modelRun) step() {
	r, h, md := mr.r, mr.h, mr.md
	ctx := h.ctx
	switch k := r.IntN(1000); {
	case k < 40: // CreateQueue
		name := mr.randQueue()
		a := mr.randAttrs(name)
		mr.logf("CreateQueue %s heap=%d vis=%d ret=%d rewind=%d dlq=%v", name, a.MaxMsgHeapNum, a.VisibilityTimeout,
			a.MsgRetentionSeconds, a.RewindSeconds, a.DeadLetter != nil)
		id, err := h.e.CreateQueue(ctx, "ns", name, a)
		q, want := md.createQueue(name, a)
		mr.checkErr("CreateQueue "+name, err, want)
		if err == nil {
			if mr.qids[id] {
				mr.failf("CreateQueue %s: queue id %s reused", name, id)
			}
			mr.qids[id] = true
			q.id = id
		}
	case k < 55: // DeleteQueue
		name := mr.randQueue()
		mr.logf("DeleteQueue %s", name)
		mr.checkErr("DeleteQueue "+name, h.e.DeleteQueue(ctx, "ns", name), md.deleteQueue(name))
	case k < 240: // SendMessage / BatchSendMessage
		name := mr.randQueue()
		n := 1 + r.IntN(4)
		if r.IntN(2) == 0 {
			n = 1
		}
		var delay int64
		switch j := r.IntN(20); {
		case j == 0:
			delay = -1
		case j < 6:
			delay = int64(1 + r.IntN(5))
		}
		bodies := make([]string, n)
		bs := make([][]byte, n)
		for i := range bodies {
			mr.bodyN++
			bodies[i] = fmt.Sprintf("s%d-m%d", mr.seed, mr.bodyN)
			bs[i] = []byte(bodies[i])
		}
		mr.logf("Send %s %v delay=%d", name, bodies, delay)
		var ids []string
		var err error
		if n == 1 && r.IntN(2) == 0 {
			var id string
			id, err = h.e.SendMessage(ctx, "ns", name, bs[0], delay)
			if err == nil {
				ids = []string{id}
			}
		} else {
			ids, err = h.e.BatchSendMessage(ctx, "ns", name, bs, delay)
		}
		q := md.queues[name]
		var msgs []*mMsg
		var want error = ErrQueueNotExist
		if q != nil {
			msgs, want = md.send(q, bodies, delay)
		}
		mr.checkErr("Send to "+name, err, want)
		if err == nil {
			if len(ids) != n {
				mr.failf("Send: %d ids for %d bodies", len(ids), n)
			}
			for i, id := range ids {
				if len(id) != 32 || mr.ids[id] {
					mr.failf("Send: bad or reused message id %q", id)
				}
				mr.ids[id] = true
				msgs[i].id = id
			}
		}
	case k < 450: // ReceiveMessage / BatchReceiveMessage
		name := mr.randQueue()
		n := 1 + r.IntN(4)
		if r.IntN(8) == 0 {
			n = 16
		}
		got, err := h.e.ReceiveMessage(ctx, "ns", name, n, 0)
		q := md.queues[name]
		var want []*mMsg
		var wantErr error = ErrQueueNotExist
		if q != nil {
			want, wantErr = md.receive(q, n)
		}
		var gotIDs []string
		for _, m := range got {
			gotIDs = append(gotIDs, string(m.Body))
		}
		mr.logf("Receive %s n=%d -> %v %s", name, n, gotIDs, errName(err))
		mr.checkErr("Receive from "+name, err, wantErr)
		mr.compareReceived(name, q, got, want)
	case k < 600: // DeleteMessage / BatchDeleteMessage
		n := 1 + r.IntN(3)
		hs := make([]mHandle, n)
		strs := make([]string, n)
		for i := range hs {
			hs[i] = mr.randHandle()
			strs[i] = hs[i].s
		}
		name := mr.queueFor(hs[0])
		var errs []error
		var err error
		if n == 1 && r.IntN(2) == 0 {
			errs = []error{h.e.DeleteMessage(ctx, "ns", name, strs[0])}
		} else {
			errs, err = h.e.BatchDeleteMessage(ctx, "ns", name, strs)
		}
		mr.logf("Delete %s %s -> %v %v", name, mr.describeHandles(hs), errs, err)
		q := md.queues[name]
		if q == nil {
			if n == 1 && errs != nil && err == nil {
				err = errs[0] // DeleteMessage reports the request error as its own
			}
			mr.checkErr("Delete on "+name, err, ErrQueueNotExist)
			return
		}
		mr.checkErr("Delete on "+name, err, nil)
		want := md.deleteMessages(q, hs)
		if len(errs) != n {
			mr.failf("Delete: %d results for %d handles", len(errs), n)
		}
		for i := range want {
			mr.checkErr(fmt.Sprintf("Delete on %s, handle %d (%s)", name, i, mr.describeHandles(hs[i:i+1])), errs[i], want[i])
		}
	case k < 650: // ChangeMessageVisibility
		hd := mr.randHandle()
		name := mr.queueFor(hd)
		secs := int64(r.IntN(6))
		if r.IntN(30) == 0 {
			secs = -1
		}
		next, err := h.e.ChangeMessageVisibility(ctx, "ns", name, hd.s, secs)
		mr.logf("ChangeVisibility %s %s %ds -> %s", name, mr.describeHandles([]mHandle{hd}), secs, errName(err))
		q := md.queues[name]
		var wantNext int64
		var want error = ErrQueueNotExist
		if q != nil {
			wantNext, want = md.changeVisibility(q, hd, secs)
		}
		mr.checkErr("ChangeVisibility on "+name, err, want)
		if err == nil && next.UnixMilli() != wantNext {
			mr.failf("ChangeVisibility: next visible %d, model %d", next.UnixMilli(), wantNext)
		}
	case k < 700: // RewindQueue
		name := mr.randQueue()
		sec := md.now / 1000
		var t int64
		w := int64(120)
		if q := md.queues[name]; q != nil && q.attrs.RewindSeconds > 0 {
			w = q.attrs.RewindSeconds
		}
		switch j := r.IntN(10); {
		case j == 0:
			t = sec - w - 1
		case j == 1:
			t = sec + 1
		case j == 2:
			t = sec - w
		case j == 3:
			t = sec
		default:
			t = sec - r.Int64N(min(w, 20)+1)
		}
		err := h.e.RewindQueue(ctx, "ns", name, t)
		mr.logf("Rewind %s to %d (now-%d s) -> %s", name, t, sec-t, errName(err))
		var want error = ErrQueueNotExist
		if q := md.queues[name]; q != nil {
			want = md.rewind(q, t)
		}
		mr.checkErr("Rewind "+name, err, want)
	case k < 730: // SetQueueAttributes
		name := mr.randQueue()
		var u QueueAttributeUpdate
		switch r.IntN(4) {
		case 0:
			v := int64(0)
			u.RewindSeconds = &v
		case 1:
			v := int64(60 + r.IntN(100))
			u.RewindSeconds = &v
		case 2:
			v := int64(1 + r.IntN(5))
			u.VisibilityTimeout = &v
		case 3:
			v := int64(3 + r.IntN(20))
			u.MaxMsgHeapNum = &v
		}
		mr.logf("SetQueueAttributes %s %s", name, describeUpdate(u))
		got, err := h.e.SetQueueAttributes(ctx, "ns", name, u)
		var want error = ErrQueueNotExist
		q := md.queues[name]
		if q != nil {
			want = md.setAttributes(q, u)
		}
		mr.checkErr("SetQueueAttributes "+name, err, want)
		if err == nil {
			mr.compareAttrs(name, got, q.attrs)
		}
	case k < 935: // the clock moves
		var ms int64
		switch j := r.IntN(25); {
		case j == 0: // past retention, rewind windows and leases
			ms = int64(30_000 + r.IntN(300_000))
		case j < 4: // whole seconds
			ms = int64(1000 * (1 + r.IntN(5)))
		case j < 10: // exactly onto (or just before) the next thing that falls due
			if at := mr.nextEvent(); at > md.now {
				ms = at - md.now - int64(r.IntN(2))
				break
			}
			fallthrough
		default:
			ms = int64(r.IntN(4001))
		}
		mr.logf("clock +%d ms", ms)
		mr.advanceClock(ms)
	case k < 940: // UnbindDeadLetterQueue
		name := mr.randQueue()
		mr.logf("UnbindDeadLetterQueue %s", name)
		err := h.e.UnbindDeadLetterQueue(ctx, "ns", name)
		var want error = ErrQueueNotExist
		if q := md.queues[name]; q != nil {
			md.unbind(q)
			want = nil
		}
		mr.checkErr("UnbindDeadLetterQueue "+name, err, want)
	case k < 990: // Tick
		mr.logf("Tick")
		if err := h.e.Tick(ctx); err != nil {
			mr.failf("Tick: %v", err)
		}
		md.tick()
	default: // clean restart
		mr.logf("reopen")
		h.reopen()
	}
}

// nextEvent returns one of the next few times at which something falls due in the model:
// a lease deadline, a delay, a retention expiry, a deleted message leaving the rewind
// window, or a rewind window boundary. 0 if there is none.
func (mr *modelRun) nextEvent() int64 {
	md := mr.md
	var events []int64
	add := func(at int64) {
		if at > md.now {
			events = append(events, at)
		}
	}
	for _, name := range modelQueueNames {
		q := md.queues[name]
		if q == nil {
			continue
		}
		for _, m := range q.msgs {
			add(m.enqueue + q.attrs.MsgRetentionSeconds*1000)
			if m.inflight {
				add(m.deadline)
			}
			add(m.due)
			if w := q.attrs.RewindSeconds; w > 0 {
				add((m.enqueue/1000 + 1 + w) * 1000)
			}
		}
	}
	if len(events) == 0 {
		return 0
	}
	slices.Sort(events)
	return events[mr.r.IntN(min(len(events), 3))]
}

// logEngineState adds the engine's internal queue positions to the operation log (set
// MODEL_DEBUG=1 and run with -v to see them when a seed fails).
func (mr *modelRun) logEngineState() {
	e := mr.h.e
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, name := range modelQueueNames {
		if q := e.sm.lookup("ns", name); q != nil {
			mr.logf("   engine %s: first=%d head=%d cursor=%d tail=%d holes=%d scheduledAt=%d trimAt=%d retentionAt=%d",
				name, q.first, q.head, q.cursor, q.tail, q.holes.Count(), q.scheduledAt, q.trimAt, q.retentionAt)
		}
	}
}

func describeUpdate(u QueueAttributeUpdate) string {
	var parts []string
	if u.RewindSeconds != nil {
		parts = append(parts, fmt.Sprintf("rewind=%d", *u.RewindSeconds))
	}
	if u.VisibilityTimeout != nil {
		parts = append(parts, fmt.Sprintf("vis=%d", *u.VisibilityTimeout))
	}
	if u.MaxMsgHeapNum != nil {
		parts = append(parts, fmt.Sprintf("heap=%d", *u.MaxMsgHeapNum))
	}
	return strings.Join(parts, " ")
}

func (mr *modelRun) describeHandles(hs []mHandle) string {
	var parts []string
	for _, h := range hs {
		if h.q == nil {
			parts = append(parts, "junk")
		} else {
			parts = append(parts, fmt.Sprintf("%s:%s#%d", h.q.name, h.m.body, h.m.count))
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func (mr *modelRun) compareReceived(name string, q *mQueue, got []Message, want []*mMsg) {
	mr.t.Helper()
	if len(got) != len(want) {
		var w []string
		for _, m := range want {
			w = append(w, m.body)
		}
		var g []string
		for _, m := range got {
			g = append(g, string(m.Body))
		}
		mr.failf("Receive from %s: got %v, model says %v", name, g, w)
	}
	for i, m := range got {
		w := want[i]
		switch {
		case m.ID != w.id || string(m.Body) != w.body:
			mr.failf("Receive from %s: message %d is %s %q, model says %s %q", name, i, m.ID, m.Body, w.id, w.body)
		case m.DequeueCount != w.count:
			mr.failf("Receive from %s: %q dequeue count %d, model says %d", name, w.body, m.DequeueCount, w.count)
		case m.EnqueueTime.UnixMilli() != w.enqueue:
			mr.failf("Receive from %s: %q enqueue time %d, model says %d", name, w.body, m.EnqueueTime.UnixMilli(), w.enqueue)
		case m.FirstDequeueTime.UnixMilli() != w.firstDequeue:
			mr.failf("Receive from %s: %q first dequeue %d, model says %d", name, w.body, m.FirstDequeueTime.UnixMilli(), w.firstDequeue)
		case m.NextVisibleTime.UnixMilli() != w.deadline:
			mr.failf("Receive from %s: %q next visible %d, model says %d", name, w.body, m.NextVisibleTime.UnixMilli(), w.deadline)
		}
		w.handle = m.ReceiptHandle
		mr.rememberHandle(mHandle{s: m.ReceiptHandle, q: q, m: w})
	}
}

func (mr *modelRun) compareAttrs(name string, got, want QueueAttributes) {
	mr.t.Helper()
	if got.MaxMsgHeapNum != want.MaxMsgHeapNum || got.VisibilityTimeout != want.VisibilityTimeout ||
		got.MsgRetentionSeconds != want.MsgRetentionSeconds || got.RewindSeconds != want.RewindSeconds ||
		(got.DeadLetter == nil) != (want.DeadLetter == nil) ||
		(got.DeadLetter != nil && *got.DeadLetter != *want.DeadLetter) {
		mr.failf("attributes of %s: %+v, model says %+v", name, got, want)
	}
}

// readWillTick reports whether GetQueueAttributes of name will apply a Tick before reading:
// the same test it makes, on the engine's internal lower bounds (see the rules above).
func (mr *modelRun) readWillTick(name string) bool {
	e := mr.h.e
	e.mu.RLock()
	defer e.mu.RUnlock()
	q := e.sm.lookup("ns", name)
	return q != nil && q.readNeedsTick(max(e.nowMs(), e.sm.clock))
}

// checkQueues compares what GetQueueAttributes says of the named queues, and ListQueues,
// with the model.
func (mr *modelRun) checkQueues(names []string) {
	mr.t.Helper()
	h, md := mr.h, mr.md
	for _, name := range names {
		if mr.readWillTick(name) {
			md.tick()
			mr.stats["GetQueueAttributes applied a Tick"]++
		}
		info, err := h.e.GetQueueAttributes(h.ctx, "ns", name)
		q := md.queues[name]
		if q == nil {
			mr.checkErr("GetQueueAttributes "+name, err, ErrQueueNotExist)
			continue
		}
		if err != nil {
			mr.failf("GetQueueAttributes %s: %v", name, err)
		}
		c := md.counts(q)
		got := mCounts{info.ActiveMsgNum, info.InactiveMsgNum, info.DelayMsgNum, info.RewindMsgNum, 0}
		if !info.MinMsgTime.IsZero() {
			got.minMsgTime = info.MinMsgTime.UnixMilli()
		}
		if got != c {
			mr.failf("counters of %s (active inactive delay rewind minMsgTime): %v, model says %v", name, got, c)
		}
		if info.ID != q.id || info.Name != name || info.CreateTime.UnixMilli() != q.created {
			mr.failf("GetQueueAttributes %s: id %s name %s created %v, model says %s %s %d", name, info.ID, info.Name, info.CreateTime, q.id, name, q.created)
		}
		mr.compareAttrs(name, info.Attributes, q.attrs)
	}
	total, _, err := h.e.ListQueues(h.ctx, "ns", "", 0, 100)
	if err != nil || total != len(md.queues) {
		mr.failf("ListQueues: %d queues (%v), model has %d", total, err, len(md.queues))
	}
	if dlq := md.queues["dlq"]; dlq != nil {
		total, _, err := h.e.ListDeadLetterSourceQueues(h.ctx, "ns", "dlq", "", 0, 100)
		if err != nil || total != dlq.sources {
			mr.failf("ListDeadLetterSourceQueues: %d (%v), model has %d", total, err, dlq.sources)
		}
	}
}

func runModel(t *testing.T, seed uint64, ops int, stats map[string]int) {
	h := newHarness(t)
	if seed%3 == 0 {
		// Checkpoints (and journal truncation) every few commands, segments that roll.
		h.e.Close()
		h.opts.CheckpointBytes = 2048
		h.opts.SegmentBytes = 4096
		h.open()
	}
	mr := &modelRun{
		t: t, seed: seed, r: rand.New(rand.NewPCG(seed, 0x6d6f64656c)), h: h,
		md:  &model{now: h.clock.Now().UnixMilli(), queues: map[string]*mQueue{}, events: stats},
		ids: map[string]bool{}, qids: map[string]bool{}, stats: stats,
	}
	mr.advanceClock(int64(mr.r.IntN(1000))) // not on a second boundary
	// Start with the three queues (a refused create is fine: later ops create them).
	for _, name := range []string{"dlq", "a", "b"} {
		a := mr.randAttrs(name)
		mr.logf("CreateQueue %s heap=%d vis=%d ret=%d rewind=%d dlq=%v", name, a.MaxMsgHeapNum, a.VisibilityTimeout,
			a.MsgRetentionSeconds, a.RewindSeconds, a.DeadLetter != nil)
		id, err := h.e.CreateQueue(h.ctx, "ns", name, a)
		q, want := mr.md.createQueue(name, a)
		mr.checkErr("CreateQueue "+name, err, want)
		if err == nil {
			q.id = id
			mr.qids[id] = true
		}
	}
	mr.checkQueues(modelQueueNames)
	for mr.op = 1; mr.op <= ops; mr.op++ {
		mr.step()
		if os.Getenv("MODEL_DEBUG") != "" {
			mr.logEngineState()
		}
		switch mr.r.IntN(3) {
		case 0:
			mr.checkQueues(modelQueueNames)
		case 1:
			mr.checkQueues([]string{mr.randQueue()})
		}
	}
	mr.checkQueues(modelQueueNames)
}

// TestEngineMatchesModel runs random operations against the engine and the model.
func TestEngineMatchesModel(t *testing.T) {
	seeds, ops := 40, 500
	if testing.Short() {
		seeds = 8
	}
	stats := map[string]int{}
	for seed := uint64(1); seed <= uint64(seeds); seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { runModel(t, seed, ops, stats) })
	}
	testkit.LogStats(t, stats)
}

// ---------------------------------------------------------------------------------------
// Engine bugs found by TestEngineMatchesModel, each reduced to a minimal test. All were
// fixed in 6a1a72c; the tests stay as regression tests. (The comments describe the bugs as
// they were.)

// GetQueueAttributes reads the queue as of its last command, not as of now: a message past
// its retention keeps counting (and is MinMsgTime), and so does a deleted message that left
// the rewind window, until some command or a Tick touches the queue. queue.counts ignores
// retention and the rewind window; GetQueueAttributes' RewindMsgNum and MinMsgTime read
// first/head as they are.
func TestBugReadsCountExpiredMessages(t *testing.T) {
	t.Run("retention", func(t *testing.T) {
		h := newHarness(t)
		h.create("q", func(a *QueueAttributes) { a.MsgRetentionSeconds = 60 })
		h.send("q", "old")
		h.clock.Advance(60 * time.Second) // now = enqueue + retention: expired
		if got := h.counts("q"); got != [4]int64{0, 0, 0, 0} {
			t.Errorf("counters of a queue whose only message expired: %v, want all 0", got)
		}
		if got := h.info("q").MinMsgTime; !got.IsZero() {
			t.Errorf("MinMsgTime %v, want zero: the message expired", got)
		}
	})
	t.Run("rewind window", func(t *testing.T) {
		h := newHarness(t)
		h.create("q", func(a *QueueAttributes) { a.RewindSeconds = 60 })
		h.send("q", "x")
		m := h.receive("q", 1)[0]
		if err := h.e.DeleteMessage(h.ctx, "ns", "q", m.ReceiptHandle); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(62 * time.Second) // x's second is out of the window: no rewind reaches it
		if got := h.counts("q"); got != [4]int64{0, 0, 0, 0} {
			t.Errorf("counters: %v, want RewindMsgNum 0", got)
		}
	})
}

// A message deleted while rewind was off (or before rewind was turned off) comes back when
// rewind is turned on and the queue rewound, if a live message with a lower seq kept it
// above the queue's head. markDeleted (queue.go) and setQueueAttributes' purge
// (q.dropBelow(q.head), state.go) only drop what lies below head; deletions above head stay
// in q.holes, and rewind (q.holes.DeleteFrom(s), state.go) undoes them all.
func TestBugRewindResurrectsMessageDeletedWhileRewindOff(t *testing.T) {
	for _, c := range []struct {
		name   string
		rewind int64 // at creation; disabled before the delete's purge if > 0
	}{{"deleted while off", 0}, {"purged by disabling rewind", 60}} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.create("q", func(a *QueueAttributes) { a.VisibilityTimeout = 30; a.RewindSeconds = c.rewind })
			h.send("q", "first", "second")
			h.receive("q", 1) // "first" stays in flight: it is the queue's head
			second := h.receive("q", 1)[0]
			if err := h.e.DeleteMessage(h.ctx, "ns", "q", second.ReceiptHandle); err != nil {
				t.Fatal(err)
			}
			set := func(v int64) {
				if _, err := h.e.SetQueueAttributes(h.ctx, "ns", "q", QueueAttributeUpdate{RewindSeconds: &v}); err != nil {
					t.Fatal(err)
				}
			}
			if c.rewind > 0 {
				set(0) // "disabling rewind purges the rewindable messages"
			}
			set(60)
			if got := h.counts("q")[3]; got != 0 {
				t.Errorf("RewindMsgNum %d after enabling rewind, want 0: nothing was deleted while it was on", got)
			}
			if err := h.e.RewindQueue(h.ctx, "ns", "q", h.clock.Now().Unix()); err != nil {
				t.Fatal(err)
			}
			wantStrings(t, h.bodies(h.receive("q", 16)), []string{"first"})
		})
	}
}

// RewindMsgNum counts deleted messages that no rewind can reach any more: the rewind-window
// trim in advance (state.go, q.dropBelow(min(s, q.head))) cannot drop deletions above the
// head, and RewindMsgNum (api.go) is head-first+holes.
func TestBugRewindMsgNumCountsDeletedOutsideWindow(t *testing.T) {
	h := newHarness(t)
	h.create("q", func(a *QueueAttributes) { a.VisibilityTimeout = 30; a.RewindSeconds = 60 })
	h.send("q", "first", "second")
	h.receive("q", 1) // "first" stays live (in flight, then visible again): the head
	second := h.receive("q", 1)[0]
	if err := h.e.DeleteMessage(h.ctx, "ns", "q", second.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(62 * time.Second)
	h.tick() // applies everything due: the reading is not just lazy
	if got := h.counts("q"); got != [4]int64{1, 0, 0, 0} {
		t.Errorf("counters %v, want [1 0 0 0]: \"second\" left the 60 s rewind window", got)
	}
}

// A dead-letter move checks whether the dead-letter queue is full before applying that
// queue's own retention (moveToDeadLetter, state.go: the dlq.live() check comes before
// sm.advance(dlq, now)), so messages that already expired there block the move.
func TestBugDeadLetterFullCheckIgnoresRetention(t *testing.T) {
	h := newHarness(t)
	h.create("dlq", func(a *QueueAttributes) { a.MaxMsgHeapNum = 1; a.MsgRetentionSeconds = 60 })
	h.create("q", func(a *QueueAttributes) {
		a.VisibilityTimeout = 1
		a.DeadLetter = &DeadLetterPolicy{Queue: "dlq", Policy: 0, MaxReceiveCount: 1}
	})
	h.send("dlq", "old")
	h.clock.Advance(59 * time.Second)
	h.send("q", "poison")
	h.receive("q", 1)
	h.clock.Advance(time.Second) // "old" expires in dlq; poison's lease ends
	msgs, err := h.e.ReceiveMessage(h.ctx, "ns", "q", 1, 0)
	if !errors.Is(err, ErrNoMessage) {
		t.Errorf("receive from q: %q (%v), want ErrNoMessage: poison belongs in the dead-letter queue", h.bodies(msgs), err)
	}
	wantStrings(t, h.bodies(h.receive("dlq", 16)), []string{"poison"})
}

// reschedule (state.go) treats q.scheduledAt == 0 as "not scheduled", but 0 is also a real
// deadline: retentionAt, trimAt and ttlAt use 0 for "check at once". tick sets scheduledAt
// to 0 before advancing a queue; if the queue's next deadline is then 0 (here: trimAt = 0,
// set by markDeleted when a Tick dead-letters the head of a rewind-enabled queue),
// reschedule returns early and the queue is in no schedule entry at all: later Ticks (and
// the real-time scheduler, which waits for sm.nextDeadline()) skip it until some command
// touches it. The same guard leaves stale (0, id) entries behind, so one Tick can advance a
// queue twice. decodeState's reschedule of a restored queue has the same blind spot.
func TestBugTickLosesQueueSchedule(t *testing.T) {
	h := newHarness(t)
	h.create("dlq", nil)
	h.create("q", func(a *QueueAttributes) {
		a.VisibilityTimeout = 1
		a.RewindSeconds = 60
		a.DeadLetter = &DeadLetterPolicy{Queue: "dlq", Policy: 0, MaxReceiveCount: 1}
	})
	h.send("q", "m1", "m2")
	h.receive("q", 1)
	m2 := h.receive("q", 1)[0]
	if _, err := h.e.ChangeMessageVisibility(h.ctx, "ns", "q", m2.ReceiptHandle, 5); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Second)
	h.tick() // m1's lease ends: it moves to dlq
	h.clock.Advance(10 * time.Second)
	h.tick() // m2's lease ended too: it must move as well
	if got := h.counts("dlq"); got != [4]int64{2, 0, 0, 0} {
		t.Errorf("dead-letter queue counters %v, want [2 0 0 0]; source queue %v", got, h.counts("q"))
	}
}
