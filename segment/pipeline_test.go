package segment

import (
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
)

// gateFS wraps a MemFS so that a test can hold chosen File.Syncs in flight, decide what
// each returns, and check that the log never runs two fsyncs at once on one handle, nor
// more than maxSyncsInFlight on one file, nor an fsync on a closed handle.
type gateFS struct {
	*vfs.MemFS
	t *testing.T

	mu      sync.Mutex
	gate    func(n int) error // called before the n-th File.Sync since armed (from 1), unlocked
	armed   bool
	syncs   int            // File.Syncs since armed
	onFile  map[string]int // File.Syncs running, by path
	handles map[*gateFile]int
	maxOn   int // most File.Syncs seen running at once on one file
}

type gateFile struct {
	vfs.File
	fs     *gateFS
	path   string
	closed bool // guarded by fs.mu
}

func newGateFS(t *testing.T) *gateFS {
	return &gateFS{MemFS: vfs.NewMem(), t: t, onFile: map[string]int{}, handles: map[*gateFile]int{}}
}

// arm makes gate decide every later File.Sync: it may block, and an error it returns
// fails that Sync without syncing.
func (g *gateFS) arm(gate func(n int) error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, g.armed, g.syncs = gate, true, 0
}

func (g *gateFS) syncCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.syncs
}

func (g *gateFS) wrap(f vfs.File, path string, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &gateFile{File: f, fs: g, path: path}, nil
}

func (g *gateFS) Create(name string) (vfs.File, error) {
	f, err := g.MemFS.Create(name)
	return g.wrap(f, name, err)
}

func (g *gateFS) OpenRW(name string) (vfs.File, error) {
	f, err := g.MemFS.OpenRW(name)
	return g.wrap(f, name, err)
}

func (g *gateFS) Open(name string) (vfs.File, error) {
	f, err := g.MemFS.Open(name)
	return g.wrap(f, name, err)
}

func (f *gateFile) Sync() error {
	g := f.fs
	g.mu.Lock()
	if f.closed {
		g.t.Errorf("File.Sync of %s on a closed handle", f.path)
	}
	if g.handles[f] > 0 {
		g.t.Errorf("two File.Syncs at once on one handle of %s", f.path)
	}
	g.handles[f]++
	g.onFile[f.path]++
	g.maxOn = max(g.maxOn, g.onFile[f.path])
	if g.onFile[f.path] > maxSyncsInFlight {
		g.t.Errorf("%d File.Syncs at once on %s", g.onFile[f.path], f.path)
	}
	gate, n := g.gate, 0
	if g.armed {
		g.syncs++
		n = g.syncs
	}
	g.mu.Unlock()

	var err error
	if gate != nil {
		err = gate(n)
	}
	if err == nil {
		err = f.File.Sync()
	}

	g.mu.Lock()
	g.handles[f]--
	g.onFile[f.path]--
	g.mu.Unlock()
	return err
}

func (f *gateFile) Close() error {
	f.fs.mu.Lock()
	f.closed = true
	if f.fs.handles[f] > 0 {
		f.fs.t.Errorf("%s closed while its File.Sync runs", f.path)
	}
	f.fs.mu.Unlock()
	return f.File.Close()
}

// syncGate holds the first two File.Syncs after arming until released, each returning
// what the test says; later ones pass.
type syncGate struct {
	entered [2]chan struct{} // closed when Sync n+1 reaches the gate
	release [2]chan error    // Sync n+1 returns what is sent (nil: it syncs)
}

func newSyncGate() *syncGate {
	s := &syncGate{}
	for i := range s.entered {
		s.entered[i] = make(chan struct{})
		s.release[i] = make(chan error, 1)
	}
	return s
}

func (s *syncGate) gate(n int) error {
	if n < 1 || n > len(s.entered) {
		return nil
	}
	close(s.entered[n-1])
	return <-s.release[n-1]
}

