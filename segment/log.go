package segment

import (
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencmq/opencmq/segment/vfs"
)

// Log is a durable, checksummed, segmented append-only log of typed records numbered by
// dense sequence numbers. It is safe for concurrent use: appends are serialized, reads and
// iterations run in parallel with them and with each other, and WaitDurable callers share
// fsyncs (group commit) without any background goroutine.
type Log struct {
	dir  string
	fs   vfs.FS
	opts Options // normalized; immutable after Open

	// epoch changes (before any file is touched) whenever stored records are removed or
	// replaced: DropBefore, TruncateFrom, Reset. A reader that fails, or an iterator that
	// sees it change, re-resolves its position instead of trusting bytes it read.
	epoch atomic.Uint64

	// The following are written under mu and also read without it.

	// durable: every record <= durable is on stable storage; durable <= next-1.
	durable atomic.Uint64
	// nextSeq mirrors next.
	nextSeq atomic.Uint64
	// broken is set when the log fails or closes, so that the lock-free paths of
	// WaitDurable never report success on a failed or closed log.
	broken atomic.Bool
	// pending is the sync in progress (gathering its group, or in File.Sync with mu
	// released), or nil; at most one at a time. WaitDurable joins it without mu, so that
	// joining a group and waking from it take no lock (every lock acquisition on the path
	// between two fsyncs delays the next one).
	pending atomic.Pointer[pendingSync]

	mu sync.Mutex

	// Everything below is guarded by mu.

	// segs is in ascending first-seq order with no gaps: segs[i].first+segs[i].count ==
	// segs[i+1].first. The last one is the active segment, which receives appends and may
	// be empty; every other one (sealed) holds at least one record and is durable in full.
	// Empty only in a log that failed during Reset.
	segs []*segment
	// buf holds the frames of records bufSeq..next-1, not yet written to the active
	// segment; they belong at its file offset flushed. bufp is its pool handle (nil when
	// buf is not pooled).
	buf    []byte
	bufp   *[]byte
	bufSeq uint64
	// next is the seq of the next Append: LastSeq()+1.
	next uint64
	// expect is how many goroutines the last sync released (its waiters and its syncer):
	// the size the next group can reach if they all come back (see syncAndUnlock).
	expect int32
	// lastSync is how long the last File.Sync of a group commit took.
	lastSync time.Duration
	// rollDone is non-nil while an appender seals the active segment and creates the next
	// one with mu released; closed when that ends. Appends, syncs and structural changes
	// wait for it.
	rollDone chan struct{}
	// failed is the latched *failedError after a write-path I/O error; never cleared.
	failed error
	closed bool
	// recovered is what Open repaired.
	recovered RecoveryReport
}

// pendingSync is one group commit.
type pendingSync struct {
	done      chan struct{} // closed when the sync ends, after durable was updated
	gathering atomic.Bool   // the syncer has not fixed its target yet
	joined    atomic.Int32  // waiters that arrived while gathering
	late      atomic.Int32  // waiters that arrived after
}

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, flushThreshold+64<<10)
	return &b
}}

func (l *Log) path(name string) string { return filepath.Join(l.dir, name) }

func (l *Log) active() *segment { return l.segs[len(l.segs)-1] }

// findLocked returns the segment that holds (or would hold) seq >= segs[0].first.
func (l *Log) findLocked(seq uint64) *segment {
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].first > seq }) - 1
	return l.segs[max(i, 0)]
}

// firstSeqLocked returns FirstSeq. Segs is empty only in a log that failed in the middle
// of Reset, after its commit point: then the log is logically reset to next.
func (l *Log) firstSeqLocked() uint64 {
	if len(l.segs) == 0 {
		return l.next
	}
	return l.segs[0].first
}

// failLocked latches err: from now on every write, sync and structural change returns
// the latched error. File.Sync is never retried after a failure: on Linux a failed fsync
// may have dropped the dirty pages, and a retry would then "succeed" without them.
func (l *Log) failLocked(op string, err error) error {
	if l.failed == nil {
		l.failed = &failedError{op: op, err: err}
		l.broken.Store(true)
	}
	return l.failed
}

