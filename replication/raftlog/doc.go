// Package raftlog is the durable raft log of an opencmq node: a raft.Storage for a
// go.etcd.io/raft RawNode, plus the persistence half of the Ready loop, on top of
// github.com/tidwall/wal with the checksums, torn-tail repair and directory fsyncs that
// tidwall/wal lacks.
//
//	st, err := raftlog.Open(dir, raftlog.Options{})
//	// per Ready, in this order:
//	st.ApplySnapshot(rd.Snapshot)   // if !raft.IsEmptySnap(rd.Snapshot), after installing its data
//	st.Append(rd.Entries)
//	st.SetHardState(rd.HardState)   // if !raft.IsEmptyHardState(rd.HardState)
//	st.Sync()                       // if rd.MustSync; then send rd.Messages
//	// after applying a conf change:   st.SetConfState(rn.ApplyConfChange(cc))
//	// after durably checkpointing applied index i:  st.Compact(i)
//
// Storage answers raft's reads exactly like raft.MemoryStorage holding the same
// operations (FirstIndex, LastIndex, Term, Entries with its size limit, ErrCompacted,
// ErrUnavailable), with the differences documented on the methods: invalid arguments
// return errors instead of panicking, Compact refuses to go past HardState.Commit,
// ApplySnapshot raises HardState.Commit to the snapshot index, and Snapshot does not
// hold application data (wrap Storage and override Snapshot to serve snapshots).
//
// # Format
//
// A storage directory holds a state file, a commit hint file and one log directory:
//
//	STATE                               state file (replaced atomically)
//	COMMIT                              commit hint (overwritten in place, never fsynced)
//	wal-00000000000000000003/           the log of epoch 3: tidwall/wal segment files
//	    00000000000000001200            entries 1200..1733  (index 1200 is the compaction point)
//	    00000000000000001734            entries 1734..      (tidwall/wal appends here)
//
// The segment files are tidwall/wal's binary format, unchanged: each is named after the
// index of its first record, 20 digits, and holds records back to back, each a uvarint
// length followed by that many bytes. Record i of a file named n holds raft index n+i.
// The bytes of a record (its payload) are ours:
//
//	+----------------------+-------------+--------------------------------------+
//	| checksum uint64 LE   | version (1) | raftpb.Entry, deterministic protobuf |
//	+----------------------+-------------+--------------------------------------+
//	checksum = xxhash64(version | entry bytes)
//
// The entry carries its Index and Term, so the checksum covers them, and a record is
// accepted only at the position its Index names: a record read from the wrong place or
// the wrong file fails verification. Every read (Entries from the files, Open's scan)
// verifies checksum, version, decoding and index.
//
// The log starts after an index N > 0 (after ApplySnapshot at N) with a segment file
// named N whose first record is a dummy entry {Index: N, Term: snapshot term}; a new log
// has an empty segment file named 1 and its compaction point 0 (term 0) is implied. Log
// directories are opened with tidwall/wal's AllowEmpty. Entries at and below the
// compaction point may still be in the first segment file; they are never read (but are
// verified at Open).
//
// The state file holds what is not an entry:
//
//	magic "OCMQRFTS" | version uint16 LE (1) | epoch uint64 LE |
//	compaction index uint64 LE | compaction term uint64 LE |
//	len uint32 LE | raftpb.HardState | len uint32 LE | raftpb.ConfState |
//	len uint32 LE | raftpb.SnapshotMetadata (of the last ApplySnapshot) |
//	xxhash64 of all the preceding bytes, uint64 LE
//
// The epoch names the current log directory, wal-<epoch, 20 digits>. The state file is
// written as STATE.tmp, fsynced, renamed over STATE, and the directory fsynced; the rename
// is the atomic commit point of every state change.
//
// The commit hint file holds the latest HardState.Commit, 16 bytes:
//
//	commit uint64 LE | xxhash64("OCMQCMIT" | commit uint64 LE) uint64 LE
//
// # Durability
//
// An entry is durable, and may be acknowledged (counted in a quorum, answered in
// MsgAppResp), only once a Sync that followed its Append has returned nil. Sync covers
// everything appended before it. Per Sync:
//
//   - The segment file written to is fsynced (tidwall/wal itself fsyncs a segment before it
//     starts the next, so only the current one can hold unsynced data). tidwall/wal runs
//     with its own NoSync so that Append never fsyncs.
//   - The rule for directory fsyncs: the log directory is fsynced before Sync returns
//     whenever a segment file was created since the previous Sync. tidwall/wal creates
//     files silently (cycle()), so Storage tracks the size the current segment should
//     have; if it did not grow by exactly what was appended, tidwall/wal moved on to a new
//     file, and Sync lists the directory and fsyncs it. This is sufficient because an
//     entry counts only once Sync returned: a segment created but not yet written to can
//     vanish in a crash without losing anything, and the first Sync after something is
//     written to it notices it. Every other creation, removal or rename (truncation,
//     compaction, snapshot installation, state file replacement, recovery repairs) is
//     done by this package, not by tidwall/wal, and followed by a directory fsync before
//     the operation returns.
//   - HardState: a change of Term or Vote makes Sync replace the state file (after the
//     log fsync), so it is durable when Sync returns. A change of Commit alone costs no
//     fsync (Ready.MustSync is false for it): SetHardState overwrites the commit hint file
//     in place (one write at offset 0), and Commit is written along whenever the state file is
//     written (Term/Vote changes, SetConfState, Compact, ApplySnapshot, Close). A Ready
//     with entries costs one fsync when neither Term nor Vote changed. After a process
//     crash the hint gives the last Commit set; after a power loss Commit may be lower
//     (raft catches up), never above the recovered log. An application must therefore
//     pass raft.Config.Applied no larger than the recovered Commit (raft panics
//     otherwise) and skip re-delivered entries it has already applied.
//   - SetConfState, Compact and ApplySnapshot are durable when they return. The state
//     file is only written after the log is fsynced, so it never refers to entries that
//     are not durable.
//   - Conflicting suffixes (Append at an index <= LastIndex) are removed by this package,
//     not by tidwall/wal's TruncateBack (whose renames and removals have no directory
//     fsync in between): whole segments after the new end are removed newest first, each
//     removal made durable before the next, then the segment holding the new end is cut
//     and fsynced. A crash at any point leaves a contiguous log.
//   - Compact writes the new compaction point to the state file first, then removes the
//     segment files holding only entries below it, then fsyncs the directory.
//   - ApplySnapshot creates the next epoch's log directory holding the dummy record,
//     fsyncs it, then commits by replacing the state file (new epoch, compaction point,
//     ConfState, snapshot metadata, Commit >= snapshot index), then removes the old
//     directory.
//   - Any error from a write, fsync, truncation, rename, removal or directory fsync, and
//     any corruption found by a read, is fatal: the Storage latches it and every later
//     call returns it (errors.Is(err, ErrFailed), and the cause). An fsync is never
//     retried: on Linux a retried fsync can succeed after the kernel dropped the data.
//     Close and Open again to recover from what is actually on disk. Invalid arguments
//     (gaps, compacting past Commit, stale snapshots) return errors without latching.
//
// # Recovery
//
// Open reads the state file (a missing one in a directory holding no log means a new
// log; a missing or damaged one next to a log is corruption), then:
//
//   - Removes STATE.tmp (a state write that never reached its commit point), log
//     directories of older epochs (superseded by a committed ApplySnapshot), and a log
//     directory of a newer epoch if it holds no more than ApplySnapshot writes before its
//     commit point (otherwise Open fails).
//   - Removes the segment files that lie wholly below the compaction point (an
//     interrupted Compact: the state file, written first, says they are not needed).
//   - Verifies every remaining record of every segment file: framing, checksum, version,
//     decoding, index = position, non-decreasing terms, the term at the compaction point,
//     and that consecutive segment files are contiguous. Before tidwall/wal opens the
//     directory (it refuses a torn tail), Open parses the last segment itself.
//   - Torn tail (repaired): in the last segment file only, a final record whose length
//     field or payload crosses the end of the file, zero bytes from a record boundary to
//     the end of the file, or a complete final record whose payload is all zeros. The
//     file is truncated at the record boundary and fsynced, and the dropped bytes are
//     logged and reported in Stats().Recovery. They were never acknowledged: Sync fsyncs
//     everything before it, and tidwall/wal fsyncs a segment before starting the next.
//   - Corruption (Open fails with a *CorruptError naming the file, offset and index): a
//     complete record that does not verify anywhere, including the last one; any
//     incomplete or invalid record in a segment other than the last; an invalid length
//     field; a final record that crosses the end of the file while the bytes after its
//     length field form a valid record up to the end of the file, or a valid record
//     follows it (a damaged length field, not a torn write); gaps or overlaps between
//     segment files; tidwall/wal truncation leftovers (.START/.END/.TEMP); a state file
//     that fails its checksum; a Commit outside the stored log; a log that ends before
//     the compaction point.
//   - Last, raises the state file's Commit to the commit hint's, if the hint is intact
//     and the recovered log holds the entries it covers (it can be ahead of the log after
//     a power loss, since neither is synced when it is written; it is then ignored, and
//     reported). raft's Commit never decreases, so the hint is a lower bound of the true
//     commit index, and entries on disk at indexes up to it are the committed ones (a
//     conflicting suffix is removed durably before its replacement is written).
//
// Open never drops data that may have been acknowledged.
//
// # Concurrency
//
// The intended user is one goroutine, the node's Ready loop, which both calls the
// persistence methods and (through RawNode) the raft.Storage reads. Storage is
// nevertheless safe for concurrent use: a sync.RWMutex lets reads (InitialState,
// Entries, Term, FirstIndex, LastIndex, Snapshot, Stats) share it, and the mutating
// methods hold it exclusively, including across their fsyncs, so a reader waits for a
// Sync in progress. Entries returned are shared with the tail cache and must not be
// modified; entries passed to Append must not be modified afterwards.
//
// # Memory
//
// The tail cache (Options.CacheBytes) holds the most recent entries so that MsgApp to
// followers and committed entries are served without reading files; terms are indexed
// as one (index, term) pair per term change, so Term never reads files. tidwall/wal
// keeps the current segment file and up to two recently read ones in memory.
package raftlog
