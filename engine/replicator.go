package engine

import (
	"context"
	"encoding/binary"
	"fmt"
)

// A Replicator orders the engine's commands across replicas, in place of the engine's local
// journal (package replication provides one on raft). The engine hands it encoded proposals;
// the replicator makes them durable on a majority, and every replica's replicator calls
// Engine.Apply with the committed entries, in log order. A proposal may be lost (no leader,
// leader change): the proposing call then times out with ErrOutcomeUnknown.
type Replicator interface {
	// Propose submits an encoded proposal (see Engine.Apply for how it comes back).
	Propose(ctx context.Context, data []byte) error
	// ReadBarrier returns once this replica has applied everything committed before the
	// call, so that a read after it is linearizable.
	ReadBarrier(ctx context.Context) error
	// IsLeader reports whether this replica leads; only the leader proposes Ticks.
	IsLeader() bool
	// Checkpointed reports that the engine's state through index is durable in a
	// checkpoint: the replicator may compact its log up to it.
	Checkpointed(index uint64)
}

// Entry is a committed log entry for Apply. Data nil marks an entry that is not an engine
// command (a raft no-op or configuration change): only the applied index moves.
type Entry struct {
	Index uint64
	Data  []byte
}

// proposalVersion starts every proposal envelope (part of the replicated log format):
//
//	version (1) | request id (uvarint) | encoded Command
//
// The request id lets the replica that proposed a command find the caller waiting for its
// result; other replicas ignore it.
const proposalVersion = 0xC1

func encodeProposal(reqID uint64, c *Command) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+c.encodedSizeHint())
	b = binary.AppendUvarint(append(b, proposalVersion), reqID)
	return c.AppendEncode(b)
}

func decodeProposal(b []byte) (uint64, *Command, error) {
	if len(b) < 2 || b[0] != proposalVersion {
		return 0, nil, fmt.Errorf("%w: bad proposal envelope", ErrBadCommand)
	}
	id, n := binary.Uvarint(b[1:])
	if n <= 0 {
		return 0, nil, fmt.Errorf("%w: bad request id", ErrBadCommand)
	}
	c, err := DecodeCommand(b[1+n:])
	return id, c, err
}

// Apply applies committed entries in order. Entries at or below the applied index (already
// in the state, e.g. replayed after a snapshot that was newer than its raft metadata) are
// skipped. A committed entry that does not decode is the same on every replica, so it is
// skipped everywhere (and logged). Only a Replicator calls Apply, from one goroutine.
func (e *Engine) Apply(entries []Entry) {
	items := make([]applyItem, 0, len(entries))
	applied := e.AppliedIndex()
	for _, en := range entries {
		if en.Index <= applied {
			continue
		}
		it := applyItem{index: en.Index, size: len(en.Data)}
		if en.Data != nil {
			reqID, c, err := decodeProposal(en.Data)
			if err != nil {
				e.logger.Error("engine: skipping undecodable committed entry", "index", en.Index, "err", err)
			} else {
				it.cmd = c
				e.pendingMu.Lock()
				if p := e.pending[reqID]; p != nil {
					delete(e.pending, reqID)
					it.want, it.done = p.want, p.done
				}
				e.pendingMu.Unlock()
			}
		}
		items = append(items, it)
	}
	e.applyItems(items)
}

// AppliedIndex is the index of the last applied entry.
func (e *Engine) AppliedIndex() uint64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.sm.applied
}