// usableLocked returns the error every mutating call must return on a closed or failed log.
func (l *Log) usableLocked() error {
	if l.closed {
		return ErrClosed
	}
	return l.failed
}

// waitIdleLocked waits until no sync or roll has mu released: structural changes
// (DropBefore, TruncateFrom, Reset, Close) need the files to themselves.
func (l *Log) waitIdleLocked() {
	for {
		ch := l.rollDone
		if p := l.pending.Load(); p != nil {
			ch = p.done
		}
		if ch == nil {
			return
		}
		l.waitLocked(ch)
	}
}

// waitLocked waits for ch to be closed with mu released.
func (l *Log) waitLocked(ch chan struct{}) {
	l.mu.Unlock()
	<-ch
	l.mu.Lock()
}

func (l *Log) syncFile(f vfs.File) error {
	if l.opts.NoSync {
		return nil
	}
	return f.Sync()
}

func (l *Log) syncDir() error {
	if l.opts.NoSync {
		return nil
	}
	return l.fs.SyncDir(l.dir)
}

// createSegment creates the segment file for first with its header durable, and its
// directory entry durable, before any record can be appended to it: a segment file that
// holds records therefore always has a valid header and survives a crash.
func (l *Log) createSegment(first uint64) (*segment, error) {
	path := l.path(segmentName(first))
	f, err := l.fs.Create(path)
	if err != nil {
		return nil, err
	}
	if _, err = f.Write(encodeHeader(first)); err == nil {
		if err = l.syncFile(f); err == nil {
			err = l.syncDir()
		}
	}
	if err != nil {
		f.Close() // the file stays; Open treats a torn last segment header as empty
		return nil, err
	}
	s := newSegment(first, path)
	s.f, s.wf = f, f
	s.size, s.flushed, s.scanned = headerSize, headerSize, true
	return s, nil
}

// Append appends one record of type typ and returns its seq. data is copied; the caller
// may reuse it at once. The record is readable immediately but durable only after
// WaitDurable(seq) (or Sync) returns nil. Errors: ErrRecordTooLarge, ErrClosed, or the
// latched error of a failed log.
func (l *Log) Append(typ byte, data []byte) (seq uint64, err error) {
	if len(data) > l.opts.MaxRecordBytes {
		return 0, ErrRecordTooLarge
	}
	// The checksum covers the seq, which only mu decides. Compute it before taking mu, for
	// the seq this record gets unless another append takes it first, so that mu covers
	// only the copy: with hundreds of appenders, mu is what they queue on.
	guess := l.nextSeq.Load()
	sum := recordChecksum(guess, uint32(len(data)), typ, data)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.prepareAppendLocked(frameHeaderSize + int64(len(data))); err != nil {
		return 0, err
	}
	seq = l.appendLocked(typ, data, guess, sum)
	if l.bufFullLocked() {
		if err := l.flushLocked(); err != nil {
			return 0, err
		}
	}
	return seq, nil
}

