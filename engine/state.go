package engine

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/opencmq/opencmq/failpoint"
	"github.com/opencmq/opencmq/index"
)

// stateMachine is the deterministic core: namespaces, queues and messages, changed only by
// apply. Given the same commands in the same order (and the same starting checkpoint), every
// replica reaches the same state and returns the same results. It is not safe for concurrent
// use; Engine serialises access.
type stateMachine struct {
	limits Limits
	store  *store

	clock       int64  // the largest Command.Now applied; apply runs at max(cmd.Now, clock)
	applied     uint64 // index of the last applied command
	nextQueueID uint64 // queue ids are never reused

	namespaces map[string]map[string]*queue // namespace -> nameKey(name) -> queue
	queues     map[uint64]*queue            // every queue, push queues included
	topics     map[string]map[string]*topic // namespace -> nameKey(name) -> topic
	// pushSubs maps a push queue's id to its subscription (derived).
	pushSubs map[uint64]*subscription
	schedule index.Deadlines // (next deadline, queue id) of every queue that has one
	// pendingRemoval lists deleted queues whose directories may be removed once a checkpoint
	// that no longer holds them is durable.
	pendingRemoval []uint64

	// woken collects the queues a command left with visible messages (for long polling).
	woken []*queue
	// unflushed lists the queues appended to in the current apply batch.
	unflushed []*queue
	// replay remembers the replay keys of applied signed requests (replay.go).
	replay replaySet
	// err latches a storage failure: the state no longer matches the log, so every later
	// command fails.
	err error

	buf, readBuf []byte
}

func newStateMachine(l Limits, s *store) *stateMachine {
	return &stateMachine{
		limits:      l,
		store:       s,
		nextQueueID: 1,
		namespaces:  make(map[string]map[string]*queue),
		queues:      make(map[uint64]*queue),
		topics:      make(map[string]map[string]*topic),
		pushSubs:    make(map[uint64]*subscription),
		replay:      newReplaySet(l),
		readBuf:     make([]byte, 0, 64<<10),
	}
}

// result is what applying a command returns.
type result struct {
	err         error
	queueID     uint64
	seqs        []uint64      // Send: the new messages' seqs
	messages    []messageView // Receive
	attrs       QueueAttributes
	itemErrs    []error // Delete: one per handle, nil for success
	nextVisible int64   // ChangeVisibility
}

// apply applies command c, the index-th in the log. Results that need disk reads (message
// bodies) are only produced when want is set; replicas that will not answer a client and
// journal replay pass false.
func (sm *stateMachine) apply(idx uint64, c *Command, want bool) result {
	sm.applied = idx
	if sm.err != nil {
		return result{err: ErrInternal}
	}
	now := max(c.Now, sm.clock)
	sm.clock = now
	sm.replay.sweep(now / 1000)
	if c.Replay.Hash != 0 {
		// Before anything else: a replay changes nothing, whatever it asks.
		if err := sm.replay.admit(c.Replay, now); err != nil {
			return result{err: err}
		}
	}
	var r result
	switch c.Type {
	case CmdTick:
		r.err = sm.tick(now)
	case CmdCreateQueue:
		r = sm.createQueue(now, c)
	case CmdCreateTopic, CmdSetTopicAttributes, CmdDeleteTopic, CmdPublish, CmdSubscribe,
		CmdSetSubscription, CmdUnsubscribe, CmdClearSubscriptionFilter:
		r = sm.applyTopic(now, c)
	default:
		var q *queue
		if c.QueueID != 0 {
			// Internal queues (push queues) are addressed by id, and only they are.
			if q = sm.queues[c.QueueID]; q != nil && !q.hidden {
				q = nil
			}
		} else {
			q = sm.lookup(c.Namespace, c.Queue)
		}
		if q == nil {
			return result{err: ErrQueueNotExist}
		}
		if err := sm.advance(q, now); err != nil {
			r.err = err
			break
		}
		switch c.Type {
		case CmdSetQueueAttributes:
			r = sm.setQueueAttributes(q, now, c)
		case CmdDeleteQueue:
			r.err = sm.deleteQueue(q)
		case CmdSend:
			r = sm.send(q, now, c)
		case CmdReceive:
			r = sm.receive(q, now, c.MaxMessages, want)
		case CmdDelete:
			r = sm.deleteMessages(q, now, c.Handles)
		case CmdChangeVisibility:
			r = sm.changeVisibility(q, now, c)
		case CmdRewind:
			r.err = sm.rewind(q, now, c.StartConsumeTime)
		case CmdUnbindDeadLetter:
			sm.unbindDeadLetter(q)
			q.modified = now
		case CmdPushDone:
			if !q.hidden {
				r.err = ErrQueueNotExist
				break
			}
			r = sm.pushDone(q, now, c)
		default:
			r.err = errorf(ErrInvalidParameter, "unknown command %v", c.Type)
		}
		if sm.queues[q.id] == q {
			sm.reschedule(q)
			sm.noteVisible(q, now)
		}
	}
	if sm.err != nil {
		return result{err: ErrInternal}
	}
	return r
}

