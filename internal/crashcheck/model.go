package crashcheck

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/internal/testkit"
)

// The workload's queues, in creation order. q1 moves its dead letters to dlq, which is never
// deleted; q2 has rewind on and is deleted and created again. The model keeps one group
// per queue that is sent to: group q1 is q1 and dlq together.
const dlqName = "dlq"

var (
	queueNames = []string{dlqName, "q1", "q2"}
	groups     = []string{"q1", "q2"}
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

type msg struct {
	body    []byte
	enqueue int64
}

// queueModel is what a group must hold (msgs: acknowledged sends not acknowledged
// deleted) and may hold (maybe: deleted, then covered by an acknowledged rewind).
type queueModel struct {
	retention int64 // seconds
	rewind    int64 // rewindSeconds
	msgs      map[string]msg
	maybe     map[string]msg
	deleted   map[string]msg // acknowledged deleted: what a rewind may bring back
}

func newQueueModel(a engine.QueueAttributes) *queueModel {
	return &queueModel{retention: a.MsgRetentionSeconds, rewind: a.RewindSeconds,
		msgs: map[string]msg{}, maybe: map[string]msg{}, deleted: map[string]msg{}}
}

func (q *queueModel) clone() *queueModel {
	return &queueModel{retention: q.retention, rewind: q.rewind,
		msgs: maps.Clone(q.msgs), maybe: maps.Clone(q.maybe), deleted: maps.Clone(q.deleted)}
}

// call is a call in progress: a disk state captured during it may or may not hold its
// effect.
type call struct {
	desc      string
	queue     string         // its group
	queueOp   bool           // CreateQueue or DeleteQueue: the queue may or may not exist
	sent      map[string]msg // filled in when the call returns
	attempted [][]byte       // Send: the bodies, which may be there if the call failed
	deleted   []string       // Delete: the ids it may delete
	rewound   map[string]msg // RewindQueue: deleted messages it may bring back
}

// Capture is a disk image taken at a moment of interest, with what it must hold then.
type Capture struct {
	Image any    // the disk image, as the system took it
	What  string // the moment
	Op    int    // the workload step
	Now   int64  // the workload clock, unix ms
	// NestedOK says recovery from it may itself be captured (a second crash).
	NestedOK bool

	queues      map[string]*queueModel
	pending     *call
	failedSends []*call // sends that failed after an injected failure: outcome unknown
}

// CallInProgress reports whether a call was in progress when the image was taken.
func (c *Capture) CallInProgress() bool { return c.pending != nil }

// WithImage returns a copy of c with another image of the same moment (for example one
// taken while recovering from c's, which must hold the same).
func (c *Capture) WithImage(what string, image any) *Capture {
	d := *c
	d.Image, d.What, d.NestedOK = image, what, false
	return &d
}

// Verify drains every queue of engine e (whose clock is clock; the workload's clock at the
// capture) and checks it against what the capture must hold. It returns the messages it
// received, by queue: they are in flight afterwards.
func (r *Run) Verify(e *engine.Engine, clock *testkit.Clock, c *Capture) map[string][]engine.Message {
	r.t.Helper()
	ctx := r.ctx
	clock.Advance(6 * time.Second) // past every lease (<= 5 s) and delay (<= 3 s)
	now := clock.Now().UnixMilli()
	out := map[string][]engine.Message{}
	type delivery struct {
		body []byte
		from string
	}
	pending := c.pending
	for _, group := range groups {
		q := c.queues[group]
		pendingQueueOp := pending != nil && pending.queueOp && pending.queue == group
		if pendingQueueOp {
			// CreateQueue or DeleteQueue in progress: the queue may or may not exist, but
			// if it does, it is whole (empty if it was being created).
			if _, err := e.GetQueueAttributes(ctx, "ns", group); errors.Is(err, engine.ErrQueueNotExist) {
				continue
			}
			if q == nil {
				q = newQueueModel(engine.DefaultQueueAttributes())
			}
			r.stats["queues created or deleted at the crash, found whole"]++
		}
		for _, name := range groupMembers(group) {
			_, err := e.GetQueueAttributes(ctx, "ns", name)
			switch {
			case pendingQueueOp:
			case q == nil && !errors.Is(err, engine.ErrQueueNotExist):
				r.Fatalf("after recovery: queue %s was acknowledged deleted, GetQueueAttributes says %v", name, err)
			case q != nil && err != nil:
				r.Fatalf("after recovery: queue %s: %v", name, err)
			}
		}
		if q == nil {
			continue
		}
		got := map[string]delivery{}
		for _, name := range groupMembers(group) {
			for {
				msgs, err := e.ReceiveMessage(ctx, "ns", name, 16, 0)
				if errors.Is(err, engine.ErrNoMessage) {
					break
				}
				if err != nil {
					r.Fatalf("after recovery: receive from %s: %v", name, err)
				}
				for _, m := range msgs {
					if d, dup := got[m.ID]; dup {
						r.Fatalf("after recovery: %s delivered twice in one drain (from %s and %s)", m.ID, d.from, name)
					}
					got[m.ID] = delivery{m.Body, name}
				}
				out[name] = append(out[name], msgs...)
			}
		}
		inPending := func(id string) (msg, bool) {
			for _, p := range append([]*call{pending}, c.failedSends...) {
				if p == nil || p.queue != group {
					continue
				}
				if m, ok := p.sent[id]; ok {
					return m, true
				}
				if m, ok := p.rewound[id]; ok {
					return m, true
				}
				for _, b := range p.attempted { // a send that failed: unknown outcome
					if d, ok := got[id]; ok && bytes.Equal(d.body, b) {
						return msg{body: b, enqueue: now}, true
					}
				}
			}
			return msg{}, false
		}
		maybeDeleted := func(id string) bool {
			return pending != nil && pending.queue == group && slices.Contains(pending.deleted, id)
		}
		// A message past its retention is gone from its queue, unless it was moved to the
		// dead-letter queue before, where it was enqueued anew.
		expired := func(m msg) bool { return now >= m.enqueue+q.retention*1000 }
		for id, m := range q.msgs {
			d, ok := got[id]
			switch {
			case expired(m) && ok && d.from != dlqName:
				r.Fatalf("after recovery: %s delivered %s, which is past its retention", d.from, id)
			case expired(m) || (!ok && maybeDeleted(id)):
			case !ok:
				r.Fatalf("after recovery: %s lost acknowledged message %s (%.20q; %d messages expected, %d received)", group, id, m.body, len(q.msgs), len(got))
			}
			r.stats["messages checked after recovery"]++
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
			case !ok && r.deleted[id]:
				r.Fatalf("after recovery: %s message %s was acknowledged deleted and came back", d.from, id)
			case !ok:
				r.Fatalf("after recovery: %s message %s (%.20q) was never acknowledged", d.from, id, d.body)
			case !bytes.Equal(d.body, m.body):
				r.Fatalf("after recovery: %s message %s body %.40q, sent %.40q", d.from, id, d.body, m.body)
			case expired(m) && d.from != dlqName:
				r.Fatalf("after recovery: %s delivered %s, which is past its retention", d.from, id)
			}
			if d.from == dlqName {
				r.stats["messages found in the dead-letter queue after recovery"]++
			}
		}
	}
	return out
}
