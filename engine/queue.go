package engine

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/opencmq/opencmq/index"
	"github.com/opencmq/opencmq/segment"
)

// never is the deadline of something that will not happen.
const never = math.MaxInt64

// msgState is where a message that is not simply waiting in order stands.
type msgState uint8

const (
	stateDelayed  msgState = 1 // not visible before meta.at
	stateInflight msgState = 2 // received; invisible until meta.at (the lease deadline)
	stateReady    msgState = 3 // below the cursor and visible again (lease expired, delay over)
)

// msgMeta is the per-message state of a message that is not simply waiting in order.
type msgMeta struct {
	lease        uint64 // id of the current lease (stateInflight)
	at           int64  // lease deadline (stateInflight) or due time (stateDelayed), unix ms
	firstDequeue int64  // unix ms of the first receive, 0 if never received
	count        uint32 // receives so far
	state        msgState
}

// queue is one queue's state. See DESIGN.md ("Queue storage") for the picture.
//
// Invariants:
//   - first <= head <= tail and head <= cursor <= tail.
//   - every seq < head is deleted or expired; holes holds exactly the deleted seqs in [head, tail).
//   - a seq in [head, tail) that is not in holes is live: it has a meta entry, or it is >= cursor
//     (fresh). Every live seq < cursor has a meta entry.
//   - meta entries exist only for live seqs; state stateInflight <=> in inflight index,
//     stateDelayed <=> in delayed index, stateReady <=> in ready set (and seq < cursor).
type queue struct {
	id        uint64
	namespace string
	name      string
	attrs     QueueAttributes
	dlqID     uint64 // id of the dead-letter queue, 0 if none
	hidden    bool   // an internal queue (a subscription's push queue): in no namespace
	created   int64  // unix ms
	modified  int64  // unix ms

	first, head, cursor, tail uint64
	leaseSeq                  uint64 // last lease id issued

	meta     index.Map[msgMeta]
	inflight index.Deadlines
	delayed  index.Deadlines
	ready    index.SeqSet
	holes    index.RangeSet
	// purged holds deleted seqs that rewind must not bring back: deleted while rewind was
	// off, or purged by turning it off. It is a subset of the deleted seqs in [first, tail)
	// (below head or in holes).
	purged index.RangeSet
	times  index.TimeIndex

	// retentionAt, trimAt and ttlAt are lower bounds of the next time retention, rewind-window
	// trimming and time-to-live dead-lettering can have work; 0 means "check at once". The
	// sweeps themselves are exact, so the bounds only save work; they are part of the state
	// (checkpointed) all the same, so that replicas do the same work at the same commands.
	retentionAt, trimAt, ttlAt int64

	// Derived (not checkpointed; rebuilt on restore).
	sources     int   // queues that use this one as their dead-letter queue
	scheduled   bool  // whether (scheduledAt, id) is in stateMachine.schedule
	scheduledAt int64 // the deadline registered for this queue in stateMachine.schedule

	log       *segment.Log // nil until first used
	dirty     bool         // appended to since the last checkpoint
	unflushed bool         // appended to since the end of the last apply batch
}

// live is the number of messages neither deleted nor expired.
func (q *queue) live() uint64 { return q.tail - q.head - q.holes.Count() }

// counts returns the visible, in-flight and delayed message counts as of now, without
// changing anything: leases and delays that ran out but were not yet advanced count as
// visible, as they are.
func (q *queue) counts(now int64) (active, inactive, delayed uint64) {
	inactive = uint64(q.inflight.Len() - q.inflight.CountDue(now))
	delayed = uint64(q.delayed.Len() - q.delayed.CountDue(now))
	return q.live() - inactive - delayed, inactive, delayed
}

// Message record payload in a queue's segment log (part of the on-disk format):
//
//	enqueue time, unix ms, int64 LE (8) | origin id length (1) | origin id | body
//
// The origin id is empty unless the message was moved here from another queue (dead
// letters), in which case it is the message id it had there.
const recMessage byte = 1

func encodeMessage(buf []byte, enqueue int64, origin string, body []byte) []byte {
	buf = binary.LittleEndian.AppendUint64(buf[:0], uint64(enqueue))
	buf = append(buf, byte(len(origin)))
	buf = append(buf, origin...)
	return append(buf, body...)
}

func decodeMessage(p []byte) (enqueue int64, origin string, body []byte, ok bool) {
	if len(p) < 9 || len(p) < 9+int(p[8]) {
		return 0, "", nil, false
	}
	n := int(p[8])
	return int64(binary.LittleEndian.Uint64(p)), string(p[9 : 9+n]), p[9+n:], true
}