// AppendBatch appends recs as records first..first+len(recs)-1, all of type typ, in one
// write: either every record is appended or (on error) none is. The slices are copied.
// The batch goes into one segment (rolling first if it does not fit in the active one).
// After a crash, a batch that was not yet durable may survive only in part (a prefix);
// once WaitDurable(first+len(recs)-1) returned nil it survives whole. An empty batch
// appends nothing and returns LastSeq()+1. Errors as for Append.
func (l *Log) AppendBatch(typ byte, recs [][]byte) (first uint64, err error) {
	total := int64(0)
	for _, r := range recs {
		if len(r) > l.opts.MaxRecordBytes {
			return 0, ErrRecordTooLarge
		}
		total += frameHeaderSize + int64(len(r))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(recs) == 0 {
		return l.next, l.usableLocked()
	}
	if err := l.prepareAppendLocked(total); err != nil {
		return 0, err
	}
	first = l.next
	l.reserveLocked(int(total))
	for _, r := range recs {
		l.appendLocked(typ, r, 0, 0)
	}
	if l.bufFullLocked() {
		if err := l.flushLocked(); err != nil {
			return 0, err
		}
	}
	return first, nil
}

// reserveLocked makes room for n more bytes in the write buffer with one allocation at
// most, so a large batch does not grow it step by step.
func (l *Log) reserveLocked(n int) {
	if l.bufp == nil {
		l.bufp = bufPool.Get().(*[]byte)
		l.buf = (*l.bufp)[:0]
	}
	if cap(l.buf)-len(l.buf) < n {
		grown := make([]byte, len(l.buf), len(l.buf)+n)
		copy(grown, l.buf)
		l.buf = grown
	}
}

// prepareAppendLocked waits out a roll and rolls if need more bytes do not fit in the
// active segment.
func (l *Log) prepareAppendLocked(need int64) error {
	if headerSize+need > maxSegmentFileBytes {
		return ErrRecordTooLarge
	}
	for {
		if err := l.usableLocked(); err != nil {
			return err
		}
		if l.rollDone != nil {
			l.waitLocked(l.rollDone)
			continue
		}
		a := l.active()
		if a.count > 0 && a.size+need > l.opts.MaxSegmentBytes {
			if err := l.rollLocked(); err != nil {
				return err
			}
			continue
		}
		return nil
	}
}

// bufFullLocked reports whether the write buffer should be written now. While a syncer
// gathers its group it is about to write the buffer anyway: a write by an appender
// meanwhile would hold mu through write(2) and stall the rest of the group.
func (l *Log) bufFullLocked() bool {
	if len(l.buf) < flushThreshold {
		return false
	}
	if p := l.pending.Load(); p != nil && p.gathering.Load() {
		return len(l.buf) >= 4*flushThreshold
	}
	return true
}

// appendLocked encodes one record into the write buffer and returns its seq. sum is its
// checksum if it gets seq sumSeq (0, which no record has, if not computed).
func (l *Log) appendLocked(typ byte, data []byte, sumSeq, sum uint64) uint64 {
	if l.bufp == nil {
		l.bufp = bufPool.Get().(*[]byte)
		l.buf = (*l.bufp)[:0]
	}
	seq := l.next
	a := l.active()
	a.addIndex(seq, a.size, l.opts.IndexInterval)
	if seq != sumSeq {
		sum = recordChecksum(seq, uint32(len(data)), typ, data)
	}
	l.buf = appendFrameSum(l.buf, typ, data, sum)
	a.size += frameHeaderSize + int64(len(data))
	a.count++
	l.next++
	l.nextSeq.Store(l.next)
	return seq
}

// flushLocked writes the write buffer to the active segment file.
func (l *Log) flushLocked() error {
	if l.failed != nil {
		return l.failed
	}
	if len(l.buf) == 0 {
		return nil
	}
	a := l.active()
	if _, err := a.wf.Write(l.buf); err != nil {
		return l.failLocked("write "+a.path, err)
	}
	a.flushed += int64(len(l.buf))
	l.bufSeq = l.next
	l.dropBufLocked()
	return nil
}

// dropBufLocked empties the write buffer and returns it to the pool.
func (l *Log) dropBufLocked() {
	if l.bufp != nil {
		if cap(l.buf) <= 4*flushThreshold {
			*l.bufp = l.buf[:0]
			bufPool.Put(l.bufp)
		}
		l.buf, l.bufp = nil, nil
	}
}

// rollLocked seals the active segment and creates the next one. The sealed segment is
// synced before the new file exists, so a crash can never leave a torn record anywhere
// but in the last segment. mu is released for the I/O; appenders wait on rollDone.
func (l *Log) rollLocked() error {
	if err := l.flushLocked(); err != nil {
		return err
	}
	old := l.active()
	oldLast, wf := l.next-1, old.wf
	old.acquire()
	done := make(chan struct{})
	l.rollDone = done
	l.mu.Unlock()

	err := l.syncFile(wf)
	op := "sync " + old.path
	var s *segment
	if err == nil {
		op = "create segment"
		s, err = l.createSegment(oldLast + 1)
	}
	old.release()

	l.mu.Lock()
	l.rollDone = nil
	defer close(done)
	if err != nil {
		return l.failLocked(op, err)
	}
	l.segs = append(l.segs, s)
	l.bufSeq = l.next
	l.setDurableLocked(oldLast)
	return nil
}

// setDurableLocked raises durable to seq.
func (l *Log) setDurableLocked(seq uint64) {
	if seq > l.durable.Load() {
		l.durable.Store(seq)
	}
}

// WaitDurable returns nil once every record <= seq is on stable storage (fsynced), which
// it brings about itself if needed: concurrent callers share one fsync, and appends made
// while an fsync runs are covered by the next one (group commit). Errors: the latched
// error of a failed log (including the one this call's fsync produced), ErrClosed,
// ErrOutOfRange if seq > LastSeq (never appended, or removed by TruncateFrom/Reset while
// waiting).
func (l *Log) WaitDurable(seq uint64) error {
	// Fast path, without mu: already durable, or join the sync in progress. Its target
	// covers every record appended before it fixes it, so a record appended before this
	// call is covered unless the target was already fixed; then the loop comes back.
	for !l.broken.Load() {
		if seq <= l.durable.Load() {
			return nil
		}
		p := l.pending.Load()
		if p == nil || seq >= l.nextSeq.Load() {
			break
		}
		if p.gathering.Load() {
			p.joined.Add(1)
		} else {
			p.late.Add(1)
		}
		<-p.done
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	for {
		var err error
		switch {
		case l.failed != nil:
			err = l.failed
		case seq <= l.durable.Load():
		case l.closed:
			err = ErrClosed
		case seq >= l.next:
			err = fmt.Errorf("%w: WaitDurable(%d) but LastSeq is %d", ErrOutOfRange, seq, l.next-1)
		case l.pending.Load() != nil || l.rollDone != nil:
			ch := l.rollDone
			if p := l.pending.Load(); p != nil {
				ch = p.done
				if p.gathering.Load() {
					p.joined.Add(1)
				} else {
					p.late.Add(1)
				}
			}
			l.mu.Unlock()
			<-ch
			if seq <= l.durable.Load() && !l.broken.Load() {
				return nil // the usual wake-up: no lock taken
			}
			l.mu.Lock()
			continue
		default:
			return l.syncAndUnlock() // seq < next: this sync covers it
		}
		l.mu.Unlock()
		return err
	}
}

// Flush writes the buffered records to the active segment file without syncing them, and
// gives the write buffer back to the pool. A log that is appended to but rarely synced
// (one of many, synced at checkpoints) calls it to hold no buffer between batches. Errors:
// ErrClosed, or the error of a failed log (a write error fails the log).
func (l *Log) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usableLocked(); err != nil {
		return err
	}
	return l.flushLocked()
}

// Sync makes every record appended before the call durable: WaitDurable(LastSeq()).
func (l *Log) Sync() error {
	l.mu.Lock()
	last := l.next - 1
	l.mu.Unlock()
	return l.WaitDurable(last)
}

// Gathering limits: a syncer stops yielding after gatherIdleYields yields in a row that
// brought no new record, after maxGatherYields in all, or once it has gathered for as
// long as the previous fsync took, whichever comes first. The time bound keeps a
// saturated CPU (where each yield may run other goroutines for a whole time slice) from
// turning gathering into latency; it reads the clock but never waits on it. It is one
// whole fsync, not less: with hundreds of appenders, waking them all takes a good part of
// an fsync on two cores, and a group cut short splits the appenders into two groups that
// each wait for the other's fsync (BenchmarkGroupCommitVsRaw at 256 appenders: 0.69 of
// the raw rate with half an fsync, 0.77 with a whole one, measured in alternating runs).
const (
	maxGatherYields  = 256
	gatherIdleYields = 8
)

// syncAndUnlock makes every record appended so far durable: flush, then File.Sync of the
// active segment with mu released. The caller holds mu and checked that no sync or roll
// is running; mu is released on return. The group is woken after that: closing p.done
// readies every waiter, which takes a while with hundreds, and those that run at once
// on another processor should not find mu held.
func (l *Log) syncAndUnlock() error {
	if l.opts.NoSync {
		defer l.mu.Unlock()
		target := l.next - 1
		if err := l.flushLocked(); err != nil {
			return err
		}
		l.setDurableLocked(target)
		return nil
	}
	p := &pendingSync{done: make(chan struct{})}
	p.gathering.Store(true)
	l.pending.Store(p)
	// Gather the group. The previous fsync woke all its waiters at once; most of them
	// append again within microseconds, but the first one back becomes the syncer before
	// the others have run. Syncing at once would cover only the few appended so far and
	// leave the rest for the fsync after, splitting the appenders into two alternating
	// halves that each get half the fsyncs. So release mu and yield the processor (no
	// timer: a yield costs well under a microsecond, an fsync hundreds) while appends keep
	// coming in, and while fewer have joined than the last sync released (those may be
	// queued on another processor or on mu). The syncer watches through atomics: taking
	// mu between yields would let it barge ahead of the appenders queued on mu, again and
	// again, and see no progress. Appenders append, find this sync pending, and wait.
	expect, budget := l.expect, l.lastSync
	start := time.Now()
	l.mu.Unlock()
	// With nobody else in the last group there is nobody to wait for; even one yield
	// costs a few microseconds when it moves the syncer to another thread.
	for i, idle := 0, 0; i < maxGatherYields && expect > 1; i++ {
		if idle >= gatherIdleYields || idle > 0 && p.joined.Load()+1 >= expect ||
			l.broken.Load() || time.Since(start) > budget {
			break
		}
		n := l.nextSeq.Load()
		runtime.Gosched()
		if l.nextSeq.Load() == n {
			idle++
		} else {
			idle = 0
		}
	}
	l.mu.Lock()
	p.gathering.Store(false)
	target := l.next - 1
	err := l.flushLocked()
	a := l.active()
	if err == nil {
		wf := a.wf
		a.acquire()
		l.mu.Unlock()
		began := time.Now()
		err = wf.Sync()
		took := time.Since(began)
		a.release()
		l.mu.Lock()
		l.lastSync = took
		if err != nil {
			err = l.failLocked("sync "+a.path, err)
		}
	}
	if err == nil {
		l.setDurableLocked(target)
	}
	l.expect = p.joined.Load() + p.late.Load() + 1
	l.pending.Store(nil)
	l.mu.Unlock()
	close(p.done)
	return err
}

// FirstSeq returns the seq of the first stored record, or LastSeq()+1 if none is stored.
func (l *Log) FirstSeq() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.firstSeqLocked()
}

