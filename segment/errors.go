package segment

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound is returned by Read (and reported by an Iterator) for a sequence number
	// that is not stored: below FirstSeq (never written, or removed by DropBefore or Reset)
	// or above LastSeq.
	ErrNotFound = errors.New("segment: record not found")

	// ErrClosed is returned by every method of a Log (and its iterators) after Close.
	ErrClosed = errors.New("segment: log closed")

	// ErrRecordTooLarge is returned by Append and AppendBatch for a payload longer than
	// Options.MaxRecordBytes, or a batch too large to fit in one segment file (4 GiB).
	ErrRecordTooLarge = errors.New("segment: record too large")

	// ErrOutOfRange is returned for a sequence number argument that the operation does not
	// accept: TruncateFrom outside FirstSeq..LastSeq+1, Reset(0), WaitDurable of a sequence
	// number that has not been appended (or was truncated away).
	ErrOutOfRange = errors.New("segment: sequence number out of range")

	// ErrCorrupt matches (with errors.Is) every *CorruptError.
	ErrCorrupt = errors.New("segment: corrupt log")

	// ErrFailed matches (with errors.Is) the error a Log returns once a write, sync or
	// directory operation has failed. The Log stays failed until it is closed and reopened;
	// the error also matches the original cause.
	ErrFailed = errors.New("segment: log failed")
)

// CorruptError reports data on disk that is not what this package wrote: a bad checksum,
// an impossible length, a damaged header, a gap between segment files. It is never
// returned for a torn tail (an incomplete final write after a crash), which recovery
// repairs instead.
type CorruptError struct {
	File   string // path of the segment file
	Offset int64  // byte offset in File where the damage was detected
	Detail string // what was wrong
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("segment: corrupt segment file %s at offset %d: %s", e.File, e.Offset, e.Detail)
}

// Is makes errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func corruptf(file string, off int64, format string, args ...any) *CorruptError {
	return &CorruptError{File: file, Offset: off, Detail: fmt.Sprintf(format, args...)}
}

// failedError is the latched error of a failed Log. It unwraps to the original cause so
// that errors.Is(err, cause) holds, and matches ErrFailed.
type failedError struct {
	op  string
	err error
}

func (e *failedError) Error() string {
	return fmt.Sprintf("segment: log failed (reopen to recover): %s: %v", e.op, e.err)
}
func (e *failedError) Unwrap() error        { return e.err }
func (e *failedError) Is(target error) bool { return target == ErrFailed }
