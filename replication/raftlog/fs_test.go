package raftlog

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
	"go.etcd.io/raft/v3/raftpb"
)

// recordingFS is the real file system with every operation recorded ("op base-name"), and
// one operation that can be made to fail.
type recordingFS struct {
	vfs.FS
	mu     sync.Mutex
	ops    []string
	failOn string // "op base-name" to fail
}

var errRecorded = errors.New("recordingFS: injected")

func (r *recordingFS) note(op, path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := op + " " + filepath.Base(path)
	r.ops = append(r.ops, k)
	if k == r.failOn {
		return errRecorded
	}
	return nil
}

func (r *recordingFS) Create(name string) (vfs.File, error) {
	if err := r.note("create", name); err != nil {
		return nil, err
	}
	return r.FS.Create(name)
}

func (r *recordingFS) Rename(o, n string) error {
	if err := r.note("rename", o); err != nil {
		return err
	}
	return r.FS.Rename(o, n)
}

func (r *recordingFS) SyncDir(dir string) error {
	if err := r.note("syncdir", dir); err != nil {
		return err
	}
	return r.FS.SyncDir(dir)
}

func (r *recordingFS) Remove(name string) error {
	if err := r.note("remove", name); err != nil {
		return err
	}
	return r.FS.Remove(name)
}

func (r *recordingFS) has(k string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, op := range r.ops {
		if op == k {
			return true
		}
	}
	return false
}

// TestFileOperationsGoThroughFS checks that the state file, the commit hint, segment
// creation and directory fsyncs use Options.FS, and that a failure there latches.
func TestFileOperationsGoThroughFS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "raft")
	fsys := &recordingFS{FS: vfs.Default}
	opts := Options{SegmentSize: 4096, Logger: quietLogger, FS: fsys}
	s := mustOpen(t, dir, opts)
	must(t, s.Append([]*raftpb.Entry{ent(1, 1, []byte("a")), ent(2, 1, []byte("b"))}))
	must(t, s.SetHardState(hardState(1, 1, 2)))
	must(t, s.Sync())
	must(t, s.Compact(1))
	must(t, s.Close())
	for _, want := range []string{
		"create " + stateTmpFile, "rename " + stateTmpFile, "syncdir raft", "create " + commitFile,
		"create " + segmentName(1), "syncdir " + walDirName(1), "syncdir " + filepath.Base(filepath.Dir(dir)),
	} {
		if !fsys.has(want) {
			t.Errorf("no %q among the operations:\n%s", want, strings.Join(fsys.ops, "\n"))
		}
	}

	fsys.failOn = "rename " + stateTmpFile
	s = mustOpen(t, dir, opts)
	must(t, s.SetHardState(hardState(2, 1, 2))) // a term change: the next Sync writes the state file
	if err := s.Sync(); !errors.Is(err, ErrFailed) || !errors.Is(err, errRecorded) {
		t.Fatalf("Sync with a failing rename = %v", err)
	}
	if err := s.Append([]*raftpb.Entry{ent(3, 2, nil)}); !errors.Is(err, ErrFailed) {
		t.Fatalf("Append after the failure = %v, want the latched error", err)
	}
	s.Close()
}