// storageFailed latches a storage error. The caller returns ErrInternal.
func (sm *stateMachine) storageFailed(err error) error {
	if sm.err == nil {
		sm.err = err
	}
	return ErrInternal
}

func (sm *stateMachine) lookup(namespace, name string) *queue {
	return sm.namespaces[namespace][nameKey(name)]
}

// noteVisible records q for waking long pollers if it has visible messages at now.
func (sm *stateMachine) noteVisible(q *queue, now int64) {
	if active, _, _ := q.counts(now); active > 0 {
		sm.woken = append(sm.woken, q)
	}
}

// reschedule registers q's next deadline in the global schedule.
func (sm *stateMachine) reschedule(q *queue) {
	at := q.nextDeadline()
	if q.scheduled && at == q.scheduledAt {
		return
	}
	if q.scheduled {
		sm.schedule.Remove(q.scheduledAt, q.id)
	}
	q.scheduled = at != never
	q.scheduledAt = at
	if q.scheduled {
		sm.schedule.Add(at, q.id)
	}
}

// nextDeadline is the earliest time a Tick can change anything.
func (sm *stateMachine) nextDeadline() int64 {
	if d, ok := sm.schedule.Min(); ok {
		return d.At
	}
	return never
}

// tick advances every queue whose deadline has passed.
func (sm *stateMachine) tick(now int64) error {
	var due []uint64
	sm.schedule.PopDue(now, func(d index.Deadline) bool {
		due = append(due, d.Seq)
		return true
	})
	for _, id := range due {
		q := sm.queues[id]
		if q == nil {
			continue
		}
		q.scheduled = false // PopDue removed its entry
		if err := sm.advance(q, now); err != nil {
			return err
		}
		sm.reschedule(q)
		sm.noteVisible(q, now)
	}
	return nil
}