// waitFor yields until cond (evaluated under l.mu) holds. Tests use it to reach a state,
// never to assert that something did not happen in time.
func waitFor(l *Log, cond func() bool) {
	for {
		l.mu.Lock()
		ok := cond()
		l.mu.Unlock()
		if ok {
			return
		}
		runtime.Gosched()
	}
}

// waitAsync runs WaitDurable(seq) in a goroutine and returns its result channel.
func waitAsync(l *Log, seq uint64) chan error {
	ch := make(chan error, 1)
	go func() { ch <- l.WaitDurable(seq) }()
	return ch
}

func pending(ch chan error) bool {
	select {
	case err := <-ch:
		ch <- err
		return false
	default:
		return true
	}
}

// twoSyncsInFlight appends records 1 and 2 and has WaitDurable(1) and WaitDurable(2)
// issue one group sync each, both held in the gate: the second issued while the first is
// in flight.
func twoSyncsInFlight(t *testing.T, o Options) (*gateFS, *Log, *syncGate, chan error, chan error) {
	fs := newGateFS(t)
	l := mustOpen(t, fs, testDir, o)
	gate := newSyncGate()
	fs.arm(gate.gate)
	t.Cleanup(func() {
		// A test that failed may have left syncs in the gate, and Close waits for them.
		for _, ch := range gate.release {
			select {
			case ch <- nil:
			default:
			}
		}
		l.Close()
	})
	s1 := mustAppend(t, l, 0, []byte("first"))
	w1 := waitAsync(l, s1)
	<-gate.entered[0]
	s2 := mustAppend(t, l, 0, []byte("second"))
	w2 := waitAsync(l, s2)
	<-gate.entered[1]
	return fs, l, gate, w1, w2
}

// TestPipelinedSyncsSettleInOrder: with two group syncs in flight, the second returning
// first raises nothing and wakes nobody; once the first returns, both settle.
func TestPipelinedSyncsSettleInOrder(t *testing.T) {
	fs, l, gate, w1, w2 := twoSyncsInFlight(t, Options{})
	gate.release[1] <- nil
	waitFor(l, func() bool { return l.nInFlight == 2 && l.inFlight[1].returned })
	if d := l.DurableSeq(); d != 0 {
		t.Fatalf("DurableSeq %d while the first sync is still in flight", d)
	}
	if !pending(w1) || !pending(w2) {
		t.Fatal("a waiter returned while the first sync is in flight")
	}
	gate.release[0] <- nil
	if err := <-w1; err != nil {
		t.Fatal(err)
	}
	if err := <-w2; err != nil {
		t.Fatal(err)
	}
	if d := l.DurableSeq(); d != 2 {
		t.Fatalf("DurableSeq %d, want 2", d)
	}
	if fs.maxOn != 2 {
		t.Fatalf("at most %d File.Syncs ran at once, want 2", fs.maxOn)
	}
	checkRecord(t, l, 2, 0, []byte("second"))
}

// TestPipelinedSyncFailure: when either of two syncs in flight fails, in whichever order
// they return, the log latches, nothing is reported durable, every waiter gets the error,
// and no File.Sync follows.
func TestPipelinedSyncFailure(t *testing.T) {
	for _, c := range []struct {
		name      string
		failFirst bool // the first sync fails (else the second)
		order     [2]int
	}{
		{"first-fails-after-second-succeeded", true, [2]int{1, 0}},
		{"first-fails-before-second-succeeds", true, [2]int{0, 1}},
		{"second-fails-before-first-succeeds", false, [2]int{1, 0}},
		{"second-fails-after-first-succeeded", false, [2]int{0, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs, l, gate, w1, w2 := twoSyncsInFlight(t, Options{})
			results := [2]error{nil, vfs.ErrInjected}
			if c.failFirst {
				results = [2]error{vfs.ErrInjected, nil}
			}
			gate.release[c.order[0]] <- results[c.order[0]]
			// Until it has returned: latched, settled, or (the second) returned unsettled.
			waitFor(l, func() bool { return l.failed != nil || l.nInFlight < 2 || l.inFlight[1].returned })
			gate.release[c.order[1]] <- results[c.order[1]]
			err1, err2 := <-w1, <-w2
			wantDurable := uint64(0)
			if !c.failFirst && c.order[0] == 0 {
				wantDurable = 1 // the first settled before the second failed
				if err1 != nil {
					t.Fatalf("WaitDurable(1): %v after its sync settled", err1)
				}
			} else if !errors.Is(err1, vfs.ErrInjected) {
				t.Fatalf("WaitDurable(1): %v, want the injected error", err1)
			}
			if !errors.Is(err2, vfs.ErrInjected) {
				t.Fatalf("WaitDurable(2): %v, want the injected error", err2)
			}
			if d := l.DurableSeq(); d != wantDurable {
				t.Fatalf("DurableSeq %d, want %d", d, wantDurable)
			}
			syncs := fs.syncCount()
			checkLatched(t, l, wantDurable)
			if n := fs.syncCount(); n != syncs {
				t.Fatalf("%d File.Syncs after the failure", n-syncs)
			}
		})
	}
}

