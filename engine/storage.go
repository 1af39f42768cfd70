package engine

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/opencmq/opencmq/segment"
	"github.com/opencmq/opencmq/segment/vfs"
)

// store is where queue logs live: <dir>/queues/<16 hex digits of the queue id>/.
type store struct {
	fs           vfs.FS
	dir          string
	segmentBytes int64
	noSync       bool
}

func (s *store) queuesDir() string { return filepath.Join(s.dir, "queues") }

func (s *store) queueDir(id uint64) string {
	return filepath.Join(s.queuesDir(), fmt.Sprintf("%016x", id))
}

// openLog opens q's log if it is not open, and makes it agree with the state: records past
// q.tail come from commands after the last checkpoint that the journal will replay, so they
// are cut; records missing below q.tail, or a log that starts after q.first, mean acknowledged
// data is gone, which is corruption.
func (sm *stateMachine) openLog(q *queue) error {
	if q.log != nil {
		return nil
	}
	l, err := segment.Open(sm.store.queueDir(q.id), segment.Options{
		FS:              sm.store.fs,
		MaxSegmentBytes: sm.store.segmentBytes,
		LazyOpen:        true,
		NoSync:          sm.store.noSync,
	})
	dir := sm.store.queueDir(q.id)
	if err != nil {
		return fmt.Errorf("open %v in %s: %w", q, dir, err)
	}
	switch next := l.LastSeq() + 1; {
	case next > q.tail:
		if err := l.TruncateFrom(q.tail); err != nil {
			l.Close()
			return fmt.Errorf("open %v in %s: cut back to %d: %w", q, dir, q.tail, err)
		}
	case next < q.tail:
		l.Close()
		return fmt.Errorf("open %v in %s: log ends at %d, state expects %d: %w", q, dir, next-1, q.tail-1, segment.ErrCorrupt)
	}
	if q.first < q.tail && l.FirstSeq() > q.first {
		l.Close()
		return fmt.Errorf("open %v in %s: log starts at %d, state needs %d: %w", q, dir, l.FirstSeq(), q.first, segment.ErrCorrupt)
	}
	q.log = l
	return nil
}

// appendMessage appends one message to q's log at seq q.tail and advances tail.
func (sm *stateMachine) appendMessage(q *queue, now int64, origin string, body []byte) (uint64, error) {
	if err := sm.openLog(q); err != nil {
		return 0, err
	}
	sm.buf = encodeMessage(sm.buf, now, origin, body)
	seq, err := q.log.Append(recMessage, sm.buf)
	if err != nil {
		return 0, err
	}
	if seq != q.tail {
		return 0, fmt.Errorf("%v: appended seq %d, expected %d: %w", q, seq, q.tail, segment.ErrCorrupt)
	}
	q.tail++
	q.dirty = true
	if !q.unflushed {
		q.unflushed = true
		sm.unflushed = append(sm.unflushed, q)
	}
	q.times.Add(now, seq)
	if q.first == seq { // nothing was stored: this message is the next to expire
		q.retentionAt = now + q.attrs.MsgRetentionSeconds*1000
	}
	if q.head == seq && q.attrs.DeadLetter != nil { // nothing was live: likewise for time to live
		q.ttlAt = now + q.attrs.DeadLetter.MaxTimeToLive*1000
	}
	return seq, nil
}

// readMessage reads message seq of q. body aliases an internal buffer that the next read
// reuses; copy it to keep it.
func (sm *stateMachine) readMessage(q *queue, seq uint64) (enqueue int64, origin string, body []byte, err error) {
	if err := sm.openLog(q); err != nil {
		return 0, "", nil, err
	}
	_, data, err := q.log.Read(seq, sm.readBuf[:cap(sm.readBuf)])
	if err != nil {
		return 0, "", nil, fmt.Errorf("%v: read %d: %w", q, seq, err)
	}
	if cap(data) > cap(sm.readBuf) {
		sm.readBuf = data[:0]
	}
	enqueue, origin, body, ok := decodeMessage(data)
	if !ok {
		return 0, "", nil, fmt.Errorf("%v: message %d: bad record: %w", q, seq, segment.ErrCorrupt)
	}
	return enqueue, origin, body, nil
}

// seqAtTime returns the first seq in [q.first, q.tail) whose enqueue time is >= t and that
// time (q.tail and never if there is none). The sparse time index bounds the scan.
func (sm *stateMachine) seqAtTime(q *queue, t int64) (uint64, int64, error) {
	from := q.times.Lookup(t, q.first)
	if from >= q.tail {
		return q.tail, never, nil
	}
	if err := sm.openLog(q); err != nil {
		return 0, 0, err
	}
	it := q.log.NewIterator(from)
	defer it.Close()
	for it.Next() {
		if it.Seq() >= q.tail {
			break
		}
		enqueue, _, _, ok := decodeMessage(it.Data())
		if !ok {
			return 0, 0, fmt.Errorf("%v: message %d: bad record: %w", q, it.Seq(), segment.ErrCorrupt)
		}
		if enqueue >= t {
			return it.Seq(), enqueue, nil
		}
	}
	if err := it.Err(); err != nil {
		return 0, 0, fmt.Errorf("%v: scan from %d: %w", q, from, err)
	}
	return q.tail, never, nil
}

// flushLogs writes what this apply batch appended to queue logs to their files. Their
// buffers go back to the pool, so an engine with many queues holds no per-queue write
// buffer between batches; durability still comes from the journal (or raft log) and the
// checkpoint's sync.
func (sm *stateMachine) flushLogs() {
	for _, q := range sm.unflushed {
		q.unflushed = false
		if q.log == nil {
			continue
		}
		if err := q.log.Flush(); err != nil && !errors.Is(err, segment.ErrClosed) {
			sm.storageFailed(fmt.Errorf("%v: flush: %w", q, err))
		}
	}
	sm.unflushed = sm.unflushed[:0]
}

// closeLogs closes every open queue log.
func (sm *stateMachine) closeLogs() error {
	var first error
	for _, q := range sm.queues {
		if q.log != nil {
			if err := q.log.Close(); err != nil && first == nil {
				first = err
			}
			q.log = nil
		}
	}
	return first
}