// advance brings q to time now: retention, the rewind window, time-to-live dead letters,
// expired leases and due delays. It is idempotent and monotone: advancing to t1 and then to
// t2 >= t1 gives the same state as advancing to t2 at once.
func (sm *stateMachine) advance(q *queue, now int64) error {
	if q.first < q.tail && now >= q.retentionAt {
		keepFrom := now - q.attrs.MsgRetentionSeconds*1000 + 1
		s, t, err := sm.seqAtTime(q, keepFrom)
		if err != nil {
			return sm.storageFailed(err)
		}
		q.dropBelow(s)
		q.retentionAt = satAdd(t, q.attrs.MsgRetentionSeconds*1000)
	}
	if q.attrs.RewindSeconds > 0 && q.first < q.head && now >= q.trimAt {
		// A deleted message stays rewindable while its second is within the window.
		keepFrom := (now/1000 - q.attrs.RewindSeconds) * 1000
		s, _, err := sm.seqAtTime(q, keepFrom)
		if err != nil {
			return sm.storageFailed(err)
		}
		q.dropBelow(min(s, q.head))
		q.trimAt = never
		if q.first < q.head {
			t, _, _, err := sm.readMessage(q, q.first)
			if err != nil {
				return sm.storageFailed(err)
			}
			// The earliest now with (now/1000 - rewindSeconds)*1000 > t.
			q.trimAt = (t/1000 + 1 + q.attrs.RewindSeconds) * 1000
		}
	}
	if p := q.attrs.DeadLetter; p != nil && p.Policy == 1 && q.head < q.tail && now >= q.ttlAt {
		if err := sm.expireToDeadLetter(q, now); err != nil {
			return err
		}
	}
	var expired []uint64
	q.inflight.PopDue(now, func(d index.Deadline) bool {
		expired = append(expired, d.Seq)
		return true
	})
	for _, seq := range expired {
		m, _ := q.meta.Get(seq)
		if p := q.attrs.DeadLetter; p != nil && p.Policy == 0 && int64(m.count) >= p.MaxReceiveCount {
			m.state = stateReady // out of the inflight index; moveToDeadLetter deletes it
			q.meta.Set(seq, m)
			q.ready.Add(seq)
			// If the dead-letter queue is full the message stays, ready again.
			if _, err := sm.moveToDeadLetter(q, seq, now); err != nil {
				return err
			}
			continue
		}
		m.state = stateReady
		q.meta.Set(seq, m)
		q.ready.Add(seq)
	}
	q.delayed.PopDue(now, func(d index.Deadline) bool {
		if d.Seq < q.cursor {
			m, _ := q.meta.Get(d.Seq)
			m.state = stateReady
			q.meta.Set(d.Seq, m)
			q.ready.Add(d.Seq)
		} else {
			q.meta.Delete(d.Seq) // fresh again: the cursor will reach it in order
		}
		return true
	})
	return nil
}

// satAdd adds without overflowing past never.
func satAdd(a, b int64) int64 {
	if a >= never-b {
		return never
	}
	return a + b
}

// expireToDeadLetter moves every live message of q older than the policy's time to live.
func (sm *stateMachine) expireToDeadLetter(q *queue, now int64) error {
	ttl := q.attrs.DeadLetter.MaxTimeToLive * 1000
	young, t, err := sm.seqAtTime(q, now-ttl+1)
	if err != nil {
		return sm.storageFailed(err)
	}
	for seq := q.head; seq < young; seq++ {
		seq = q.holes.NextAbsent(seq)
		if seq >= young {
			break
		}
		moved, err := sm.moveToDeadLetter(q, seq, now)
		if err != nil {
			return err
		}
		if !moved { // dead-letter queue full: try again in a second
			q.ttlAt = now + 1000
			return nil
		}
	}
	q.ttlAt = satAdd(t, ttl)
	return nil
}

// moveToDeadLetter appends live message seq of q to q's dead-letter queue and deletes it
// from q, in one step of one command: it is never in both and never in neither. It reports
// false, changing nothing, if the dead-letter queue is gone or full.
func (sm *stateMachine) moveToDeadLetter(q *queue, seq uint64, now int64) (bool, error) {
	dlq := sm.queues[q.dlqID]
	if dlq == nil {
		return false, nil
	}
	// Advance it first: messages that expired there make room.
	if err := sm.advance(dlq, now); err != nil {
		return false, err
	}
	if int64(dlq.live()) >= dlq.attrs.MaxMsgHeapNum {
		return false, nil
	}
	_, origin, body, err := sm.readMessage(q, seq)
	if err != nil {
		return false, sm.storageFailed(err)
	}
	if origin == "" {
		origin = messageID(q.id, seq)
	}
	if _, err := sm.appendMessage(dlq, now, origin, body); err != nil {
		return false, sm.storageFailed(err)
	}
	// A crash here loses nothing: the move is one journal (raft) entry, replayed whole.
	if err := failpoint.Inject(failpoint.DeadLetterMove); err != nil {
		return false, sm.storageFailed(err)
	}
	q.markDeleted(seq)
	sm.reschedule(dlq)
	sm.noteVisible(dlq, now)
	return true, nil
}

