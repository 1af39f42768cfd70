// Package replication keeps three (or any odd number of) copies of an engine's state with
// etcd's raft library (go.etcd.io/raft/v3) and a raft log stored in tidwall/wal
// (subpackage raftlog).
//
// # Shape
//
// A Node runs one member of a raft group. It implements engine.Replicator: the engine hands
// it every command as a proposal; raft replicates it; once a majority has it fsynced, every
// member applies it to its own engine in log order. The member whose client proposed the
// command answers the client. Any member accepts requests: raft forwards a follower's
// proposals to the leader. A single-node server is a one-voter group on the same code path.
//
// # Durability
//
// The Ready loop persists entries and the hard state before sending the messages that
// depend on them, fsyncing once per Ready when raft says it must (MustSync): commands that
// arrive together share one fsync per replica. A storage error stops the node for good: it
// no longer votes or leads on a log it cannot trust, and says why.
//
// # Reads
//
// Reads are linearizable with raft's ReadIndex in ReadOnlySafe mode: the leader confirms it
// still leads with a round of heartbeats, and the reading member waits until it has applied
// up to the leader's commit index at that moment.
//
// # Snapshots and compaction
//
// The engine checkpoints itself; after each checkpoint the raft log is compacted behind it,
// keeping Config.CatchUpEntries entries for followers that lag a little. A follower that lags
// more receives a snapshot: raft's MsgSnap with the engine's state and messages streamed
// beside it on a connection of its own (engine.WriteSnapshot / RestoreSnapshot).
//
// # Membership
//
// AddNode and RemoveNode change the membership one change at a time (raft refuses a second
// change while one is pending). Ids are never reused: removed ids are remembered and refused.
package replication
