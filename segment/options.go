package segment

import (
	"fmt"

	"github.com/opencmq/opencmq/segment/vfs"
)

// Defaults for Options fields left zero.
const (
	MaxSegmentBytesDefault = 64 << 20
	IndexIntervalDefault   = 4096
	MaxRecordBytesDefault  = 64 << 20
)

// flushThreshold is the size at which the write buffer is written to the file without
// waiting for a sync: large enough to turn many small appends into one write(2), small
// enough that thousands of open logs do not pin much memory (buffers are pooled and only
// held between the first append and the next flush).
const flushThreshold = 256 << 10

// Options configure a Log. The zero value is valid and means the defaults.
type Options struct {
	// FS is the file system holding the log; nil means vfs.Default.
	FS vfs.FS
	// MaxSegmentBytes is the size, header included, beyond which the log rolls to a new
	// segment file before appending. A record or batch larger than this still goes in,
	// alone in its segment. 0 means MaxSegmentBytesDefault; at most 4 GiB - 1.
	MaxSegmentBytes int64
	// IndexInterval is the number of bytes between sparse index entries: Read costs a
	// positioned read of about 2*IndexInterval bytes and the index costs about
	// 8/IndexInterval bytes of RAM per stored byte. 0 means IndexIntervalDefault.
	IndexInterval int
	// MaxRecordBytes is the largest payload Append accepts and the largest length the
	// decoder believes; a stored record longer than this is reported as corruption, so
	// never reopen a log with a smaller value than it was written with. 0 means
	// MaxRecordBytesDefault; at most 1 GiB.
	MaxRecordBytes int
	// LazyOpen makes Open verify and index only the last segment. Sealed segments are
	// verified on first access, and a corrupt one then fails that access with a
	// *CorruptError instead of failing Open. Open's cost no longer grows with the log.
	LazyOpen bool
	// NoSync disables every File.Sync and FS.SyncDir: nothing is ever durable. For tests
	// and benchmarks only; Sync and WaitDurable still flush and report success.
	NoSync bool
}

func (o Options) normalize() (Options, error) {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.MaxSegmentBytes == 0 {
		o.MaxSegmentBytes = MaxSegmentBytesDefault
	}
	if o.IndexInterval == 0 {
		o.IndexInterval = IndexIntervalDefault
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = MaxRecordBytesDefault
	}
	switch {
	case o.MaxSegmentBytes < 0 || o.MaxSegmentBytes > maxSegmentFileBytes:
		return o, fmt.Errorf("segment: MaxSegmentBytes %d out of range (0, %d]", o.MaxSegmentBytes, int64(maxSegmentFileBytes))
	case o.IndexInterval < 0:
		return o, fmt.Errorf("segment: IndexInterval %d is negative", o.IndexInterval)
	case o.MaxRecordBytes < 0 || o.MaxRecordBytes > maxRecordBytesLimit:
		return o, fmt.Errorf("segment: MaxRecordBytes %d out of range (0, %d]", o.MaxRecordBytes, maxRecordBytesLimit)
	}
	return o, nil
}

// readChunk is the size of the positioned read Read starts with: the distance between two
// index entries plus a typical record.
func (o *Options) readChunk() int {
	return min(max(2*o.IndexInterval, 4096), 1<<20)
}