func (sm *stateMachine) createQueue(now int64, c *Command) result {
	if !validQueueName(c.Queue, sm.limits.MaxQueueNameLength) {
		return result{err: ErrQueueName}
	}
	if err := c.Attrs.validate(sm.limits); err != nil {
		return result{err: err}
	}
	ns := sm.namespaces[c.Namespace]
	if ns[nameKey(c.Queue)] != nil {
		return result{err: ErrQueueExists}
	}
	if len(ns) >= sm.limits.MaxQueuesPerNamespace {
		return result{err: ErrTooManyQueues}
	}
	q := &queue{
		id: sm.nextQueueID, namespace: c.Namespace, name: c.Queue, attrs: c.Attrs,
		created: now, modified: now, first: 1, head: 1, cursor: 1, tail: 1,
	}
	if q.attrs.DeadLetter != nil {
		if err := sm.bindDeadLetter(q, q.attrs.DeadLetter); err != nil {
			return result{err: err}
		}
	}
	sm.nextQueueID++
	if ns == nil {
		ns = make(map[string]*queue)
		sm.namespaces[c.Namespace] = ns
	}
	ns[nameKey(c.Queue)] = q
	sm.queues[q.id] = q
	return result{queueID: q.id}
}

// bindDeadLetter checks policy p for source queue q and binds q to the dead-letter queue.
func (sm *stateMachine) bindDeadLetter(q *queue, p *DeadLetterPolicy) error {
	dlq := sm.lookup(q.namespace, p.Queue)
	switch {
	case dlq == nil:
		return ErrDeadLetterMissing
	case dlq == q, dlq.attrs.DeadLetter != nil, q.sources > 0:
		return ErrDeadLetterNest
	case dlq.id != q.dlqID && dlq.sources >= sm.limits.MaxDeadLetterSources:
		return ErrDeadLetterBound
	}
	if dlq.id != q.dlqID {
		sm.unbindDeadLetter(q)
		dlq.sources++
		q.dlqID = dlq.id
	}
	q.attrs.DeadLetter = &DeadLetterPolicy{Queue: dlq.name, Policy: p.Policy, MaxReceiveCount: p.MaxReceiveCount, MaxTimeToLive: p.MaxTimeToLive}
	q.ttlAt = 0
	return nil
}

func (sm *stateMachine) unbindDeadLetter(q *queue) {
	if dlq := sm.queues[q.dlqID]; dlq != nil {
		dlq.sources--
	}
	q.dlqID = 0
	q.attrs.DeadLetter = nil
}

func (sm *stateMachine) setQueueAttributes(q *queue, now int64, c *Command) result {
	a := c.Update.apply(q.attrs)
	if err := a.validate(sm.limits); err != nil {
		return result{err: err}
	}
	if q.attrs.RewindSeconds > 0 && a.RewindSeconds > q.attrs.RewindSeconds {
		// A wider window must not bring back deletions that already left the old one.
		window, _, err := sm.seqAtTime(q, (now/1000-q.attrs.RewindSeconds)*1000)
		if err != nil {
			return result{err: sm.storageFailed(err)}
		}
		q.holes.Ascend(func(r index.Range) bool {
			if r.Lo >= window {
				return false
			}
			q.purged.AddRange(r.Lo, min(r.Hi, window))
			return true
		})
	}
	if a.DeadLetter != nil && (c.Update.DeadLetter != nil || q.dlqID == 0) {
		if err := sm.bindDeadLetter(q, a.DeadLetter); err != nil {
			return result{err: err}
		}
		a.DeadLetter = q.attrs.DeadLetter
	} else if a.DeadLetter == nil && q.dlqID != 0 {
		sm.unbindDeadLetter(q)
	}
	q.attrs = a
	q.modified = now
	if a.RewindSeconds == 0 {
		// Disabling rewind purges the rewindable messages: those below head go now, those
		// deleted above it can no longer be brought back.
		q.dropBelow(q.head)
		q.purged = *q.holes.Clone()
	}
	q.retentionAt, q.trimAt, q.ttlAt = 0, 0, 0 // windows changed: recheck at once
	if err := sm.advance(q, now); err != nil {
		return result{err: err}
	}
	return result{attrs: q.attrs}
}

