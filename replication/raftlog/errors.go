package raftlog

import (
	"errors"
	"fmt"
)

var (
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("raftlog: storage closed")

	// ErrCorrupt matches (with errors.Is) every *CorruptError.
	ErrCorrupt = errors.New("raftlog: corrupt raft log")

	// ErrFailed matches (with errors.Is) the error a Storage returns once a write, fsync,
	// truncation or directory operation has failed, or a read found corruption. The
	// Storage stays failed until it is closed and opened again; the error also matches
	// the original cause (errors.Is / errors.As).
	ErrFailed = errors.New("raftlog: storage failed")
)

// CorruptError reports data on disk that this package did not write: a bad checksum, a
// record that does not decode, an entry stored at the wrong position, a gap between
// segment files, a damaged state file. It is never returned for a torn tail (an
// incomplete final write after a crash), which Open repairs instead.
type CorruptError struct {
	File   string // path of the damaged file
	Offset int64  // byte offset in File where the damage was detected (-1: unknown)
	Index  uint64 // raft index of the record concerned (0: none or unknown)
	Detail string // what was wrong
}

func (e *CorruptError) Error() string {
	s := fmt.Sprintf("raftlog: corrupt file %s", e.File)
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at offset %d", e.Offset)
	}
	if e.Index != 0 {
		s += fmt.Sprintf(" (raft index %d)", e.Index)
	}
	return s + ": " + e.Detail
}

// Is makes errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

func corruptf(file string, off int64, index uint64, format string, args ...any) *CorruptError {
	return &CorruptError{File: file, Offset: off, Index: index, Detail: fmt.Sprintf(format, args...)}
}

// failedError is the latched error of a failed Storage. It unwraps to the original cause
// and matches ErrFailed.
type failedError struct {
	op  string
	err error
}

func (e *failedError) Error() string {
	return fmt.Sprintf("raftlog: storage failed (close and reopen to recover): %s: %v", e.op, e.err)
}
func (e *failedError) Unwrap() error        { return e.err }
func (e *failedError) Is(target error) bool { return target == ErrFailed }
