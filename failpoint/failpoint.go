// Package failpoint marks the dangerous moments of the server, so that tests and the chaos
// checker can crash or fail it exactly there: before and after the raft log is persisted,
// before and after a segment fsync, when a segment file is created (a roll), during a
// checkpoint, a snapshot save or install, a dead-letter move and a queue delete.
//
// A site calls Inject (or InjectAt, naming the file concerned) and treats a non-nil
// result as the failure of the storage operation it is about to do or has just done:
//
//	if err := failpoint.Inject(failpoint.CheckpointBeforeRename); err != nil {
//		return err
//	}
//
// In a normal build Inject is a constant nil: the compiler drops the call and the branch,
// so the points cost nothing. Only a build with the tag "chaos" (go test -tags chaos, go
// build -tags chaos) has the registry behind them, in the spirit of etcd's gofail:
//
//   - tests install a function per point with Set (it may capture a crash image of an
//     in-memory file system, count hits, or return an error to fail the operation);
//   - processes read the environment variable CMQ_FAILPOINTS at start, a comma-separated
//     list of name=term, where term is [P%][N*]action: action is one of panic, exit
//     (os.Exit(ExitCode) at once: no deferred function, no flush; what was written stays
//     in the page cache, like kill -9), error, sleep(ms) or off; P% fires with probability
//     P percent; N* fires at most N times. Example:
//     CMQ_FAILPOINTS='raftAfterSave=2%exit,segmentBeforeFsync=1*error'.
//
// WrapFS puts the segment points on a vfs.FS (it returns the FS unchanged in a normal
// build), so segment fsyncs and rolls are hooked without touching the segment package.
package failpoint

// Names of the failpoints. Every name is listed in All.
const (
	// RaftBeforeSave: a Ready is about to be persisted (entries, hard state, snapshot
	// metadata); its entries are not durable, nothing of it was sent or applied.
	RaftBeforeSave = "raftBeforeSave"
	// RaftAfterSave: the Ready is durable (fsynced if it had to be), its messages are
	// not sent and its committed entries not applied.
	RaftAfterSave = "raftAfterSave"

	// SegmentBeforeFsync and SegmentAfterFsync surround File.Sync of a segment file
	// (journal or queue log); the detail is the file's path.
	SegmentBeforeFsync = "segmentBeforeFsync"
	SegmentAfterFsync  = "segmentAfterFsync"
	// SegmentCreate: a segment file is about to be created (a roll, or a new log).
	SegmentCreate = "segmentCreate"

	// CheckpointBeforeWrite: the queue logs a checkpoint depends on are synced; the new
	// checkpoint file is not written yet.
	CheckpointBeforeWrite = "checkpointBeforeWrite"
	// CheckpointAfterWrite: the checkpoint is durable; the journal (or raft log) is not
	// yet cut behind it, nothing it makes unnecessary is removed yet.
	CheckpointAfterWrite = "checkpointAfterWrite"

	// SnapshotSave: a snapshot stream for a follower is half written (the state is
	// sent, the messages are not).
	SnapshotSave = "snapshotSave"
	// SnapshotReceived: a follower stored an incoming snapshot stream durably; raft has
	// not seen it yet.
	SnapshotReceived = "snapshotReceived"
	// SnapshotStaged: the snapshot is staged and durable (restore.done); the live state
	// is not switched yet.
	SnapshotStaged = "snapshotStaged"
	// SnapshotSwitch: the switch to a staged snapshot is half done (the queues are
	// switched, the checkpoint is not).
	SnapshotSwitch = "snapshotSwitch"

	// DeadLetterMove: inside the apply of a dead-letter move, after the message was
	// appended to the dead-letter queue and before it is deleted from its source.
	DeadLetterMove = "deadLetterMove"
	// QueueDelete: inside the apply of DeleteQueue, before the queue leaves the state.
	QueueDelete = "queueDelete"
	// QueueDirRemove: a durable checkpoint lists deleted queues; their directories are
	// about to be removed. The detail is the directory.
	QueueDirRemove = "queueDirRemove"
)

// All lists every failpoint name.
var All = []string{
	RaftBeforeSave, RaftAfterSave,
	SegmentBeforeFsync, SegmentAfterFsync, SegmentCreate,
	CheckpointBeforeWrite, CheckpointAfterWrite,
	SnapshotSave, SnapshotReceived, SnapshotStaged, SnapshotSwitch,
	DeadLetterMove, QueueDelete, QueueDirRemove,
}

// ExitCode is the status of a process stopped by the exit action.
const ExitCode = 86