func (sm *stateMachine) deleteQueue(q *queue) error {
	if q.sources > 0 {
		return ErrIsDeadLetterQueue
	}
	if err := failpoint.Inject(failpoint.QueueDelete); err != nil {
		return sm.storageFailed(err)
	}
	sm.unbindDeadLetter(q)
	delete(sm.namespaces[q.namespace], nameKey(q.name))
	if len(sm.namespaces[q.namespace]) == 0 {
		delete(sm.namespaces, q.namespace)
	}
	sm.dropQueue(q)
	return nil
}

// dropQueue forgets a queue; its directory is removed after the next checkpoint. Its data
// is no longer needed, but a failure to close its log (a write or fsync error) still
// latches: the disk is failing, and the engine stops rather than carry on over it.
func (sm *stateMachine) dropQueue(q *queue) {
	if q.scheduled {
		sm.schedule.Remove(q.scheduledAt, q.id)
	}
	delete(sm.queues, q.id)
	if q.log != nil {
		if err := q.log.Close(); err != nil {
			sm.storageFailed(fmt.Errorf("%v: close its log: %w", q, err))
		}
		q.log = nil
	}
	sm.pendingRemoval = append(sm.pendingRemoval, q.id)
}

// checkBodies checks a batch of message bodies (send or publish): 1..MaxBatch bodies, none
// empty, none above maxMsgSize, all together within MaxBatchBytes.
func (sm *stateMachine) checkBodies(bodies [][]byte, maxMsgSize int64) error {
	if len(bodies) == 0 || len(bodies) > sm.limits.MaxBatch {
		return ErrBatchSize
	}
	var total int64
	for _, b := range bodies {
		if len(b) == 0 {
			return ErrEmptyBody
		}
		if int64(len(b)) > maxMsgSize {
			return errorf(ErrMsgTooLarge, "%d bytes, maxMsgSize is %d", len(b), maxMsgSize)
		}
		total += int64(len(b))
	}
	if total > sm.limits.MaxBatchBytes {
		return ErrBatchTooLarge
	}
	return nil
}

func (sm *stateMachine) send(q *queue, now int64, c *Command) result {
	if err := sm.checkBodies(c.Bodies, q.attrs.MaxMsgSize); err != nil {
		return result{err: err}
	}
	if c.DelaySeconds < 0 || c.DelaySeconds >= q.attrs.MsgRetentionSeconds {
		return result{err: errorf(ErrParameterRange, "delaySeconds must be 0-%d", q.attrs.MsgRetentionSeconds-1)}
	}
	if int64(q.live())+int64(len(c.Bodies)) > q.attrs.MaxMsgHeapNum {
		return result{err: ErrQueueFull}
	}
	if c.DelaySeconds > 0 && q.delayed.Len()+len(c.Bodies) > sm.limits.MaxDelayedPerQueue {
		return result{err: ErrTooManyUnacked}
	}
	seqs := make([]uint64, 0, len(c.Bodies))
	for _, b := range c.Bodies {
		seq, err := sm.appendMessage(q, now, "", b)
		if err != nil {
			return result{err: sm.storageFailed(err)}
		}
		if c.DelaySeconds > 0 {
			due := now + c.DelaySeconds*1000
			q.meta.Set(seq, msgMeta{at: due, state: stateDelayed})
			q.delayed.Add(due, seq)
		}
		seqs = append(seqs, seq)
	}
	return result{queueID: q.id, seqs: seqs}
}

