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

// proposalBatchVersion starts an envelope that carries several proposals in one log entry
// (part of the replicated log format):
//
//	version (1) | count (uvarint) | count × (length (uvarint) | proposal)
//
// A replicator that has many proposals at hand joins them (JoinProposals) so that the
// per-entry costs of replication — framing, checksums, fsync bookkeeping, messages — are paid
// once for all of them. Apply applies the proposals of one entry in their order, atomically
// with respect to checkpoints (they share the entry's index).
const proposalBatchVersion = 0xC2

// maxProposalsPerBatch bounds the count an envelope may claim, so a corrupt count cannot
// make Apply allocate without bound (real batches are far smaller: a replicator gathers
// what arrived during one fsync).
const maxProposalsPerBatch = 1 << 16

// JoinProposals returns one log entry carrying props (each as handed to
// Replicator.Propose), in order. Apply splits it again. A replicator may propose the result
// in place of the individual proposals and report its outcome to each of their callers.
func JoinProposals(props [][]byte) []byte {
	size := 1 + binary.MaxVarintLen64
	for _, p := range props {
		size += binary.MaxVarintLen64 + len(p)
	}
	b := make([]byte, 0, size)
	b = binary.AppendUvarint(append(b, proposalBatchVersion), uint64(len(props)))
	for _, p := range props {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}

// splitProposals returns the proposals in a log entry's data: the entry itself, or the
// proposals of a JoinProposals envelope (sub-slices of data).
func splitProposals(data []byte) ([][]byte, error) {
	if len(data) == 0 || data[0] != proposalBatchVersion {
		return [][]byte{data}, nil
	}
	count, n := binary.Uvarint(data[1:])
	if n <= 0 || count == 0 || count > maxProposalsPerBatch {
		return nil, fmt.Errorf("%w: bad proposal batch count", ErrBadCommand)
	}
	rest := data[1+n:]
	props := make([][]byte, 0, min(count, uint64(len(rest))))
	for range count {
		l, n := binary.Uvarint(rest)
		if n <= 0 || l > uint64(len(rest)-n) {
			return nil, fmt.Errorf("%w: bad proposal batch length", ErrBadCommand)
		}
		props = append(props, rest[n:n+int(l)])
		rest = rest[n+int(l):]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after a proposal batch", ErrBadCommand, len(rest))
	}
	return props, nil
}

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
//
// It returns the storage error that stopped the engine (now or earlier: a failed queue
// log write, checkpoint or snapshot), if any: the replicator must then stop too, so that
// the replica neither votes nor leads nor answers from a state it can no longer keep.
func (e *Engine) Apply(entries []Entry) error {
	items := make([]applyItem, 0, len(entries))
	applied := e.AppliedIndex()
	for _, en := range entries {
		if en.Index <= applied {
			continue
		}
		if en.Data == nil {
			items = append(items, applyItem{index: en.Index})
			continue
		}
		props, err := splitProposals(en.Data)
		if err != nil {
			e.logger.Error("engine: skipping undecodable committed entry", "index", en.Index, "err", err)
			items = append(items, applyItem{index: en.Index, size: len(en.Data)})
			continue
		}
		for _, p := range props {
			items = append(items, e.applyItemFor(en.Index, p))
		}
	}
	e.applyItems(items)
	if err := e.fatal(); err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	return nil
}

// applyItemFor decodes one proposal of the entry at index and finds the caller on this
// replica waiting for it, if any. An undecodable proposal is the same on every replica, so
// every replica skips it (only the applied index moves).
func (e *Engine) applyItemFor(index uint64, prop []byte) applyItem {
	it := applyItem{index: index, size: len(prop)}
	reqID, c, err := decodeProposal(prop)
	if err != nil {
		e.logger.Error("engine: skipping undecodable committed proposal", "index", index, "err", err)
		return it
	}
	it.cmd = c
	e.pendingMu.Lock()
	if p := e.pending[reqID]; p != nil {
		delete(e.pending, reqID)
		it.want, it.done = p.want, p.done
	}
	e.pendingMu.Unlock()
	return it
}

// AppliedIndex is the index of the last applied entry.
func (e *Engine) AppliedIndex() uint64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.sm.applied
}
