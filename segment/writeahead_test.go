package segment

import (
	"bytes"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencmq/opencmq/segment/vfs"
)

// The tests in this file hold a write ahead (Log.writeAhead) in flight and use the log
// meanwhile. A syncer only writes ahead while its sync is pending and gathering, which on
// a MemFS (fsyncs take no time, so there is nothing to gather for) never lasts; so they
// install the pending sync themselves and run writeAhead as the syncer would, with a
// gateFS holding its write(2) until they let it go. None of them depends on timing: a
// caller that should wait for the write ahead either does, or reads, writes or truncates
// the file in the wrong order, which the checks below see.

// gateFS is a MemFS whose next write, once armed, stops until release is closed.
type gateFS struct {
	*vfs.MemFS
	armed   atomic.Bool
	entered chan struct{} // receives when the gated write has started
	release chan struct{}
	writes  atomic.Int64 // writes started
}

func newGateFS() *gateFS {
	g := &gateFS{MemFS: vfs.NewMem(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	g.InjectError(func(op vfs.Op, path string) error {
		if op == vfs.OpWrite {
			g.writes.Add(1)
			if g.armed.CompareAndSwap(true, false) {
				g.entered <- struct{}{}
				<-g.release
			}
		}
		return nil
	})
	return g
}

// beginSync installs a pending, gathering sync as syncAndUnlock does, so that WaitDurable
// joins it and structural changes wait for it. The returned func ends it without an
// fsync (nothing becomes durable; its waiters look again).
func beginSync(t *testing.T, l *Log) (end func()) {
	t.Helper()
	p := &pendingSync{done: make(chan struct{})}
	p.gathering.Store(true)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending.Load() != nil || l.rollDone != nil {
		t.Fatal("beginSync: a sync or roll is running")
	}
	l.pending.Store(p)
	return func() {
		l.mu.Lock()
		p.gathering.Store(false)
		l.pending.Store(nil)
		l.mu.Unlock()
		close(p.done)
	}
}

// startWriteAhead begins a sync and a write ahead of the buffered frames, and returns once
// the write is in flight (held by g). finish lets the write go on and ends the sync; it
// also runs at cleanup, so that a test failing before it does not leave the log waiting
// (register the log's Close with t.Cleanup before calling this, not with defer).
func startWriteAhead(t *testing.T, l *Log, g *gateFS) (finish func()) {
	t.Helper()
	end := beginSync(t, l)
	g.armed.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.writeAhead()
	}()
	<-g.entered
	finish = sync.OnceFunc(func() {
		close(g.release)
		<-done
		end()
	})
	t.Cleanup(finish)
	return finish
}

// awaitParked returns once each of n callers under test is either parked on a channel
// inside Log.waitLocked or Log.WaitDurable, or done (counted in done).
func awaitParked(n int, done *atomic.Int32) {
	buf := make([]byte, 1<<20)
	for {
		parked := int(done.Load())
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "[chan receive") && (strings.Contains(g, "segment.(*Log).waitLocked") ||
				strings.Contains(g, "segment.(*Log).WaitDurable")) {
				parked++
			}
		}
		if parked >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// appendRange appends records from..to (payloadFor(seq, 1, size)) and checks their seqs.
func appendRange(t *testing.T, l *Log, from, to uint64, size int) {
	t.Helper()
	for seq := from; seq <= to; seq++ {
		if got := mustAppend(t, l, byte(seq), payloadFor(seq, 1, size)); got != seq {
			t.Fatalf("Append returned seq %d, want %d", got, seq)
		}
	}
}

// checkRange reads records from..to back, and iterates over them (and on, to the end of
// the log), against appendRange's payloads.
func checkRange(t *testing.T, l *Log, from, to uint64, size int) {
	t.Helper()
	for seq := from; seq <= to; seq++ {
		checkRecord(t, l, seq, byte(seq), payloadFor(seq, 1, size))
	}
	seqs, datas := collect(t, l, from)
	if len(seqs) < int(to-from+1) {
		t.Fatalf("iterated %d records from %d, want at least %d", len(seqs), from, to-from+1)
	}
	for i, seq := range seqs[:to-from+1] {
		if seq != from+uint64(i) || !bytes.Equal(datas[i], payloadFor(seq, 1, size)) {
			t.Fatalf("iterated record %d: seq %d or payload differs", from+uint64(i), seq)
		}
	}
}

// TestWriteAheadReadersWait: while a chunk is being written ahead, appends go on into a
// fresh buffer without writing (the file's tail belongs to the write ahead, even past the
// flush threshold), records already in the file read at once, and readers and iterators
// of records in the chunk or after it wait for the write and then find them.
func TestWriteAheadReadersWait(t *testing.T) {
	const size = 300
	g := newGateFS()
	l := mustOpen(t, g, testDir, Options{IndexInterval: 256})
	t.Cleanup(func() { l.Close() })
	appendRange(t, l, 1, 20, size)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	appendRange(t, l, 21, 60, size)
	finish := startWriteAhead(t, l, g)

	writes := g.writes.Load()
	const big = 100 << 10
	for seq := uint64(61); seq <= 72; seq++ { // past 4*flushThreshold
		mustAppend(t, l, byte(seq), payloadFor(seq, 1, big))
	}
	if n := g.writes.Load() - writes; n != 0 {
		t.Errorf("%d writes by appends while a write ahead was in flight", n)
	}
	checkRecord(t, l, 7, 7, payloadFor(7, 1, size)) // written before: no wait

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	var finished atomic.Int32
	read := func(seq uint64, n int) {
		defer wg.Done()
		defer finished.Add(1)
		_, data, err := l.Read(seq, nil)
		if err == nil && !bytes.Equal(data, payloadFor(seq, 1, n)) {
			err = errors.New("wrong payload")
		}
		if err != nil {
			errs <- err
		}
	}
	wg.Add(3)
	go read(21, size) // first record of the chunk
	go read(60, size) // last record of the chunk
	go read(72, big)  // in the buffer behind it
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer finished.Add(1)
		it := l.NewIterator(15)
		defer it.Close()
		for seq := uint64(15); seq <= 72; seq++ {
			if !it.Next() || it.Seq() != seq {
				errs <- errors.New("iterator stopped or skipped")
				return
			}
		}
	}()
	awaitParked(4, &finished)
	finish()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkRange(t, l, 1, 60, size)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, g, testDir, Options{IndexInterval: 256})
	checkRange(t, l, 1, 60, size)
	checkRecord(t, l, 72, 72, payloadFor(72, 1, big))
}

