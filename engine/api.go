package engine

import (
	"context"
	"time"
)

// Message is one delivery of a message, as ReceiveMessage returns it.
type Message struct {
	// ID is the message id (32 hex digits). A message moved to a dead-letter queue keeps
	// the id it had in its source queue.
	ID   string
	Body []byte
	// ReceiptHandle deletes or changes the visibility of this delivery; it stops working
	// when the message is received again, deleted, or its visibility timeout passes.
	ReceiptHandle    string
	EnqueueTime      time.Time
	NextVisibleTime  time.Time
	FirstDequeueTime time.Time
	DequeueCount     int
}

// QueueInfo is a queue's attributes and counters, as GetQueueAttributes returns them.
type QueueInfo struct {
	ID         string
	Name       string
	Attributes QueueAttributes
	CreateTime time.Time
	// LastModifyTime is when the attributes last changed.
	LastModifyTime time.Time
	// ActiveMsgNum counts visible messages; InactiveMsgNum received ones whose visibility
	// timeout has not passed; DelayMsgNum delayed ones not yet due. Their sum is the backlog.
	ActiveMsgNum, InactiveMsgNum, DelayMsgNum int64
	// RewindMsgNum counts deleted messages still kept for RewindQueue.
	RewindMsgNum int64
	// MinMsgTime is the enqueue time of the oldest message not yet deleted; zero if none.
	MinMsgTime time.Time
}

// QueueRef names a queue in a listing.
type QueueRef struct {
	ID   string
	Name string
}

func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// CreateQueue creates a queue in namespace. attrs are validated against CMQ's ranges (start
// from DefaultQueueAttributes). It returns the queue id.
func (e *Engine) CreateQueue(ctx context.Context, namespace, name string, attrs QueueAttributes) (string, error) {
	r := e.propose(ctx, &Command{Type: CmdCreateQueue, Namespace: namespace, Queue: name, Attrs: attrs}, false)
	if r.err != nil {
		return "", r.err
	}
	return queueIDString(r.queueID), nil
}

// SetQueueAttributes changes the attributes named in u and returns all of them.
func (e *Engine) SetQueueAttributes(ctx context.Context, namespace, name string, u QueueAttributeUpdate) (QueueAttributes, error) {
	r := e.propose(ctx, &Command{Type: CmdSetQueueAttributes, Namespace: namespace, Queue: name, Update: u}, false)
	return r.attrs, r.err
}

// DeleteQueue deletes a queue and its messages. A queue that is some queue's dead-letter
// queue cannot be deleted (ErrIsDeadLetterQueue).
func (e *Engine) DeleteQueue(ctx context.Context, namespace, name string) error {
	return e.propose(ctx, &Command{Type: CmdDeleteQueue, Namespace: namespace, Queue: name}, false).err
}

