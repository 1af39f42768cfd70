package main

// The history checker: pure functions from a recorded history to a report. It knows only
// what the history says and the queues' settings; every judgement is conservative, using
// the invoke and complete times of operations as bounds on when the server acted:
//
//   - a server stamps a command between its request's invoke and complete times, and a
//     lease or a delay runs from that stamp (the servers run on this machine's clock);
//   - an indeterminate operation (outcome "info") may or may not have happened, so it can
//     neither prove nor excuse anything on its own.

import (
	"fmt"
	"sort"
)

// QueueSpec is what the checker needs to know about a queue.
type QueueSpec struct {
	// Visibility is the queue's visibilityTimeout, in seconds.
	Visibility int64 `json:"visibility"`
	// DeadLetter names the queue messages move to after MaxReceive receives without a
	// delete ("": none).
	DeadLetter string `json:"deadLetter,omitempty"`
	MaxReceive int64  `json:"maxReceive,omitempty"`
}

// CheckConfig is the checker's knowledge of the run.
type CheckConfig struct {
	Queues map[string]QueueSpec `json:"queues"`
	// ToleranceMs absorbs clock reading and rounding differences in the timing checks.
	ToleranceMs int64 `json:"toleranceMs"`
}

// Violation kinds: each is a broken promise.
const (
	vLost        = "lost"                  // an acknowledged send was never delivered
	vVanished    = "vanished"              // delivered, not deleted, and never delivered again
	vCorrupt     = "corrupt"               // a body failed its own check or differs from what was sent
	vUnexpected  = "unexpected"            // a message nobody sent (or whose send definitely failed)
	vResurrected = "resurrected"           // delivered again after an acknowledged delete
	vDLQDeleted  = "dead-lettered-deleted" // in the dead-letter queue although deleted from its source
	vEarlyRedel  = "early-redelivery"      // delivered again before the visibility timeout ran out
	vEarlyDelay  = "early-delay"           // a delayed message delivered before its delay
	vStaleDelete = "stale-delete-accepted" // a delete acknowledged after its lease had certainly ended
	vOverReceive = "over-received"         // received more often than the dead-letter policy allows
)

// violationKinds lists every kind, each a check of its own in the summary's tally.
var violationKinds = []string{vLost, vVanished, vCorrupt, vUnexpected, vResurrected, vDLQDeleted, vEarlyRedel, vEarlyDelay, vStaleDelete, vOverReceive}

// Violation is one broken promise, with enough detail to find it in the history.
type Violation struct {
	Kind   string `json:"kind"`
	Queue  string `json:"queue,omitempty"`
	ID     string `json:"id,omitempty"`
	MsgID  string `json:"msgId,omitempty"`
	Detail string `json:"detail"`
}

// Duplicates counts deliveries beyond the first of a message, by cause. Only Resurrected is
// a violation; the others are what at-least-once delivery allows.
type Duplicates struct {
	AfterTimeout      int `json:"afterVisibilityTimeout"` // no delete was tried: the lease ran out
	AfterFailedDelete int `json:"afterFailedDelete"`      // the delete failed or its outcome is unknown
	DuplicateEnqueue  int `json:"duplicateEnqueue"`       // one send stored twice (another msgId)
	Resurrected       int `json:"resurrected"`
}

// Report is the checker's result.
type Report struct {
	SendsAcked         int            `json:"sendsAcked"`
	SendsIndeterminate int            `json:"sendsIndeterminate"`
	SendsFailed        int            `json:"sendsFailed"`
	Receives           int            `json:"receives"`
	Deliveries         int            `json:"deliveries"`
	MessagesDelivered  int            `json:"messagesDelivered"`
	DeletesAcked       int            `json:"deletesAcked"`
	DeletesFailed      int            `json:"deletesFailed"`
	DeletesUnknown     int            `json:"deletesIndeterminate"`
	DeadLettered       int            `json:"deadLettered"`
	Lost               int            `json:"lost"`
	Duplicates         Duplicates     `json:"duplicates"`
	ViolationCounts    map[string]int `json:"violationCounts"`
	Violations         []Violation    `json:"violations"` // the first maxViolationsListed
}

// maxViolationsListed bounds the violations a report lists (all are counted).
const maxViolationsListed = 200

func (r *Report) violate(v Violation) {
	if r.ViolationCounts == nil {
		r.ViolationCounts = map[string]int{}
	}
	r.ViolationCounts[v.Kind]++
	if len(r.Violations) < maxViolationsListed {
		r.Violations = append(r.Violations, v)
	}
}

// OK reports whether the history kept every promise.
func (r *Report) OK() bool { return len(r.ViolationCounts) == 0 }

// delivery is a Delivery with the receive that made it.
type delivery struct {
	Delivery
	queue            string
	invoke, complete int64
	del              string // outcome of deleting its handle: "", ok, fail or info
	delOK            *Op    // the acknowledged delete, if any
}