// LastSeq returns the seq of the last appended record: 0 for a new log, and the seq before
// the next one to be appended after TruncateFrom or Reset.
func (l *Log) LastSeq() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next - 1
}

// DurableSeq returns the seq up to which every record is known to be durable.
func (l *Log) DurableSeq() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.durable.Load()
}

// Stats describes a Log at one moment.
type Stats struct {
	Segments   int   // segment files
	Bytes      int64 // total size of the segments, including appended bytes not yet written
	FirstSeq   uint64
	LastSeq    uint64
	DurableSeq uint64
	Recovered  RecoveryReport // what Open repaired
}

// Stats returns a consistent snapshot of the log's counters.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := Stats{
		Segments:   len(l.segs),
		FirstSeq:   l.firstSeqLocked(),
		LastSeq:    l.next - 1,
		DurableSeq: l.durable.Load(),
		Recovered:  l.recovered,
	}
	for _, s := range l.segs {
		st.Bytes += s.size
	}
	return st
}

// DropBefore removes, oldest first, every sealed segment whose records all have seqs
// below seq; it never removes the active segment, so records >= the active segment's
// first seq stay whatever seq is. FirstSeq becomes the first seq of the oldest remaining
// segment. Readers and iterators positioned on a removed segment get ErrNotFound (or
// finish reading it); they never see another file's bytes. Each removal is made durable
// before the next, so a crash leaves a log missing a prefix, never one with a gap.
func (l *Log) DropBefore(seq uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waitIdleLocked()
	if err := l.usableLocked(); err != nil {
		return err
	}
	for len(l.segs) > 1 && l.segs[1].first <= seq {
		s := l.segs[0]
		l.epoch.Add(1)
		if err := l.fs.Remove(s.path); err != nil {
			return l.failLocked("remove "+s.path, err)
		}
		l.segs = l.segs[1:]
		s.release()
		if err := l.syncDir(); err != nil {
			return l.failLocked("sync dir", err)
		}
	}
	return nil
}