// GetQueueAttributes returns a queue's attributes and counters as of now. Reads are served
// from the local state (ctx is for implementations that must first confirm it is current).
func (e *Engine) GetQueueAttributes(ctx context.Context, namespace, name string) (QueueInfo, error) {
	if err := e.readBarrier(ctx); err != nil {
		return QueueInfo{}, err
	}
	// Counters must be true as of now. Leases and delays that ran out are accounted for
	// below; retention, the rewind window and dead letters change the state, so if any of
	// them is due, apply a Tick first (a command: on a follower it goes to the leader).
	e.mu.RLock()
	q := e.sm.lookup(namespace, name)
	due := q != nil && q.readNeedsTick(max(e.nowMs(), e.sm.clock))
	e.mu.RUnlock()
	if due {
		if err := e.Tick(ctx); err != nil {
			return QueueInfo{}, err
		}
	}
	// Exclusive: reading the oldest message's time may open the queue's log.
	e.mu.Lock()
	defer e.mu.Unlock()
	q = e.sm.lookup(namespace, name)
	if q == nil {
		return QueueInfo{}, ErrQueueNotExist
	}
	now := max(e.nowMs(), e.sm.clock)
	active, inactive, delayed := q.counts(now)
	info := QueueInfo{
		ID: queueIDString(q.id), Name: q.name, Attributes: q.attrs,
		CreateTime: msTime(q.created), LastModifyTime: msTime(q.modified),
		ActiveMsgNum: int64(active), InactiveMsgNum: int64(inactive), DelayMsgNum: int64(delayed),
	}
	if q.attrs.DeadLetter != nil {
		p := *q.attrs.DeadLetter
		info.Attributes.DeadLetter = &p
	}
	if q.attrs.RewindSeconds > 0 {
		window, _, err := e.sm.seqAtTime(q, (now/1000-q.attrs.RewindSeconds)*1000)
		if err != nil {
			return QueueInfo{}, e.sm.storageFailed(err)
		}
		info.RewindMsgNum = int64(q.rewindable(window))
	}
	if q.head < q.tail {
		enqueue, _, _, err := e.sm.readMessage(q, q.head)
		if err != nil {
			return QueueInfo{}, e.sm.storageFailed(err)
		}
		info.MinMsgTime = msTime(enqueue)
	}
	return info, nil
}

// ListQueues returns the namespace's queues whose names contain searchWord (ignoring case),
// in creation order, from offset, at most limit of them, and how many matched in all.
func (e *Engine) ListQueues(ctx context.Context, namespace, searchWord string, offset, limit int) (int, []QueueRef, error) {
	return e.list(ctx, namespace, searchWord, offset, limit, nil)
}

// ListDeadLetterSourceQueues lists the queues that use deadLetterQueue as their dead-letter
// queue, like ListQueues.
func (e *Engine) ListDeadLetterSourceQueues(ctx context.Context, namespace, deadLetterQueue, searchWord string, offset, limit int) (int, []QueueRef, error) {
	e.mu.RLock()
	dlq := e.sm.lookup(namespace, deadLetterQueue)
	e.mu.RUnlock()
	if dlq == nil {
		return 0, nil, ErrQueueNotExist
	}
	return e.list(ctx, namespace, searchWord, offset, limit, func(q *queue) bool { return q.dlqID == dlq.id })
}

func (e *Engine) list(ctx context.Context, namespace, searchWord string, offset, limit int, filter func(*queue) bool) (int, []QueueRef, error) {
	if err := e.readBarrier(ctx); err != nil {
		return 0, nil, err
	}
	if offset < 0 || limit < 0 || limit > e.limits.MaxListLimit {
		return 0, nil, errorf(ErrParameterRange, "offset must be >= 0 and limit 0-%d", e.limits.MaxListLimit)
	}
	e.mu.RLock()
	total, refs := e.sm.listQueues(namespace, searchWord, offset, limit, filter)
	e.mu.RUnlock()
	out := make([]QueueRef, len(refs))
	for i, r := range refs {
		out[i] = QueueRef{ID: queueIDString(r.id), Name: r.name}
	}
	return total, out, nil
}

