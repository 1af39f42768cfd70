// Package segment is a durable, checksummed, segmented append-only log: the storage under
// every opencmq queue, its command journal and its recovery, and a small storage engine
// in its own right.
//
// A Log stores typed records (a type byte and an opaque payload) under dense sequence
// numbers (seqs): a new log's first record is seq 1 and each Append takes the next one.
// Records are appended to a write buffer, become durable through WaitDurable (group
// commit: concurrent waiters share one fsync), are read by seq (Read) or in order
// (Iterator), and leave the log from the front (DropBefore, for retention), from the back
// (TruncateFrom, for rollback) or all at once (Reset, for snapshot installation).
//
//	l, err := segment.Open(dir, segment.Options{})
//	seq, err := l.Append(typ, payload)
//	err = l.WaitDurable(seq)             // seq survives a crash from here on
//	typ, payload, err = l.Read(seq, nil)
//
// All file access goes through a vfs.FS, so tests can run the log on an in-memory file
// system that simulates power loss and I/O errors.
//
// # Format
//
// A log is a directory of segment files. Each is named after the seq of its first record,
// zero-padded to 20 digits so that names sort like numbers, and holds a header followed
// by record frames, back to back:
//
//	00000000000000000001.seg   seqs 1..1000        (sealed)
//	00000000000000001001.seg   seqs 1001..1733     (sealed)
//	00000000000000001734.seg   seqs 1734..         (active: receives appends)
//
//	segment header, 26 bytes:
//	+----------------+------------+------------------+----------------------------+
//	| magic (8)      | version    | first seq        | xxhash64 of bytes 0..17    |
//	| "OCMQSEG\x00"  | uint16 LE  | uint64 LE        | uint64 LE                  |
//	+----------------+------------+------------------+----------------------------+
//
//	record frame, 13 bytes + payload:
//	+-----------------+--------+-------------------------+----------------------+
//	| payload length  | type   | checksum                | payload              |
//	| uint32 LE (4)   | (1)    | uint64 LE (8)           | (length bytes)       |
//	+-----------------+--------+-------------------------+----------------------+
//	checksum = xxhash64(seq uint64 LE | length uint32 LE | type | payload)
//
// The constants are in format.go, marked as part of the on-disk format. Seqs are dense and
// not stored: the k-th record of a segment (from 0) has seq first+k, and the checksum
// covers the seq, so a frame read at the wrong position, or from the wrong file, fails
// verification. The number of records of a sealed segment follows from the next
// segment's name, so the whole log's shape is known from a directory listing.
//
// The header's first seq must equal the file name's; the version must be 1. A length
// above Options.MaxRecordBytes is never believed (nor allocated for).
//
// Each segment has a sparse index in memory: an entry (seq delta uint32, offset uint32)
// for its first record and then for the first record that starts IndexInterval or more
// bytes after the previous entry. Read finds the closest entry at or before the seq and
// reads forward with one bounded positioned read (about 2*IndexInterval bytes), never
// the whole segment.
//
// A Reset in progress leaves a file named <next, 20 digits>.reset (a bare segment
// header); see Recovery.
//
// # Durability
//
// Append only encodes the record into an in-memory write buffer. The buffer is written to
// the active segment file when it exceeds 256 KiB, when a reader needs a buffered record,
// and before every fsync. A record is durable once WaitDurable (or Sync) covering it has
// returned nil; DurableSeq reports how far that is.
//
// WaitDurable implements group commit without any goroutine of its own (an engine keeps
// thousands of logs open): a caller whose seq is not yet durable either joins the sync in
// progress (without taking the lock) or, if none is, becomes the syncer. The syncer first
// gathers its group: the previous fsync woke all its waiters at once, and if the first of
// them to come back synced at once, the others would miss that fsync and the appenders
// would settle into two alternating halves, each fsync carrying half of them. So the
// syncer releases the lock and yields the processor while appends keep arriving and
// fewer have joined than the previous sync released, bounded by a few yields in a row
// without progress and by the duration of the previous fsync (it reads the clock, it
// never sleeps). Then it notes the last appended seq, writes the buffer, calls
// File.Sync (fdatasync on Linux) with the lock released, marks everything up to the noted
// seq durable, releases the lock and wakes the group. Appends made during the fsync are
// covered by the next one. A syncer whose previous group held nobody else does not gather
// at all.
//
// Rules the implementation keeps, and which the crash tests check:
//   - A segment's header is synced, and its directory entry made durable (FS.SyncDir),
//     before any record is appended to it.
//   - When the active segment fills up (MaxSegmentBytes) it is synced in full before the
//     next segment is created, so only the last segment can ever have a torn tail.
//   - Every creation, removal or rename is followed by SyncDir before the operation
//     reports success or relies on it.
//   - An error from a write, fsync, truncation or directory operation latches: the log
//     fails, and every later Append, AppendBatch, Sync, WaitDurable, DropBefore,
//     TruncateFrom and Reset returns the error (errors.Is matches both ErrFailed and the
//     cause). A failed fsync is never retried, not even by Close: on Linux a retried
//     fsync can succeed after the kernel dropped the dirty data. Reads of what was written
//     keep working. Close and Open again to recover from the disk's actual state.
//   - AppendBatch is all-or-nothing when it returns, and written with one write; a crash
//     before it is durable may keep a prefix of it.
//
// # Recovery
//
// Open verifies every segment (with LazyOpen only the last one; a sealed segment is then
// verified on first access and a corrupt one fails that access). It distinguishes what a
// crash can legitimately leave behind, which it repairs, from corruption, which it
// refuses to guess about:
//
//   - Torn tail (repaired): in the last segment only, a final record whose header or
//     payload crosses the end of the file, or a run of zero bytes from a record boundary
//     to the end of the file. The file is truncated at the record boundary, the
//     truncation synced, and the dropped bytes reported in Stats().Recovered. Such bytes
//     were never acknowledged: WaitDurable returns only after they are synced, and a
//     sealed segment is synced before its successor exists.
//   - Torn header (repaired): a last segment file shorter than a header or all zeros,
//     left by a crash while it was being created. It holds no records (its header is
//     synced before any record is appended), so it is rewritten as an empty segment.
//   - Pending reset: a .reset file with a valid header means Reset committed; Open
//     removes the old segments and renames it into place. A torn one is removed.
//   - Corruption (Open fails with *CorruptError naming the file and offset): a complete
//     record with a bad checksum anywhere, including the last one of the last segment; a
//     length above MaxRecordBytes; any incomplete record in a sealed segment; a bad
//     header, version, or a header seq that disagrees with the file name; a sealed
//     segment holding more or fewer records than the next segment's name implies (a gap);
//     and a final frame that crosses the end of the file but would be whole and valid if
//     one bit of its length were cleared (a flipped length bit, not a torn write).
//
// Open never drops data that may have been acknowledged. An empty directory is a new log.
//
// # Concurrency
//
// A Log is safe for concurrent use. One mutex guards its in-memory state; it is never
// held across File.Sync by WaitDurable or by a segment roll, and never held while Read or
// an Iterator reads a file (they use positioned reads on shared handles). Appends are
// serialized; an append computes its checksum before taking the mutex. WaitDurable joins
// a pending sync and wakes from it through atomics and a channel, without the mutex:
// every lock acquisition between two fsyncs delays the next. DropBefore, TruncateFrom,
// Reset and Close wait for a running fsync and do their (rare) file-system work under the
// mutex.
//
// Segments are reference counted: the Log holds one reference and every reader, iterator
// or syncer using a segment's file holds another, so a segment removed by DropBefore,
// TruncateFrom or Reset keeps its file open until its last user is done. Each removal
// also changes an epoch counter; a reader whose read fails after the epoch changed looks
// its seq up again (and gets ErrNotFound if it is gone), and an iterator that sees the
// epoch change repositions. No reader ever returns bytes that were not, at some moment
// during its call, the stored record at its seq: the checksum includes the seq.
//
// An Iterator is for one goroutine. Records an iterator or Read asks for that are still in
// the write buffer are written to the file first.
//
// # Memory
//
//   - Index: 8 bytes per IndexInterval bytes of log, at least 8 per segment; for records of
//     size r that is about 8*r/IndexInterval bytes per record when r < IndexInterval, 8
//     bytes per record otherwise. 64 MiB of log with the default 4 KiB interval: 128 KiB.
//     With LazyOpen a sealed segment costs nothing until first accessed.
//   - Write buffer: taken from a shared pool at the first append after a flush and
//     returned at the flush (WaitDurable, Sync, a read of a buffered record, or 256 KiB
//     buffered); 256 KiB plus one batch at most (1 MiB plus one batch while a syncer
//     gathers its group). A log with nothing buffered holds none.
//   - Read: a pooled window of about 2*IndexInterval bytes per concurrent Read; the
//     payload goes into the caller's buffer when it fits.
//   - Iterator: a pooled 256 KiB window (bigger while it holds an outsized record),
//     given back whenever Next returns false, so a caught-up tailing iterator holds none.
//   - Open: a 1 MiB window (or the largest record) while verifying.
//   - File descriptors: one for the active segment, plus one per sealed segment that has
//     been read since Open (kept until it is dropped or the log closed).
package segment