// TestWriteAheadBlocksStructuralChanges: a roll, TruncateFrom, Reset, Flush and
// WaitDurable that start while a chunk is being written ahead (with more records buffered
// behind it) wait for it; each leaves the log, and the files as Open finds them, as if it
// had run after the write.
func TestWriteAheadBlocksStructuralChanges(t *testing.T) {
	const size = 200
	o := Options{MaxSegmentBytes: 16 << 10, IndexInterval: 256}
	cases := []struct {
		name  string
		op    func(l *Log) error
		check func(t *testing.T, l *Log)
	}{
		{"roll", func(l *Log) error {
			_, err := l.Append(65, payloadFor(65, 1, 4000)) // does not fit: rolls
			return err
		}, func(t *testing.T, l *Log) {
			if l.Stats().Segments != 2 {
				t.Fatalf("%d segments after the roll, want 2", l.Stats().Segments)
			}
			checkRange(t, l, 1, 64, size)
			checkRecord(t, l, 65, 65, payloadFor(65, 1, 4000))
		}},
		{"TruncateFrom", func(l *Log) error { return l.TruncateFrom(40) }, func(t *testing.T, l *Log) {
			if l.LastSeq() != 39 {
				t.Fatalf("LastSeq %d after TruncateFrom(40)", l.LastSeq())
			}
			checkRange(t, l, 1, 39, size)
		}},
		{"Reset", func(l *Log) error { return l.Reset(100) }, func(t *testing.T, l *Log) {
			if l.FirstSeq() != 100 || l.LastSeq() != 99 {
				t.Fatalf("after Reset(100): FirstSeq %d, LastSeq %d", l.FirstSeq(), l.LastSeq())
			}
		}},
		{"Flush", func(l *Log) error { return l.Flush() }, func(t *testing.T, l *Log) {
			checkRange(t, l, 1, 64, size)
		}},
		{"WaitDurable", func(l *Log) error { return l.WaitDurable(50) }, func(t *testing.T, l *Log) {
			if l.DurableSeq() < 50 {
				t.Fatalf("DurableSeq %d after WaitDurable(50)", l.DurableSeq())
			}
			checkRange(t, l, 1, 64, size)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newGateFS()
			l := mustOpen(t, g, testDir, o)
			t.Cleanup(func() { l.Close() })
			// 60 records of 213 bytes: 12.8 KiB of the 16 KiB segment, the last 40 in
			// the chunk.
			appendRange(t, l, 1, 20, size)
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
			appendRange(t, l, 21, 60, size)
			finish := startWriteAhead(t, l, g)
			appendRange(t, l, 61, 64, size)
			errc := make(chan error, 1)
			var finished atomic.Int32
			go func() {
				err := c.op(l)
				finished.Add(1)
				errc <- err
			}()
			awaitParked(1, &finished)
			finish()
			if err := <-errc; err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			c.check(t, l)
			// A sealed segment is synced in full, after its last write.
			segs := segFiles(t, g, testDir)
			slices.Sort(segs)
			for _, name := range segs[:len(segs)-1] {
				path := filepath.Join(testDir, name)
				size, _, _ := g.Stat(path)
				if synced, err := g.SyncedSize(path); err != nil || synced != size {
					t.Fatalf("sealed segment %s: %d of %d bytes synced (%v)", name, synced, size, err)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, g, testDir, o)
			c.check(t, l)
		})
	}
}

// TestWriteAheadErrorLatches: a failed write ahead latches the log like a failed flush:
// the frames it could not write stay unreadable (the read reports the failure), written
// records still read, nothing is ever fsynced again, and everything else fails.
func TestWriteAheadErrorLatches(t *testing.T) {
	fs := newFaultFS(vfs.OpWrite)
	l := mustOpen(t, fs, testDir, Options{})
	appendRange(t, l, 1, 10, 100)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	appendRange(t, l, 11, 20, 100)
	end := beginSync(t, l)
	fs.armed.Store(true)
	l.writeAhead()
	end()
	if !fs.failed.Load() {
		t.Fatal("the write ahead did not write")
	}
	checkRecord(t, l, 5, 5, payloadFor(5, 1, 100))
	if _, _, err := l.Read(15, nil); !errors.Is(err, ErrFailed) || !errors.Is(err, vfs.ErrInjected) {
		t.Fatalf("Read of a record whose write ahead failed: %v", err)
	}
	checkLatched(t, l, 10)
	if n := fs.after[vfs.OpSync].Load(); n != 0 {
		t.Fatalf("File.Sync called %d times after the failure", n)
	}
}