// TruncateFrom removes every record >= seq; the next Append gets seq. It requires
// FirstSeq() <= seq <= LastSeq()+1 (else ErrOutOfRange; seq == LastSeq()+1 is a no-op).
// Later segments are removed newest first, each removal durable before the next, and the
// segment holding seq is cut and synced, so a crash leaves the log either as it was or
// truncated at some point >= seq. Afterwards DurableSeq() == seq-1.
func (l *Log) TruncateFrom(seq uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waitIdleLocked()
	if err := l.usableLocked(); err != nil {
		return err
	}
	if seq < l.firstSeqLocked() || seq > l.next {
		return fmt.Errorf("%w: TruncateFrom(%d) outside [%d, %d]", ErrOutOfRange, seq, l.firstSeqLocked(), l.next)
	}
	if seq == l.next {
		return nil
	}
	if err := l.flushLocked(); err != nil {
		return err
	}
	// Find where seq starts before changing anything: verifying a lazily opened segment
	// can fail, and must then leave the log as it was.
	s := l.findLocked(seq)
	if !s.scanned {
		if err := l.scanLocked(s); err != nil {
			return err
		}
	}
	off, err := l.offsetLocked(s, seq)
	if err != nil {
		return err
	}
	l.epoch.Add(1)
	for l.active() != s {
		a := l.active()
		if err := l.fs.Remove(a.path); err != nil {
			return l.failLocked("remove "+a.path, err)
		}
		l.segs = l.segs[:len(l.segs)-1]
		a.release()
		if err := l.syncDir(); err != nil {
			return l.failLocked("sync dir", err)
		}
	}
	// The segment holding seq is now the active one.
	if s.wf == nil {
		f, err := l.fs.OpenRW(s.path)
		if err != nil {
			return l.failLocked("open "+s.path, err)
		}
		s.fmu.Lock()
		s.wf = f
		s.fmu.Unlock()
	}
	if err := s.wf.Truncate(off); err != nil {
		return l.failLocked("truncate "+s.path, err)
	}
	if err := l.syncFile(s.wf); err != nil {
		return l.failLocked("sync "+s.path, err)
	}
	if _, err := s.wf.Seek(off, io.SeekStart); err != nil {
		return l.failLocked("seek "+s.path, err)
	}
	s.trimIndex(seq)
	s.count, s.size, s.flushed = seq-s.first, off, off
	l.next, l.bufSeq = seq, seq
	l.nextSeq.Store(seq)
	l.durable.Store(seq - 1)
	return nil
}

