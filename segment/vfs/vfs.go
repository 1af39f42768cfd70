// Package vfs is the small file-system interface that every opencmq file goes through.
//
// Storage code never calls package os directly; it takes an FS. Production code uses
// Default (the real file system); tests use NewMem, an in-memory file system that can
// simulate a power loss: MemFS.CrashClone returns the state the disk could be in if the
// power failed now, where a file keeps the bytes that were synced plus a random prefix of
// the ones appended since, and a directory entry that was created, removed or renamed
// without a SyncDir may or may not have survived. MemFS.InjectError makes chosen
// operations fail, to test error paths.
//
// # Durability contract
//
// The interface mirrors what POSIX promises and no more:
//   - File.Sync makes the file's contents durable, not its directory entry.
//   - FS.SyncDir makes the entries of one directory (creations, removals, renames) durable.
//   - Nothing else is durable until one of the two has returned nil.
//
// Code that is correct against the crashable implementation is therefore correct on a real
// file system that keeps those promises.
package vfs

import (
	"errors"
	"io"
	"os"
)

// File is an open file. It is not safe for concurrent use except that ReadAt may be called
// concurrently with itself and with Write on the os implementation and the memory one.
type File interface {
	io.ReaderAt
	io.Writer
	io.Closer
	// Sync makes every byte written so far durable.
	Sync() error
	// Truncate changes the size of the file. Like a write, it is durable only after Sync.
	Truncate(size int64) error
	// Size reports the current size of the file.
	Size() (int64, error)
	// Seek sets the offset of the next Write (io.SeekStart, io.SeekCurrent or io.SeekEnd).
	Seek(offset int64, whence int) (int64, error)
}

// FS is the file-system interface used by opencmq storage.
type FS interface {
	// Create creates a new file for reading and writing; it fails if name exists.
	Create(name string) (File, error)
	// OpenRW opens an existing file for reading and writing.
	OpenRW(name string) (File, error)
	// Open opens an existing file read-only.
	Open(name string) (File, error)
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// RemoveAll removes a directory tree. Durable only after SyncDir of its parent.
	RemoveAll(name string) error
	// Rename renames a file, replacing newname if it exists.
	Rename(oldname, newname string) error
	// MkdirAll creates a directory and its parents. Durable only after SyncDir of each parent.
	MkdirAll(dir string) error
	// List returns the names (not paths) of the entries of dir, sorted.
	List(dir string) ([]string, error)
	// Stat reports whether name exists and its size.
	Stat(name string) (size int64, isDir bool, err error)
	// SyncDir makes the directory entries of dir durable.
	SyncDir(dir string) error
}

// ErrNotExist is returned (wrapped) when a file or directory does not exist.
// errors.Is(err, ErrNotExist) also holds for errors from the os implementation.
var ErrNotExist = os.ErrNotExist

// ErrExist is returned (wrapped) by Create when the file exists.
var ErrExist = os.ErrExist

// IsNotExist reports whether err says that a file does not exist.
func IsNotExist(err error) bool { return errors.Is(err, ErrNotExist) }