// deleteOutcome folds the deletes of one handle: ok if any was acknowledged, else info if
// any is unknown, else fail.
func deleteOutcome(cur, next string) string {
	switch {
	case cur == outcomeOK || next == outcomeOK:
		return outcomeOK
	case cur == outcomeInfo || next == outcomeInfo:
		return outcomeInfo
	default:
		return next
	}
}

// Check judges a history.
func Check(ops []Op, cfg CheckConfig) Report {
	var r Report
	sends := map[string]*Op{}
	var sendOrder []string
	var dels []*Op
	var ds []*delivery
	for i := range ops {
		op := &ops[i]
		switch op.Op {
		case opSend:
			switch op.Type {
			case outcomeOK:
				r.SendsAcked++
			case outcomeInfo:
				r.SendsIndeterminate++
			default:
				r.SendsFailed++
			}
			if _, dup := sends[op.ID]; !dup {
				sends[op.ID] = op
				sendOrder = append(sendOrder, op.ID)
			}
		case opReceive:
			r.Receives++
			for _, m := range op.Msgs {
				ds = append(ds, &delivery{Delivery: m, queue: op.Queue, invoke: op.Invoke, complete: op.Complete})
			}
		case opDelete:
			dels = append(dels, op)
			switch op.Type {
			case outcomeOK:
				r.DeletesAcked++
			case outcomeInfo:
				r.DeletesUnknown++
			default:
				r.DeletesFailed++
			}
		}
	}
	r.Deliveries = len(ds)
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].invoke < ds[j].invoke })
	byHandle := map[string]*delivery{}
	for _, d := range ds {
		byHandle[d.Handle] = d
	}
	for _, op := range dels {
		d := byHandle[op.Handle]
		if d == nil {
			continue // a handle no recorded receive returned: nothing to judge
		}
		d.del = deleteOutcome(d.del, op.Type)
		if op.Type == outcomeOK && (d.delOK == nil || op.Complete < d.delOK.Complete) {
			d.delOK = op
		}
	}
	tol := cfg.ToleranceMs

	// legal reports whether a message sent by s may be delivered from queue: the queue it
	// was sent to, or that queue's dead-letter queue.
	legal := func(s *Op, queue string) bool {
		return s.Queue == queue || (cfg.Queues[s.Queue].DeadLetter != "" && cfg.Queues[s.Queue].DeadLetter == queue)
	}
	delivered := map[string][]*delivery{} // id → its deliveries, any queue
	byMsg := map[string][]*delivery{}     // queue + msgId → deliveries
	for _, d := range ds {
		if d.Bad != "" {
			r.violate(Violation{Kind: vCorrupt, Queue: d.queue, ID: d.ID, MsgID: d.MsgID, Detail: "body fails its own check: " + d.Bad})
			continue
		}
		s := sends[d.ID]
		switch {
		case s == nil:
			r.violate(Violation{Kind: vUnexpected, Queue: d.queue, ID: d.ID, MsgID: d.MsgID, Detail: "delivered, but never sent"})
			continue
		case s.Type == outcomeFail:
			r.violate(Violation{Kind: vUnexpected, Queue: d.queue, ID: d.ID, MsgID: d.MsgID, Detail: "delivered, but its send was refused: " + s.Err})
			continue
		case !legal(s, d.queue):
			r.violate(Violation{Kind: vUnexpected, Queue: d.queue, ID: d.ID, MsgID: d.MsgID, Detail: "delivered from a queue it was not sent to (" + s.Queue + ")"})
			continue
		case d.Sum != s.Sum:
			r.violate(Violation{Kind: vCorrupt, Queue: d.queue, ID: d.ID, MsgID: d.MsgID, Detail: "body passes its own check but differs from the body sent"})
			continue
		}
		delivered[d.ID] = append(delivered[d.ID], d)
		key := d.queue + "\x00" + d.MsgID
		byMsg[key] = append(byMsg[key], d)
	}
	r.MessagesDelivered = len(delivered)

	// Per message (queue, msgId): leases, deletes, redeliveries. The server's order of a
	// message's deliveries is not known where their receives overlap (a long poll begun
	// first may be served last), so every judgement here holds for any order consistent
	// with real time. The dequeue count orders them only to tell duplicates apart by
	// cause, which judges nothing.
	keys := make([]string, 0, len(byMsg))
	for k := range byMsg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		list := byMsg[k]
		sort.SliceStable(list, func(i, j int) bool { return list[i].Count < list[j].Count })
		spec := cfg.Queues[list[0].queue]
		vt := spec.Visibility * 1000
		var deletedAt *Op // the acknowledged delete that completed first
		var maxCount int64
		for _, d := range list {
			if d.delOK != nil && (deletedAt == nil || d.delOK.Complete < deletedAt.Complete) {
				deletedAt = d.delOK
			}
			maxCount = max(maxCount, d.Count)
		}
		if spec.DeadLetter != "" && spec.MaxReceive > 0 && (int64(len(list)) > spec.MaxReceive || maxCount > spec.MaxReceive) {
			r.violate(Violation{Kind: vOverReceive, Queue: list[0].queue, ID: list[0].ID, MsgID: list[0].MsgID, Detail: fmt.Sprintf(
				"delivered %d times, dequeueCount up to %d, with maxReceiveCount %d", len(list), maxCount, spec.MaxReceive)})
		}
		for i, d := range list {
			if d.delOK != nil && d.delOK.Invoke > d.complete+vt+tol {
				r.violate(Violation{Kind: vStaleDelete, Queue: d.queue, ID: d.ID, MsgID: d.MsgID, Detail: fmt.Sprintf(
					"delete acknowledged although invoked %d ms after the receive completed (visibility timeout %d s)", d.delOK.Invoke-d.complete, spec.Visibility)})
			}
			resurrected := deletedAt != nil && d.invoke > deletedAt.Complete
			switch {
			case resurrected:
				r.Duplicates.Resurrected++
				r.violate(Violation{Kind: vResurrected, Queue: d.queue, ID: d.ID, MsgID: d.MsgID, Detail: fmt.Sprintf(
					"delivered by a receive invoked %d ms after a delete of it was acknowledged", d.invoke-deletedAt.Complete)})
			case i == 0:
			case list[i-1].del == "":
				r.Duplicates.AfterTimeout++
			default:
				r.Duplicates.AfterFailedDelete++
			}
			for _, e := range list[i+1:] {
				// Whichever of d and e the server served first, it served the other at
				// least a visibility timeout later.
				if e.complete < d.invoke+vt-tol && d.complete < e.invoke+vt-tol {
					r.violate(Violation{Kind: vEarlyRedel, Queue: d.queue, ID: d.ID, MsgID: d.MsgID, Detail: fmt.Sprintf(
						"delivered twice within %d ms, however the receives are ordered (visibility timeout %d s)",
						max(e.complete-d.invoke, d.complete-e.invoke), spec.Visibility)})
				}
			}
		}
	}

	// Per logical message (id): lost, vanished, delays, dead letters, duplicate enqueues.
	for _, id := range sendOrder {
		s := sends[id]
		list := delivered[id]
		if s.Type == outcomeOK && len(list) == 0 {
			r.Lost++
			r.violate(Violation{Kind: vLost, Queue: s.Queue, ID: id, MsgID: s.MsgID, Detail: "acknowledged send never delivered"})
			continue
		}
		if len(list) == 0 {
			continue
		}
		dlq := cfg.Queues[s.Queue].DeadLetter
		homeIDs := map[string]bool{}
		var inDLQ, deletedAtHome bool
		for _, d := range list {
			if d.queue == s.Queue {
				homeIDs[d.MsgID] = true
				deletedAtHome = deletedAtHome || d.delOK != nil
			} else {
				inDLQ = true
			}
		}
		if len(homeIDs) > 1 {
			r.Duplicates.DuplicateEnqueue += len(homeIDs) - 1
		}
		if inDLQ {
			r.DeadLettered++
			if deletedAtHome && len(homeIDs) == 1 {
				r.violate(Violation{Kind: vDLQDeleted, Queue: dlq, ID: id, Detail: "delivered from the dead-letter queue although a delete from " + s.Queue + " was acknowledged"})
			}
		}
		if s.Delay > 0 {
			for _, d := range list {
				if d.complete < s.Invoke+s.Delay*1000-tol {
					r.violate(Violation{Kind: vEarlyDelay, Queue: d.queue, ID: id, MsgID: d.MsgID, Detail: fmt.Sprintf(
						"delivered %d ms after its send began, with delaySeconds %d", d.complete-s.Invoke, s.Delay)})
					break
				}
			}
		}
		// A delivery that was not deleted (acknowledged or unknown) must be followed by
		// another delivery of the same stored copy, or of its dead letter.
		for _, d := range list {
			if d.del == outcomeOK || d.del == outcomeInfo || completesAfter(byMsg[d.queue+"\x00"+d.MsgID], d) {
				continue
			}
			if d.queue == s.Queue && dlq != "" && laterIn(list, dlq, d.invoke) {
				continue
			}
			r.violate(Violation{Kind: vVanished, Queue: d.queue, ID: id, MsgID: d.MsgID, Detail: "delivered, not deleted (delete: " + orNone(d.del) + "), and never delivered again"})
		}
	}
	return r
}

// completesAfter reports whether a delivery in copies other than d completed after d's
// receive began: one the server may have served after d.
func completesAfter(copies []*delivery, d *delivery) bool {
	for _, x := range copies {
		if x != d && x.complete > d.invoke {
			return true
		}
	}
	return false
}

// laterIn reports whether list has a delivery from queue that completed after t (a move to
// the dead-letter queue happens when a lease runs out, so a long poll begun before it can
// deliver the moved message).
func laterIn(list []*delivery, queue string, t int64) bool {
	for _, d := range list {
		if d.queue == queue && d.complete > t {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "none tried"
	}
	return s
}
