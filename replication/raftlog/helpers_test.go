package raftlog

import (
	"bytes"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

func ent(index, term uint64, data []byte) *raftpb.Entry {
	return &raftpb.Entry{Index: new(index), Term: new(term), Type: raftpb.EntryNormal.Enum(), Data: data}
}

func hardState(term, vote, commit uint64) *raftpb.HardState {
	return &raftpb.HardState{Term: new(term), Vote: new(vote), Commit: new(commit)}
}

func testOptions(segSize int) Options {
	return Options{NoSync: true, SegmentSize: segSize, Logger: quietLogger}
}

func mustOpen(t testing.TB, dir string, opts Options) *Storage {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func randData(r *rand.Rand, max int) []byte {
	n := r.IntN(max + 1)
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// copyDir copies the storage directory src (two levels: files and wal-* directories) to
// a new temporary directory, like the disk after a process crash.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	var walk func(s, d string)
	walk = func(s, d string) {
		ents, err := os.ReadDir(s)
		must(t, err)
		for _, e := range ents {
			sp, dp := filepath.Join(s, e.Name()), filepath.Join(d, e.Name())
			if e.IsDir() {
				must(t, os.Mkdir(dp, 0o750))
				walk(sp, dp)
				continue
			}
			b, err := os.ReadFile(sp)
			must(t, err)
			must(t, os.WriteFile(dp, b, 0o640))
		}
	}
	walk(src, dst)
	return dst
}

// segmentsOf lists the segment files of the storage in dir.
func segmentsOf(t testing.TB, dir string) []segFile {
	t.Helper()
	st, err := decodeStateFile(dir)
	must(t, err)
	segs, err := (&Storage{fsys: vfs.Default}).listSegments(filepath.Join(dir, walDirName(st.epoch)))
	must(t, err)
	return segs
}

func decodeStateFile(dir string) (diskState, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return diskState{}, err
	}
	return decodeState(b)
}

// frameOffsets returns the start offsets of the frames of a segment file, plus its end.
func frameOffsets(t testing.TB, data []byte) []int {
	t.Helper()
	var offs []int
	off := 0
	for off < len(data) {
		offs = append(offs, off)
		_, next, st := parseFrame(data, off)
		if st != recOK {
			t.Fatalf("bad frame at %d", off)
		}
		off = next
	}
	return append(offs, off)
}

func entriesEqual(a, b *raftpb.Entry) bool {
	if !proto.Equal(a, b) {
		return false
	}
	ab, err1 := marshalOpts.Marshal(a)
	bb, err2 := marshalOpts.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ab, bb)
}

// checkTail verifies the white-box invariant Sync relies on: after a Sync, tailPath has
// tailSize bytes and every segment file after it is empty (tidwall/wal may have started a
// segment it has not written to yet; the next Sync after writing to it notices).
func checkTail(t testing.TB, s *Storage) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	segs, err := s.listSegments(s.walDir)
	must(t, err)
	seen := false
	for _, seg := range segs {
		fi, err := os.Stat(seg.path)
		must(t, err)
		switch {
		case seg.path == s.tailPath:
			seen = true
			if fi.Size() != s.tailSize {
				t.Fatalf("tail %s has %d bytes, tracked %d", seg.path, fi.Size(), s.tailSize)
			}
		case seen && fi.Size() != 0:
			t.Fatalf("segment %s (%d bytes) after the tracked tail %s", seg.path, fi.Size(), s.tailPath)
		}
	}
	if !seen {
		t.Fatalf("tracked tail %s not on disk", s.tailPath)
	}
}
