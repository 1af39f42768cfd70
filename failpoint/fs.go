//go:build chaos

package failpoint

import (
	"strings"

	"github.com/opencmq/opencmq/segment/vfs"
)

// WrapFS returns fs with the segment failpoints on it: SegmentCreate before a segment file
// is created, SegmentBeforeFsync and SegmentAfterFsync around File.Sync of a segment file
// (a file named *.seg). Wrapping twice wraps once.
func WrapFS(fs vfs.FS) vfs.FS {
	if _, ok := fs.(hookFS); ok {
		return fs
	}
	return hookFS{fs}
}

type hookFS struct{ vfs.FS }

func isSegment(name string) bool { return strings.HasSuffix(name, ".seg") }

func (h hookFS) Create(name string) (vfs.File, error) {
	if !isSegment(name) {
		return h.FS.Create(name)
	}
	if err := InjectAt(SegmentCreate, name); err != nil {
		return nil, err
	}
	f, err := h.FS.Create(name)
	return wrapFile(f, err, name)
}

func (h hookFS) OpenRW(name string) (vfs.File, error) {
	f, err := h.FS.OpenRW(name)
	if !isSegment(name) {
		return f, err
	}
	return wrapFile(f, err, name)
}

func wrapFile(f vfs.File, err error, name string) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return hookFile{f, name}, nil
}

type hookFile struct {
	vfs.File
	name string
}

func (f hookFile) Sync() error {
	if err := InjectAt(SegmentBeforeFsync, f.name); err != nil {
		return err
	}
	if err := f.File.Sync(); err != nil {
		return err
	}
	return InjectAt(SegmentAfterFsync, f.name)
}
