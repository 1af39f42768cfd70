package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cespare/xxhash/v2"
	"github.com/opencmq/opencmq/failpoint"
	"github.com/opencmq/opencmq/index"
	"github.com/opencmq/opencmq/segment/vfs"
)

// Checkpoint file format (part of the on-disk format):
//
//	magic "OCMQCKPT" (8) | version u16 LE | body | xxhash64(magic..body) u64 LE
//
// The body holds the whole state machine except message bodies, which stay in the queue
// logs: the checkpoint promises that every queue log holds at least [first, tail).
// Version 2 adds the replay keys (replay.go) after the topics; version 1 is still read.
const (
	checkpointMagic   = "OCMQCKPT"
	checkpointVersion = 2
	checkpointName    = "checkpoint"
)

// ErrBadCheckpoint is returned for a checkpoint that fails its checksum or does not decode.
var ErrBadCheckpoint = errors.New("engine: corrupt checkpoint")

// encodeState serialises the state machine deterministically (queues by id).
func (sm *stateMachine) encodeState(dst []byte) []byte {
	dst = append(dst, checkpointMagic...)
	dst = binary.LittleEndian.AppendUint16(dst, checkpointVersion)
	dst = binary.AppendUvarint(dst, sm.applied)
	dst = binary.AppendVarint(dst, sm.clock)
	dst = binary.AppendUvarint(dst, sm.nextQueueID)
	dst = binary.AppendUvarint(dst, uint64(len(sm.pendingRemoval)))
	for _, id := range sm.pendingRemoval {
		dst = binary.AppendUvarint(dst, id)
	}
	queues := sm.queuesByID()
	dst = binary.AppendUvarint(dst, uint64(len(queues)))
	for _, q := range queues {
		dst = q.appendState(dst)
	}
	dst = sm.appendTopicState(dst)
	dst = sm.replay.appendState(dst)
	return binary.LittleEndian.AppendUint64(dst, xxhash.Sum64(dst))
}

func (q *queue) appendState(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, q.id)
	dst = appendString(dst, q.namespace)
	dst = appendString(dst, q.name)
	dst = append(dst, boolByte(q.hidden))
	dst = appendAttrs(dst, &q.attrs)
	for _, v := range [...]uint64{q.dlqID, q.first, q.head, q.cursor, q.tail, q.leaseSeq} {
		dst = binary.AppendUvarint(dst, v)
	}
	for _, v := range [...]int64{q.created, q.modified, q.retentionAt, q.trimAt, q.ttlAt} {
		dst = binary.AppendVarint(dst, v)
	}
	dst = binary.AppendUvarint(dst, uint64(q.meta.Len()))
	q.meta.Ascend(func(seq uint64, m msgMeta) bool {
		dst = binary.AppendUvarint(dst, seq)
		dst = binary.AppendUvarint(dst, m.lease)
		dst = binary.AppendVarint(dst, m.at)
		dst = binary.AppendVarint(dst, m.firstDequeue)
		dst = binary.AppendUvarint(dst, uint64(m.count))
		dst = append(dst, byte(m.state))
		return true
	})
	for _, set := range [...]*index.RangeSet{&q.holes, &q.purged} {
		dst = binary.AppendUvarint(dst, uint64(set.Len()))
		set.Ascend(func(r index.Range) bool {
			dst = binary.AppendUvarint(dst, r.Lo)
			dst = binary.AppendUvarint(dst, r.Hi)
			return true
		})
	}
	entries := q.times.Entries()
	lastT, lastSeq, _ := q.times.Last()
	dst = binary.AppendVarint(dst, lastT)
	dst = binary.AppendUvarint(dst, lastSeq)
	dst = binary.AppendUvarint(dst, uint64(len(entries)))
	for _, e := range entries {
		dst = binary.AppendVarint(dst, e.T)
		dst = binary.AppendUvarint(dst, e.Seq)
	}
	return dst
}