func (sm *stateMachine) receive(q *queue, now int64, n int, want bool) result {
	if n < 1 || n > sm.limits.MaxBatch {
		return result{err: ErrBatchSize}
	}
	var r result
	r.queueID = q.id
	deliver := func(seq uint64) error {
		m, _ := q.meta.Get(seq)
		q.leaseSeq++
		m.lease = q.leaseSeq
		m.count++
		if m.firstDequeue == 0 {
			m.firstDequeue = now
		}
		m.at = now + q.attrs.VisibilityTimeout*1000
		m.state = stateInflight
		q.meta.Set(seq, m)
		q.inflight.Add(m.at, seq)
		v := messageView{seq: seq, lease: m.lease, nextVisible: m.at, firstDequeue: m.firstDequeue, count: m.count}
		if want {
			enqueue, origin, body, err := sm.readMessage(q, seq)
			if err != nil {
				return sm.storageFailed(err)
			}
			v.enqueue, v.origin, v.body = enqueue, origin, append([]byte(nil), body...)
		}
		r.messages = append(r.messages, v)
		return nil
	}
	for len(r.messages) < n && q.inflight.Len() < sm.limits.MaxInflightPerQueue {
		seq, ok := q.ready.Min()
		if !ok {
			break
		}
		q.ready.Remove(seq)
		if err := deliver(seq); err != nil {
			return result{err: err}
		}
	}
	for len(r.messages) < n && q.inflight.Len() < sm.limits.MaxInflightPerQueue {
		q.cursor = q.holes.NextAbsent(q.cursor)
		if q.cursor >= q.tail {
			break
		}
		seq := q.cursor
		q.cursor++
		if _, ok := q.meta.Get(seq); ok {
			continue // delayed: it joins the ready set when due
		}
		if err := deliver(seq); err != nil {
			return result{err: err}
		}
	}
	if len(r.messages) == 0 {
		if active, _, _ := q.counts(now); active > 0 {
			r.err = ErrTooManyUnacked
		} else {
			r.err = ErrNoMessage
		}
	}
	return r
}

// checkHandle resolves a receipt handle to a current lease of q.
func (sm *stateMachine) checkHandle(q *queue, now int64, s string) (uint64, msgMeta, error) {
	h, ok := decodeHandle(s)
	switch {
	case !ok:
		return 0, msgMeta{}, ErrHandleMalformed
	case h.queueID != q.id:
		return 0, msgMeta{}, ErrHandleWrongQueue
	case h.seq == 0 || h.seq >= q.tail || h.lease > q.leaseSeq:
		return 0, msgMeta{}, ErrHandleMalformed
	case h.seq < q.head || q.holes.Contains(h.seq):
		return 0, msgMeta{}, ErrHandleDeleted
	}
	m, ok := q.meta.Get(h.seq)
	if !ok || m.state != stateInflight || m.lease != h.lease || m.at <= now {
		return 0, msgMeta{}, ErrHandleStale
	}
	return h.seq, m, nil
}

func (sm *stateMachine) deleteMessages(q *queue, now int64, handles []string) result {
	if len(handles) == 0 || len(handles) > sm.limits.MaxBatch {
		return result{err: ErrBatchSize}
	}
	r := result{itemErrs: make([]error, len(handles))}
	for i, h := range handles {
		seq, _, err := sm.checkHandle(q, now, h)
		if err != nil {
			r.itemErrs[i] = err
			continue
		}
		q.markDeleted(seq)
	}
	return r
}