// offsetLocked returns the file offset of record seq of s (flushed, scanned).
func (l *Log) offsetLocked(s *segment, seq uint64) (int64, error) {
	f, err := s.file(l.fs)
	if err != nil {
		return 0, err
	}
	off, at, _ := s.locate(seq, s.flushed)
	w := &window{}
	w.reset(f, s.flushed, l.opts.readChunk())
	for ; at < seq; at++ {
		n, err := frameSize(w, s.path, off, at, l.opts.MaxRecordBytes)
		if err != nil {
			return 0, err
		}
		off += n
	}
	return off, nil
}

// frameSize returns the size of the frame of record seq at off, checking that its length
// is believable and that it ends within the window's limit.
func frameSize(w *window, path string, off int64, seq uint64, maxRec int) (int64, error) {
	if off+frameHeaderSize > w.limit {
		return 0, corruptf(path, off, "record %d: frame header crosses end of segment", seq)
	}
	b, err := w.get(off, frameHeaderSize)
	if err != nil {
		return 0, err
	}
	h := parseFrameHeader(b)
	if uint64(h.length) > uint64(maxRec) {
		return 0, corruptf(path, off, "record %d: length %d exceeds MaxRecordBytes %d", seq, h.length, maxRec)
	}
	n := frameHeaderSize + int64(h.length)
	if off+n > w.limit {
		return 0, corruptf(path, off, "record %d: %d-byte frame crosses end of segment", seq, n)
	}
	return n, nil
}