// TestPipelinedSyncsAndStructuralChanges: a roll, Close, TruncateFrom, DropBefore and
// Reset called while two syncs are in flight wait for them (gateFS checks that no fsync
// overlaps another on its handle and that no handle is closed under one), and leave a
// log whose records are all there.
func TestPipelinedSyncsAndStructuralChanges(t *testing.T) {
	for _, c := range []struct {
		name string
		call func(*Log) error
	}{
		{"roll", func(l *Log) error { _, err := l.Append(0, make([]byte, 200)); return err }},
		{"close", func(l *Log) error { return l.Close() }},
		{"truncate", func(l *Log) error { return l.TruncateFrom(2) }},
		{"drop", func(l *Log) error { return l.DropBefore(2) }},
		{"reset", func(l *Log) error { return l.Reset(5) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs, l, gate, w1, w2 := twoSyncsInFlight(t, Options{MaxSegmentBytes: 200})
			done := make(chan error, 1)
			go func() { done <- c.call(l) }()
			for range 100 {
				runtime.Gosched() // let a call that does not wait show it
			}
			if !pending(done) {
				t.Fatalf("%s returned while two syncs were in flight", c.name)
			}
			gate.release[0] <- nil
			gate.release[1] <- nil
			for _, w := range []chan error{w1, w2, done} {
				err := <-w
				if c.name == "truncate" && w == w2 && errors.Is(err, ErrOutOfRange) {
					continue // record 2 may be gone by the time its waiter looks
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if c.name == "close" {
				l = mustOpen(t, fs, testDir, Options{MaxSegmentBytes: 200})
				defer l.Close()
			}
			if err := l.Sync(); err != nil {
				t.Fatal(err)
			}
			want := map[string]uint64{"roll": 3, "close": 2, "truncate": 1, "drop": 2, "reset": 4}[c.name]
			if l.LastSeq() != want || l.DurableSeq() != want {
				t.Fatalf("LastSeq %d, DurableSeq %d, want %d", l.LastSeq(), l.DurableSeq(), want)
			}
			if want >= 2 && c.name != "reset" {
				checkRecord(t, l, 2, 0, []byte("second"))
			}
		})
	}
}

// TestPipelinedSyncsStress runs the concurrent workload with fsyncs that yield before
// syncing, so that group syncs overlap all the time, with rolls, retention, readers and
// an iterator alongside; gateFS checks the fsync rules throughout.
func TestPipelinedSyncsStress(t *testing.T) {
	fs := newGateFS(t)
	fs.arm(func(int) error {
		for range 4 {
			runtime.Gosched()
		}
		return nil
	})
	concurrentWorkload(t, fs, testDir, Options{MaxSegmentBytes: 16 << 10, IndexInterval: 256}, 8, 150, 700)
	if fs.maxOn < 2 {
		t.Logf("syncs never overlapped (at most %d at once)", fs.maxOn)
	}
}