// SendMessage sends one message, visible after delaySeconds, and returns its id once it is
// durable.
func (e *Engine) SendMessage(ctx context.Context, namespace, name string, body []byte, delaySeconds int64) (string, error) {
	ids, err := e.BatchSendMessage(ctx, namespace, name, [][]byte{body}, delaySeconds)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// BatchSendMessage sends up to Limits.MaxBatch messages atomically (all or none) and returns
// their ids in order.
func (e *Engine) BatchSendMessage(ctx context.Context, namespace, name string, bodies [][]byte, delaySeconds int64) ([]string, error) {
	if len(bodies) == 0 || len(bodies) > e.limits.MaxBatch {
		return nil, ErrBatchSize
	}
	for _, b := range bodies {
		if len(b) == 0 {
			return nil, ErrEmptyBody
		}
	}
	r := e.propose(ctx, &Command{Type: CmdSend, Namespace: namespace, Queue: name, Bodies: bodies, DelaySeconds: delaySeconds}, false)
	if r.err != nil {
		return nil, r.err
	}
	ids := make([]string, len(r.seqs))
	for i, seq := range r.seqs {
		ids[i] = messageID(r.queueID, seq)
	}
	return ids, nil
}

// PollQueueDefault as ReceiveMessage's wait uses the queue's pollingWaitSeconds.
const PollQueueDefault = -1

// ReceiveMessage receives up to n visible messages (1..Limits.MaxBatch). If none is visible
// it waits up to waitSeconds (PollQueueDefault: the queue's pollingWaitSeconds) for one and
// returns the moment one becomes visible; if the wait ends empty it returns ErrNoMessage.
// Received messages stay invisible for the queue's visibility timeout.
func (e *Engine) ReceiveMessage(ctx context.Context, namespace, name string, n int, waitSeconds int64) ([]Message, error) {
	return e.receive(ctx, target{namespace: namespace, name: name}, n, waitSeconds)
}

// target names a queue: by namespace and name, or (internal queues) by id.
type target struct {
	namespace, name string
	id              uint64
}

// lookupTarget finds a target's queue. Lock held.
func (e *Engine) lookupTarget(t target) *queue {
	if t.id != 0 {
		if q := e.sm.queues[t.id]; q != nil && q.hidden {
			return q
		}
		return nil
	}
	return e.sm.lookup(t.namespace, t.name)
}

func (t target) command(c *Command) *Command {
	c.Namespace, c.Queue, c.QueueID = t.namespace, t.name, t.id
	return c
}

func (e *Engine) receive(ctx context.Context, t target, n int, waitSeconds int64) ([]Message, error) {
	if n < 1 || n > e.limits.MaxBatch {
		return nil, ErrBatchSize
	}
	e.mu.RLock()
	q := e.lookupTarget(t)
	var key string
	if q != nil {
		key = waitKey(q.namespace, q.name)
		if waitSeconds == PollQueueDefault {
			waitSeconds = q.attrs.PollingWaitSeconds
		}
	}
	e.mu.RUnlock()
	if q == nil {
		return nil, ErrQueueNotExist
	}
	if waitSeconds < 0 || waitSeconds > e.limits.MaxPollingWaitSeconds {
		return nil, errorf(ErrParameterRange, "pollingWaitSeconds must be 0-%d", e.limits.MaxPollingWaitSeconds)
	}
	deadline := time.Now().Add(time.Duration(waitSeconds) * time.Second)
	for {
		// Register before looking, so a message that arrives in between still wakes us.
		w := e.waiters.add(key)
		visible, err := e.hasVisible(t)
		if err != nil {
			e.waiters.remove(key, w)
			return nil, err
		}
		if visible {
			r := e.propose(ctx, t.command(&Command{Type: CmdReceive, MaxMessages: n}), true)
			if r.err == nil {
				e.waiters.remove(key, w)
				return e.messages(r), nil
			}
			if r.err != ErrNoMessage {
				e.waiters.remove(key, w)
				return nil, r.err
			}
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			e.waiters.remove(key, w)
			return nil, ErrNoMessage
		}
		timer := time.NewTimer(remaining)
		select {
		case <-w.ch:
		case <-timer.C:
		case <-ctx.Done():
		case <-e.stop:
		}
		timer.Stop()
		e.waiters.remove(key, w)
		if ctx.Err() != nil {
			return nil, ErrNoMessage
		}
		if e.usable() != nil {
			return nil, ErrClosed
		}
	}
}

// hasVisible reports whether the queue has a visible message now (leases and delays that ran
// out count, as the receive will advance past them).
func (e *Engine) hasVisible(t target) (bool, error) {
	if err := e.usable(); err != nil {
		return false, err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	q := e.lookupTarget(t)
	if q == nil {
		return false, ErrQueueNotExist
	}
	active, _, _ := q.counts(max(e.nowMs(), e.sm.clock))
	return active > 0, nil
}

func (e *Engine) messages(r result) []Message {
	out := make([]Message, len(r.messages))
	for i, v := range r.messages {
		id := v.origin
		if id == "" {
			id = messageID(r.queueID, v.seq)
		}
		out[i] = Message{
			ID:               id,
			Body:             v.body,
			ReceiptHandle:    receiptHandle{queueID: r.queueID, seq: v.seq, lease: v.lease}.encode(),
			EnqueueTime:      msTime(v.enqueue),
			NextVisibleTime:  msTime(v.nextVisible),
			FirstDequeueTime: msTime(v.firstDequeue),
			DequeueCount:     int(v.count),
		}
	}
	return out
}

// DeleteMessage deletes the message a receipt handle was issued for. The handle must be the
// message's latest one and its visibility timeout must not have passed.
func (e *Engine) DeleteMessage(ctx context.Context, namespace, name, receiptHandle string) error {
	errs, err := e.BatchDeleteMessage(ctx, namespace, name, []string{receiptHandle})
	if err != nil {
		return err
	}
	return errs[0]
}

// BatchDeleteMessage deletes up to Limits.MaxBatch messages. err is for the request as a
// whole; errs has one entry per handle, nil where that delete succeeded.
func (e *Engine) BatchDeleteMessage(ctx context.Context, namespace, name string, receiptHandles []string) (errs []error, err error) {
	if len(receiptHandles) == 0 || len(receiptHandles) > e.limits.MaxBatch {
		return nil, ErrBatchSize
	}
	r := e.propose(ctx, &Command{Type: CmdDelete, Namespace: namespace, Queue: name, Handles: receiptHandles}, false)
	return r.itemErrs, r.err
}

// ChangeMessageVisibility sets the remaining invisibility of a received message to
// visibilitySeconds from now (0 makes it visible at once) and returns when it will be
// visible. The receipt handle stays valid while the message is invisible.
func (e *Engine) ChangeMessageVisibility(ctx context.Context, namespace, name, receiptHandle string, visibilitySeconds int64) (time.Time, error) {
	r := e.propose(ctx, &Command{Type: CmdChangeVisibility, Namespace: namespace, Queue: name, Handles: []string{receiptHandle}, VisibilitySeconds: visibilitySeconds}, false)
	if r.err != nil {
		return time.Time{}, r.err
	}
	return msTime(r.nextVisible), nil
}

// RewindQueue makes every stored message enqueued at or after startConsumeTime (unix seconds)
// receivable again, deleted ones included, in send order. startConsumeTime must lie within
// the last rewindSeconds.
func (e *Engine) RewindQueue(ctx context.Context, namespace, name string, startConsumeTime int64) error {
	return e.propose(ctx, &Command{Type: CmdRewind, Namespace: namespace, Queue: name, StartConsumeTime: startConsumeTime}, false).err
}

// UnbindDeadLetterQueue removes a queue's dead-letter policy.
func (e *Engine) UnbindDeadLetterQueue(ctx context.Context, namespace, name string) error {
	return e.propose(ctx, &Command{Type: CmdUnbindDeadLetter, Namespace: namespace, Queue: name}, false).err
}

// readBarrier makes a read linearizable: with a replicator, it waits until this replica has
// applied everything committed before the read began (ErrOutcomeUnknown if it cannot tell).
func (e *Engine) readBarrier(ctx context.Context) error {
	if err := e.usable(); err != nil {
		return err
	}
	if e.opts.Replicator != nil {
		if err := e.opts.Replicator.ReadBarrier(ctx); err != nil {
			return ErrOutcomeUnknown
		}
	}
	return nil
}

// usable returns ErrClosed after Close and ErrInternal after a storage failure.
func (e *Engine) usable() error {
	select {
	case <-e.stop:
		return ErrClosed
	default:
	}
	if e.fatal() != nil {
		return ErrInternal
	}
	return nil
}