// Reset removes every record; the next Append gets next (>= 1, else ErrOutOfRange). It is
// atomic across crashes: it first makes durable a pending-reset file holding the new
// segment header (the commit point), then removes the old segments and renames the file
// into place; Open finishes a committed reset and discards an uncommitted one.
func (l *Log) Reset(next uint64) error {
	if next == 0 {
		return fmt.Errorf("%w: Reset(0): seqs start at 1", ErrOutOfRange)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waitIdleLocked()
	if err := l.usableLocked(); err != nil {
		return err
	}
	l.epoch.Add(1)
	l.dropBufLocked()
	rpath := l.path(resetName(next))
	if err := l.fs.Remove(rpath); err != nil && !vfs.IsNotExist(err) {
		return l.failLocked("remove "+rpath, err)
	}
	f, err := l.fs.Create(rpath)
	if err != nil {
		return l.failLocked("create "+rpath, err)
	}
	if _, err = f.Write(encodeHeader(next)); err == nil {
		err = l.syncFile(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = l.syncDir()
	}
	if err != nil {
		return l.failLocked("prepare reset", err)
	}
	// Committed: whatever happens now, the log is reset (Open finishes the job).
	l.next, l.bufSeq = next, next
	l.nextSeq.Store(next)
	l.durable.Store(next - 1)
	for len(l.segs) > 0 {
		s := l.segs[0]
		if err := l.fs.Remove(s.path); err != nil {
			return l.failLocked("remove "+s.path, err)
		}
		l.segs = l.segs[1:]
		s.release()
	}
	if err := l.syncDir(); err != nil {
		return l.failLocked("sync dir", err)
	}
	path := l.path(segmentName(next))
	if err := l.fs.Rename(rpath, path); err != nil {
		return l.failLocked("rename "+rpath, err)
	}
	if err := l.syncDir(); err != nil {
		return l.failLocked("sync dir", err)
	}
	if f, err = l.fs.OpenRW(path); err == nil {
		_, err = f.Seek(headerSize, io.SeekStart)
	}
	if err != nil {
		return l.failLocked("open "+path, err)
	}
	s := newSegment(next, path)
	s.f, s.wf = f, f
	s.size, s.flushed, s.scanned = headerSize, headerSize, true
	l.segs = []*segment{s}
	return nil
}

// Close flushes and syncs (unless NoSync or failed) and closes the files; files still used
// by iterators are closed when those are. It returns the latched error of a failed log,
// or the error of the final flush or sync. Every later call returns ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waitIdleLocked()
	if l.closed {
		return ErrClosed
	}
	err := l.failed
	if err == nil {
		if err = l.flushLocked(); err == nil {
			if err = l.syncFile(l.active().wf); err != nil {
				err = l.failLocked("sync "+l.active().path, err)
			} else {
				l.setDurableLocked(l.next - 1)
			}
		}
	}
	l.closed = true
	l.broken.Store(true)
	l.epoch.Add(1) // iterators look up their position again, and find the log closed
	l.dropBufLocked()
	for _, s := range l.segs {
		s.release()
	}
	return err
}
