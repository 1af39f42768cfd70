package segment

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
)

// faultFS wraps a MemFS hook that counts operations and fails the chosen ones once armed.
type faultFS struct {
	*vfs.MemFS
	armed  atomic.Bool
	failOp vfs.Op
	counts [vfs.OpClose + 1]atomic.Int64 // all calls, by op
	after  [vfs.OpClose + 1]atomic.Int64 // calls since the first injected failure
	failed atomic.Bool
}

func newFaultFS(op vfs.Op) *faultFS {
	f := &faultFS{MemFS: vfs.NewMem(), failOp: op}
	f.InjectError(func(op vfs.Op, path string) error {
		f.counts[op].Add(1)
		if f.failed.Load() {
			f.after[op].Add(1)
		}
		if f.armed.Load() && op == f.failOp {
			f.failed.Store(true)
			return vfs.ErrInjected
		}
		return nil
	})
	return f
}

// checkLatched asserts that every mutating call fails with the latched error.
func checkLatched(t *testing.T, l *Log, durableSeq uint64) {
	t.Helper()
	isLatched := func(name string, err error) {
		t.Helper()
		if !errors.Is(err, ErrFailed) || !errors.Is(err, vfs.ErrInjected) {
			t.Errorf("%s on a failed log: %v, want the latched error", name, err)
		}
	}
	_, err := l.Append(0, []byte("x"))
	isLatched("Append", err)
	_, err = l.AppendBatch(0, [][]byte{[]byte("x")})
	isLatched("AppendBatch", err)
	isLatched("Sync", l.Sync())
	isLatched("WaitDurable(last)", l.WaitDurable(l.LastSeq()))
	isLatched("WaitDurable(durable)", l.WaitDurable(durableSeq))
	isLatched("DropBefore", l.DropBefore(1))
	isLatched("TruncateFrom", l.TruncateFrom(l.FirstSeq()))
	isLatched("Reset", l.Reset(1))
	isLatched("Close", l.Close())
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

// TestSyncErrorLatches: a failed fsync fails WaitDurable, every later write and sync
// fails with it, and File.Sync is never called again (not even by Close).
func TestSyncErrorLatches(t *testing.T) {
	fs := newFaultFS(vfs.OpSync)
	l := mustOpen(t, fs, testDir, Options{})
	s1 := mustAppend(t, l, 0, []byte("durable"))
	if err := l.WaitDurable(s1); err != nil {
		t.Fatal(err)
	}
	s2 := mustAppend(t, l, 0, []byte("doomed"))
	fs.armed.Store(true)
	err := l.WaitDurable(s2)
	if !errors.Is(err, vfs.ErrInjected) || !errors.Is(err, ErrFailed) {
		t.Fatalf("WaitDurable: %v, want the injected error", err)
	}
	if l.DurableSeq() != s1 {
		t.Fatalf("DurableSeq %d after failed sync", l.DurableSeq())
	}
	// What was written can still be read.
	checkRecord(t, l, s1, 0, []byte("durable"))
	checkRecord(t, l, s2, 0, []byte("doomed"))
	checkLatched(t, l, s1)
	if n := fs.after[vfs.OpSync].Load(); n != 0 {
		t.Fatalf("File.Sync called %d more times after it failed", n)
	}
	if n := fs.after[vfs.OpWrite].Load(); n != 0 {
		t.Fatalf("%d writes after the failure", n)
	}
	// Reopening reads the disk as it is.
	fs.armed.Store(false)
	l = mustOpen(t, fs, testDir, Options{})
	defer l.Close()
	checkRecord(t, l, s1, 0, []byte("durable"))
}

// TestSyncErrorWakesAllWaiters: every goroutine waiting for the failed fsync (or arriving
// later) gets the error; none gets nil for a record that was not made durable.
func TestSyncErrorWakesAllWaiters(t *testing.T) {
	fs := newFaultFS(vfs.OpSync)
	l := mustOpen(t, fs, testDir, Options{})
	syncsBefore := fs.counts[vfs.OpSync].Load()
	fs.armed.Store(true)
	var wg sync.WaitGroup
	var nils atomic.Int64
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seq, err := l.Append(byte(g), []byte("r"))
			if err != nil {
				if !errors.Is(err, vfs.ErrInjected) {
					t.Errorf("Append: %v", err)
				}
				return
			}
			if err := l.WaitDurable(seq); err == nil {
				nils.Add(1)
			} else if !errors.Is(err, vfs.ErrInjected) {
				t.Errorf("WaitDurable: %v", err)
			}
		}()
	}
	wg.Wait()
	if nils.Load() != 0 {
		t.Fatalf("%d waiters were told their record is durable", nils.Load())
	}
	if n := fs.counts[vfs.OpSync].Load() - syncsBefore; n != 1 {
		t.Fatalf("File.Sync called %d times, want 1", n)
	}
	checkLatched(t, l, 0)
}