// removeMeta drops seq's metadata and its entry in the index that matches its state.
func (q *queue) removeMeta(seq uint64) {
	if m, ok := q.meta.Delete(seq); ok {
		q.unindex(seq, m)
	}
}

// unindex removes seq from the index its state puts it in (meta is handled by the caller).
func (q *queue) unindex(seq uint64, m msgMeta) {
	switch m.state {
	case stateInflight:
		q.inflight.Remove(m.at, seq)
	case stateDelayed:
		q.delayed.Remove(m.at, seq)
	case stateReady:
		q.ready.Remove(seq)
	}
}

// markDeleted records that live message seq is gone (deleted, or moved to a dead-letter queue).
func (q *queue) markDeleted(seq uint64) {
	q.removeMeta(seq)
	if seq != q.head {
		q.holes.Add(seq)
		if q.attrs.RewindSeconds == 0 {
			q.purged.Add(seq)
		}
		return
	}
	q.head++
	q.absorbHoles()
	if q.attrs.RewindSeconds == 0 {
		q.dropBelow(q.head)
	} else if q.trimAt == never {
		q.trimAt = 0 // the rewindable range was empty: find when its first message leaves
	}
}

// dropBelow forgets every message below seq for good (retention, or the rewind window
// moving on). It moves first, and head and cursor with it.
func (q *queue) dropBelow(seq uint64) {
	if seq <= q.first {
		return
	}
	q.first = seq
	if q.head < seq {
		q.holes.DeleteBelow(seq)
		q.meta.DeleteBelow(seq, q.unindex)
		q.head = seq
		q.absorbHoles()
	}
	q.cursor = max(q.cursor, q.head)
	q.purged.DeleteBelow(seq)
	q.times.TrimBelow(seq)
}

// absorbHoles moves head past deleted seqs right above it and keeps cursor >= head.
func (q *queue) absorbHoles() {
	if r, ok := q.holes.Min(); ok && r.Lo == q.head {
		q.head = r.Hi
		q.holes.DeleteBelow(q.head)
	}
	q.cursor = max(q.cursor, q.head)
}

// rewindable counts the deleted messages a rewind at now could still bring back: deleted,
// stored, not purged, and enqueued within the rewind window (from seq window on).
func (q *queue) rewindable(window uint64) uint64 {
	if q.attrs.RewindSeconds == 0 {
		return 0
	}
	w := max(window, q.first)
	var n uint64
	if w < q.head {
		n = q.head - w
	}
	n += q.holes.CountRange(max(w, q.head), q.tail)
	return n - q.purged.CountRange(w, q.tail)
}

// readNeedsTick reports whether a read at now would see a stale state: retention, the
// rewind window or a dead-letter move is due. Expired leases and due delays need no Tick:
// counts accounts for them.
func (q *queue) readNeedsTick(now int64) bool {
	if q.first < q.tail && now >= q.retentionAt {
		return true
	}
	if q.attrs.RewindSeconds > 0 && q.first < q.head && now >= q.trimAt {
		return true
	}
	if p := q.attrs.DeadLetter; p != nil {
		if p.Policy == 1 && q.head < q.tail && now >= q.ttlAt {
			return true
		}
		if d, ok := q.inflight.Min(); p.Policy == 0 && ok && d.At <= now {
			return true
		}
	}
	return false
}

// nextDeadline is the earliest time at which advancing this queue can change something.
func (q *queue) nextDeadline() int64 {
	at := int64(never)
	if d, ok := q.inflight.Min(); ok {
		at = min(at, d.At)
	}
	if d, ok := q.delayed.Min(); ok {
		at = min(at, d.At)
	}
	if q.first < q.tail {
		at = min(at, q.retentionAt)
	}
	if q.attrs.RewindSeconds > 0 && q.first < q.head {
		at = min(at, q.trimAt)
	}
	if q.attrs.DeadLetter != nil && q.attrs.DeadLetter.Policy == 1 && q.head < q.tail {
		at = min(at, q.ttlAt)
	}
	return at
}

// messageView is what a receive returns for one message.
type messageView struct {
	seq          uint64
	lease        uint64
	enqueue      int64
	nextVisible  int64
	firstDequeue int64
	count        uint32
	origin       string
	body         []byte
}

func (q *queue) String() string { return fmt.Sprintf("queue %d %q/%q", q.id, q.namespace, q.name) }