// decodeState rebuilds a state machine from encodeState's output.
func decodeState(b []byte, l Limits, s *store) (*stateMachine, error) {
	if len(b) < len(checkpointMagic)+2+8 || string(b[:len(checkpointMagic)]) != checkpointMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrBadCheckpoint)
	}
	body, sum := b[:len(b)-8], binary.LittleEndian.Uint64(b[len(b)-8:])
	if xxhash.Sum64(body) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrBadCheckpoint)
	}
	version := binary.LittleEndian.Uint16(body[len(checkpointMagic):])
	if version != 1 && version != checkpointVersion {
		return nil, fmt.Errorf("%w: unknown version %d", ErrBadCheckpoint, version)
	}
	d := decoder{b: body[len(checkpointMagic)+2:]}
	sm := newStateMachine(l, s)
	sm.applied = d.uvarint()
	sm.clock = d.varint()
	sm.nextQueueID = d.uvarint()
	for n := d.count(); n > 0 && d.err == nil; n-- {
		sm.pendingRemoval = append(sm.pendingRemoval, d.uvarint())
	}
	for n := d.count(); n > 0 && d.err == nil; n-- {
		q, err := d.queue()
		if err != nil {
			return nil, err
		}
		if sm.queues[q.id] != nil || q.id >= sm.nextQueueID {
			return nil, fmt.Errorf("%w: bad queue id %d", ErrBadCheckpoint, q.id)
		}
		sm.queues[q.id] = q
		if q.hidden {
			continue
		}
		ns := sm.namespaces[q.namespace]
		if ns == nil {
			ns = make(map[string]*queue)
			sm.namespaces[q.namespace] = ns
		}
		ns[nameKey(q.name)] = q
	}
	if err := d.topics(sm); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	if version >= 2 {
		if err := d.replaySet(&sm.replay); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, d.err)
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadCheckpoint, len(d.b))
	}
	for _, q := range sm.queues {
		if q.dlqID != 0 {
			dlq := sm.queues[q.dlqID]
			if dlq == nil {
				return nil, fmt.Errorf("%w: %v: dead-letter queue %d missing", ErrBadCheckpoint, q, q.dlqID)
			}
			dlq.sources++
		}
		sm.reschedule(q)
	}
	return sm, nil
}

// queue decodes one queue and rebuilds its indexes, checking the invariants the rest of
// the engine relies on, so that a damaged checkpoint is refused rather than trusted.
func (d *decoder) queue() (*queue, error) {
	q := &queue{id: d.uvarint(), namespace: d.string(), name: d.string()}
	q.hidden = d.byte() == 1
	d.attrs(&q.attrs)
	for _, p := range [...]*uint64{&q.dlqID, &q.first, &q.head, &q.cursor, &q.tail, &q.leaseSeq} {
		*p = d.uvarint()
	}
	for _, p := range [...]*int64{&q.created, &q.modified, &q.retentionAt, &q.trimAt, &q.ttlAt} {
		*p = d.varint()
	}
	bad := func(what string) error { return fmt.Errorf("%w: %v: %s", ErrBadCheckpoint, q, what) }
	if d.err == nil && !(q.first >= 1 && q.first <= q.head && q.head <= q.cursor && q.cursor <= q.tail) {
		return nil, bad("positions out of order")
	}
	for n := d.count(); n > 0 && d.err == nil; n-- {
		seq := d.uvarint()
		m := msgMeta{lease: d.uvarint(), at: d.varint(), firstDequeue: d.varint(), count: uint32(d.uvarint()), state: msgState(d.byte())}
		if d.err != nil {
			break
		}
		if seq < q.head || seq >= q.tail {
			return nil, bad("message metadata out of range")
		}
		switch m.state {
		case stateInflight:
			q.inflight.Add(m.at, seq)
		case stateDelayed:
			q.delayed.Add(m.at, seq)
		case stateReady:
			q.ready.Add(seq)
		default:
			return nil, bad("unknown message state")
		}
		q.meta.Set(seq, m)
	}
	for _, r := range [...]struct {
		set *index.RangeSet
		lo  uint64
	}{{&q.holes, q.head}, {&q.purged, q.first}} {
		for n := d.count(); n > 0 && d.err == nil; n-- {
			lo, hi := d.uvarint(), d.uvarint()
			if d.err == nil && (lo < r.lo || hi > q.tail || lo >= hi) {
				return nil, bad("deleted range out of range")
			}
			r.set.AddRange(lo, hi)
		}
	}
	lastT, lastSeq := d.varint(), d.uvarint()
	n := d.count()
	entries := make([]index.TimeEntry, 0, n)
	for ; n > 0 && d.err == nil; n-- {
		entries = append(entries, index.TimeEntry{T: d.varint(), Seq: d.uvarint()})
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCheckpoint, d.err)
	}
	if err := q.times.Restore(0, entries, lastSeq, lastT); err != nil {
		return nil, bad(err.Error())
	}
	return q, nil
}

// writeCheckpoint makes the state durable: it syncs every queue log the state depends on,
// then writes the encoded state to a temporary file, syncs it, renames it over the previous
// checkpoint and syncs the directory. Only after it returns may the journal be cut.
//
// The order matters: if the checkpoint became durable before the queue logs, a crash could
// leave a checkpoint whose tails point past the data on disk.
func writeCheckpoint(fs vfs.FS, dir string, logs []syncer, state []byte) error {
	for _, l := range logs {
		if err := l.Sync(); err != nil {
			return err
		}
	}
	if err := failpoint.Inject(failpoint.CheckpointBeforeWrite); err != nil {
		return err
	}
	return vfs.WriteFileAtomic(fs, dir, checkpointName, state)
}

type syncer interface{ Sync() error }

// readCheckpoint returns the checkpoint's bytes, or nil if there is none. An empty file
// is returned as such (and refused by decodeState), never taken for "no checkpoint".
func readCheckpoint(fs vfs.FS, dir string) ([]byte, error) {
	b, err := vfs.ReadFile(fs, filepath.Join(dir, checkpointName))
	if vfs.IsNotExist(err) {
		return nil, nil
	}
	return b, err
}
