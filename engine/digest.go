package engine

import (
	"encoding/binary"
	"hash"

	"github.com/cespare/xxhash/v2"
)

// StateDigest returns the applied index and an xxhash64 digest of the replicated state at
// that index: every queue's attributes, counters, leases, holes and time index, the topics
// and subscriptions, the state machine's clock, and every stored message (enqueue time,
// origin, body). Replicas that applied the same log report the same digest at the same
// index, whether they got there by replaying entries or from a snapshot; a replica that
// reports another digest at the same index has diverged. Node-local housekeeping (queue
// directories awaiting removal after a checkpoint) is left out.
//
// It holds the engine's lock while it reads every stored message: a diagnostic that costs
// O(stored bytes) and stalls applies meanwhile, for quiet clusters and tests.
func (e *Engine) StateDigest() (applied, digest uint64, err error) {
	e.mu.Lock() // readMessage opens logs and reuses the read buffer
	defer e.mu.Unlock()
	sm := e.sm
	h := xxhash.New()
	var b []byte
	b = binary.AppendVarint(b, sm.clock)
	b = binary.AppendUvarint(b, sm.nextQueueID)
	queues := sm.queuesByID()
	b = binary.AppendUvarint(b, uint64(len(queues)))
	for _, q := range queues {
		b = q.appendState(b)
	}
	h.Write(sm.appendTopicState(b))
	if err := sm.hashMessages(h); err != nil {
		return 0, 0, err
	}
	return sm.applied, h.Sum64(), nil
}

// hashMessages writes every stored message of every queue, in queue id and sequence order,
// to h.
func (sm *stateMachine) hashMessages(h hash.Hash64) error {
	var b []byte
	for _, q := range sm.queuesByID() {
		for seq := q.first; seq < q.tail; seq++ {
			enqueue, origin, body, err := sm.readMessage(q, seq)
			if err != nil {
				return err
			}
			b = binary.LittleEndian.AppendUint64(b[:0], uint64(enqueue))
			b = appendString(b, origin)
			b = binary.AppendUvarint(b, uint64(len(body)))
			h.Write(append(b, body...))
		}
	}
	return nil
}