// TestWriteErrorLatches: a failed write (of the buffer, at sync time) latches too, and no
// fsync follows it.
func TestWriteErrorLatches(t *testing.T) {
	fs := newFaultFS(vfs.OpWrite)
	l := mustOpen(t, fs, testDir, Options{})
	mustAppend(t, l, 0, []byte("a"))
	fs.armed.Store(true)
	syncs := fs.counts[vfs.OpSync].Load()
	if err := l.Sync(); !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("Sync: %v", err)
	}
	if fs.counts[vfs.OpSync].Load() != syncs {
		t.Fatal("File.Sync called after a failed write")
	}
	// The buffered record cannot be read: it never reached the file.
	if _, _, err := l.Read(1, nil); !errors.Is(err, ErrFailed) {
		t.Fatalf("Read of the unwritten record: %v", err)
	}
	checkLatched(t, l, 0)
	if n := fs.after[vfs.OpSync].Load(); n != 0 {
		t.Fatalf("File.Sync called %d times after the failure", n)
	}
}

// TestFlushOnThresholdErrorLatches: Append itself reports the failed write when the
// buffer passes the flush threshold.
func TestFlushOnThresholdErrorLatches(t *testing.T) {
	fs := newFaultFS(vfs.OpWrite)
	l := mustOpen(t, fs, testDir, Options{})
	fs.armed.Store(true)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = l.Append(0, make([]byte, 1024))
	}
	if !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("Append: %v", err)
	}
	checkLatched(t, l, 0)
}

// TestRollErrorsLatch: the fsync of the sealed segment, the creation of the next one, its
// header write, its fsync and the directory sync can each fail during a roll; each
// latches the log.
func TestRollErrorsLatch(t *testing.T) {
	for _, op := range []vfs.Op{vfs.OpSync, vfs.OpCreate, vfs.OpWrite, vfs.OpSyncDir} {
		t.Run(op.String(), func(t *testing.T) {
			fs := newFaultFS(op)
			l := mustOpen(t, fs, testDir, Options{MaxSegmentBytes: 100})
			mustAppend(t, l, 0, make([]byte, 50))
			if op == vfs.OpWrite {
				if err := l.Sync(); err != nil { // flush now, so the roll's first write is the header
					t.Fatal(err)
				}
			}
			fs.armed.Store(true)
			if _, err := l.Append(0, make([]byte, 50)); !errors.Is(err, vfs.ErrInjected) {
				t.Fatalf("Append that rolls: %v", err)
			}
			checkLatched(t, l, 0)
			if n := fs.after[vfs.OpSync].Load(); n != 0 {
				t.Fatalf("File.Sync called %d times after the failure", n)
			}
			// The log reopens (a half-created last segment is torn, not corrupt).
			fs.armed.Store(false)
			l = mustOpen(t, fs, testDir, Options{MaxSegmentBytes: 100})
			defer l.Close()
			if l.LastSeq() != 1 {
				t.Fatalf("LastSeq %d", l.LastSeq())
			}
		})
	}
}

// TestStructuralErrorsLatch: failures of DropBefore, TruncateFrom and Reset latch.
func TestStructuralErrorsLatch(t *testing.T) {
	cases := []struct {
		name string
		op   vfs.Op
		call func(*Log) error
	}{
		{"drop/remove", vfs.OpRemove, func(l *Log) error { return l.DropBefore(5) }},
		{"drop/syncdir", vfs.OpSyncDir, func(l *Log) error { return l.DropBefore(5) }},
		{"truncate/truncate", vfs.OpTruncate, func(l *Log) error { return l.TruncateFrom(2) }},
		{"truncate/sync", vfs.OpSync, func(l *Log) error { return l.TruncateFrom(2) }},
		{"truncate/remove", vfs.OpRemove, func(l *Log) error { return l.TruncateFrom(2) }},
		{"reset/create", vfs.OpCreate, func(l *Log) error { return l.Reset(10) }},
		{"reset/syncdir", vfs.OpSyncDir, func(l *Log) error { return l.Reset(10) }},
		{"reset/rename", vfs.OpRename, func(l *Log) error { return l.Reset(10) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := newFaultFS(c.op)
			l := mustOpen(t, fs, testDir, Options{MaxSegmentBytes: 100})
			for range 6 {
				mustAppend(t, l, 0, make([]byte, 50)) // one per segment
			}
			fs.armed.Store(true)
			if err := c.call(l); !errors.Is(err, vfs.ErrInjected) {
				t.Fatalf("got %v", err)
			}
			checkLatched(t, l, 0)
			fs.armed.Store(false)
			l = mustOpen(t, fs, testDir, Options{MaxSegmentBytes: 100})
			l.Close()
		})
	}
}

// TestOpenErrors: I/O errors during Open are returned, not latched into a half-open log.
func TestOpenErrors(t *testing.T) {
	for _, op := range []vfs.Op{vfs.OpList, vfs.OpOpen, vfs.OpRead, vfs.OpMkdir, vfs.OpSyncDir, vfs.OpCreate, vfs.OpSync, vfs.OpTruncate} {
		t.Run(op.String(), func(t *testing.T) {
			fs := newFaultFS(op)
			if op != vfs.OpMkdir && op != vfs.OpCreate {
				l := mustOpen(t, fs, testDir, Options{MaxSegmentBytes: 100})
				for range 3 {
					mustAppend(t, l, 0, make([]byte, 50))
				}
				l.Close()
				if op == vfs.OpTruncate { // give Open a torn tail to truncate
					b := readFile(t, fs, segPath(testDir, 3))
					writeFile(t, fs, segPath(testDir, 3), b[:len(b)-1])
				}
			}
			fs.armed.Store(true)
			if _, err := Open(testDir, Options{FS: fs}); !errors.Is(err, vfs.ErrInjected) {
				t.Fatalf("Open: %v", err)
			}
		})
	}
}