func (sm *stateMachine) changeVisibility(q *queue, now int64, c *Command) result {
	if len(c.Handles) != 1 {
		return result{err: ErrBatchSize}
	}
	delay := c.VisibilitySeconds*1000 + c.VisibilityMillis
	if c.VisibilitySeconds < 0 || c.VisibilityMillis < 0 || delay > sm.limits.MaxChangeVisibilitySec*1000 {
		return result{err: errorf(ErrParameterRange, "visibilityTimeout must be 0-%d", sm.limits.MaxChangeVisibilitySec)}
	}
	seq, m, err := sm.checkHandle(q, now, c.Handles[0])
	if err != nil {
		return result{err: err}
	}
	q.inflight.Remove(m.at, seq)
	m.at = now + delay
	if delay > 0 {
		q.meta.Set(seq, m)
		q.inflight.Add(m.at, seq)
		return result{nextVisible: m.at}
	}
	// The lease ends now: the message is visible again (or dead-lettered, as on expiry).
	m.state = stateReady
	q.meta.Set(seq, m)
	q.ready.Add(seq)
	if p := q.attrs.DeadLetter; p != nil && p.Policy == 0 && int64(m.count) >= p.MaxReceiveCount {
		if _, err := sm.moveToDeadLetter(q, seq, now); err != nil {
			return result{err: err}
		}
	}
	return result{nextVisible: now}
}

// rewind makes every stored message enqueued at or after startConsumeTime (unix seconds)
// receivable again, deleted ones included. Messages before it are untouched.
func (sm *stateMachine) rewind(q *queue, now, startConsumeTime int64) error {
	if q.attrs.RewindSeconds == 0 {
		return ErrRewindDisabled
	}
	if startConsumeTime < now/1000-q.attrs.RewindSeconds || startConsumeTime > now/1000 {
		return errorf(ErrRewindTime, "startConsumeTime must be %d-%d", now/1000-q.attrs.RewindSeconds, now/1000)
	}
	s, _, err := sm.seqAtTime(q, startConsumeTime*1000)
	if err != nil {
		return sm.storageFailed(err)
	}
	// Leases, ready entries and deletions at or after s end; delayed messages stay delayed.
	type kept struct {
		seq uint64
		m   msgMeta
	}
	var delayed []kept
	q.meta.AscendFrom(s, func(seq uint64, m msgMeta) bool {
		if m.state == stateDelayed {
			delayed = append(delayed, kept{seq, m})
		}
		return true
	})
	q.meta.DeleteFrom(s, q.unindex)
	for _, k := range delayed {
		q.meta.Set(k.seq, k.m)
		q.delayed.Add(k.m.at, k.seq)
	}
	// Deletions rewind may not undo stay deleted.
	q.holes.DeleteFrom(s)
	q.purged.Ascend(func(r index.Range) bool {
		if r.Hi > s {
			q.holes.AddRange(max(r.Lo, s), r.Hi)
		}
		return true
	})
	if q.head > s {
		q.head = s
		q.absorbHoles()
	}
	q.cursor = min(q.cursor, s)
	q.cursor = max(q.cursor, q.head)
	q.ttlAt = 0
	q.modified = now
	return nil
}

// queuesByID returns the queues in id order.
func (sm *stateMachine) queuesByID() []*queue {
	out := make([]*queue, 0, len(sm.queues))
	for _, q := range sm.queues {
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// topicsByID returns the topics in id order.
func (sm *stateMachine) topicsByID() []*topic {
	var out []*topic
	for _, ns := range sm.topics {
		for _, t := range ns {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// queueRef names one queue in a listing.
type queueRef struct {
	id   uint64
	name string
}

// listQueues returns the namespace's queues whose names contain search (case-insensitively),
// in creation order, and the total number that matched.
func (sm *stateMachine) listQueues(namespace, search string, offset, limit int, filter func(*queue) bool) (int, []queueRef) {
	search = strings.ToLower(search)
	var all []*queue
	for key, q := range sm.namespaces[namespace] {
		if strings.Contains(key, search) && (filter == nil || filter(q)) {
			all = append(all, q)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
	total := len(all)
	if offset > total {
		offset = total
	}
	all = all[offset:]
	if limit < len(all) {
		all = all[:limit]
	}
	refs := make([]queueRef, len(all))
	for i, q := range all {
		refs[i] = queueRef{id: q.id, name: q.name}
	}
	return total, refs
}

// errIs is errors.Is, named for the places that compare API errors.
var errIs = errors.Is
