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
	// gathering is the group sync whose group is still open (its syncer gathers it, or
	// waits for a free slot), or nil; at most one at a time. WaitDurable joins it, and the
	// syncs in slots, without mu, so that joining a group and waking from it take no lock
	// (every lock acquisition on the path between two fsyncs delays the next one).
	gathering atomic.Pointer[groupSync]
	// slots holds the group syncs issued and not yet settled, each in the slot whose file
	// handle it fsyncs through (see groupSync); written under mu.
	slots [maxSyncsInFlight]atomic.Pointer[groupSync]

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
	// inFlight[:nInFlight] are the issued, unsettled group syncs in issue order (which is
	// also ascending target order). A sync settles when it and every sync before it have
	// returned from File.Sync (see settleLocked).
	inFlight  [maxSyncsInFlight]*groupSync
	nInFlight int
	// expect is how many goroutines the last settled syncs released (waiters and
	// syncers): the size the next group can reach if they all come back (see groupCommit).
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

// maxSyncsInFlight bounds the group syncs whose File.Sync runs at once. Two let one
// group's wake-ups, appends and write run while the previous group's fsync is on the
// disk; on the disks measured two fdatasyncs in flight on one file take no longer each
// than one alone (see benchmarks/RESULTS.md).
const maxSyncsInFlight = 2

// groupSync is one group commit: a syncer gathers a group of waiters, fixes its target,
// writes the buffer and fsyncs the active segment with mu released.
//
// Pipelining. A sync is issued while earlier ones are still in File.Sync (up to
// maxSyncsInFlight), each through an open file description of its own: slot 0 uses the
// segment's write handle, slot k an extra handle opened for syncing. The invariant is
//
//	durable == the target of the last settled sync (or of a roll, Open, TruncateFrom,
//	Reset, Close), and a sync settles successfully only when its own File.Sync and
//	that of every sync issued before it returned nil, and the log has not failed.
//
// Why in issue order: an fsync that returns nil covers every byte written before it was
// issued, so a later sync finishing first would seem to make an earlier target durable
// too. But if the earlier one fails, its pages may already be marked clean (Linux), and
// the later fsync then "succeeds" without having written them; and the kernel reports a
// writeback error once per open file description, so two fsyncs sharing one could see
// the error reported to either. Hence the separate handles (each fsync learns of every
// error since its handle's previous fsync) and the order: a sync that returns nil first
// waits, unsettled, for those before it; a failed one latches the log before anything
// later can settle, and once the log has failed nothing more is reported durable.
//
// The segment's file stays open while its fsync runs (the syncer holds a reference), and
// rolls, DropBefore, TruncateFrom, Reset and Close wait until no sync is in flight.
type groupSync struct {
	// done is closed once the sync has settled (durable raised to target) or the log
	// failed; or, for a sync whose group closed on a failed log, at once.
	done chan struct{}
	// gathering: the group is open; target is stored before it is cleared, so a waiter
	// that sees it cleared can tell whether its seq made it in.
	gathering atomic.Bool
	target    atomic.Uint64 // the last seq written to the file before File.Sync
	waiters   atomic.Int32  // goroutines waiting on done, besides the syncer

	// Guarded by Log.mu.
	ready    bool // gathered: its syncer waits for a free slot
	slot     int
	seg      *segment
	returned bool // File.Sync returned (an error has latched the log by then)
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

// waitIdleLocked waits until no group sync is gathering or in flight and no roll has mu
// released: structural changes (DropBefore, TruncateFrom, Reset, Close) need the files to
// themselves.
func (l *Log) waitIdleLocked() {
	for {
		var ch chan struct{}
		switch {
		case l.rollDone != nil:
			ch = l.rollDone
		case l.nInFlight > 0:
			ch = l.inFlight[0].done
		case l.gathering.Load() != nil:
			ch = l.gathering.Load().done
		default:
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
			if l.nInFlight > 0 {
				// The roll's fsync must not overlap a group's on the same handle, and
				// the sealed segment's extra sync handles are closed.
				l.waitLocked(l.inFlight[0].done)
				continue
			}
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
	if l.gathering.Load() != nil {
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
// but in the last segment. mu is released for the I/O; appenders and syncers wait on
// rollDone. The caller checked that no group sync is in flight.
func (l *Log) rollLocked() error {
	if err := l.flushLocked(); err != nil {
		return err
	}
	old := l.active()
	old.closeExtraSync()
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
// while an fsync runs are covered by the next one, which may start before the first ends
// (group commit; see groupSync). Errors: the latched error of a failed log (including the
// one this call's fsync produced), ErrClosed, ErrOutOfRange if seq > LastSeq (never
// appended, or removed by TruncateFrom/Reset while waiting).
func (l *Log) WaitDurable(seq uint64) error {
	// Fast path, without mu: already durable, or join the sync that will cover seq.
	for !l.broken.Load() {
		if seq <= l.durable.Load() {
			return nil
		}
		if seq >= l.nextSeq.Load() {
			break
		}
		g := l.syncCovering(seq)
		if g == nil {
			if g = l.gathering.Load(); g == nil {
				break
			}
			// A group still open when seen after this record was appended covers it:
			// its syncer fixes the target, under mu, after the append. A group seen
			// closed covers it only if its target says so.
			if !g.gathering.Load() && g.target.Load() < seq {
				break
			}
		}
		g.waiters.Add(1)
		<-g.done
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	for {
		var wait chan struct{}
		switch {
		case l.failed != nil:
			l.mu.Unlock()
			return l.failed
		case seq <= l.durable.Load():
			l.mu.Unlock()
			return nil
		case l.closed:
			l.mu.Unlock()
			return ErrClosed
		case seq >= l.next:
			l.mu.Unlock()
			return fmt.Errorf("%w: WaitDurable(%d) but LastSeq is %d", ErrOutOfRange, seq, l.next-1)
		case l.rollDone != nil:
			// The roll syncs the sealed segment; a seq after it needs a group sync,
			// which cannot be issued before the roll ends.
			wait = l.rollDone
			l.mu.Unlock()
		default:
			g := l.syncCovering(seq)
			if g == nil {
				g = l.gathering.Load() // open while mu is held: its target will cover seq
			}
			if g != nil {
				g.waiters.Add(1)
				l.mu.Unlock()
			} else {
				g = l.groupCommit() // releases mu
			}
			wait = g.done
		}
		<-wait
		if seq <= l.durable.Load() && !l.broken.Load() {
			return nil // the usual wake-up: no lock taken
		}
		l.mu.Lock()
	}
}

// syncCovering returns the earliest issued, unsettled sync whose target covers seq, or nil.
func (l *Log) syncCovering(seq uint64) *groupSync {
	var best *groupSync
	for i := range l.slots {
		if g := l.slots[i].Load(); g != nil && g.target.Load() >= seq &&
			(best == nil || g.target.Load() < best.target.Load()) {
			best = g
		}
	}
	return best
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

// groupCommit opens a group sync, gathers its group, and issues it as soon as a slot is
// free; it returns the sync once its own File.Sync has returned (it may settle later, see
// groupSync). The caller holds mu and checked that no sync covers the seq it waits for,
// that none is gathering and that no roll runs; mu is released on return. Settled groups
// are woken after mu is released: closing done readies every waiter, which takes a while
// with hundreds, and those that run at once on another processor should not find mu held.
func (l *Log) groupCommit() *groupSync {
	g := &groupSync{done: make(chan struct{})}
	if l.opts.NoSync {
		g.target.Store(l.next - 1)
		if l.flushLocked() == nil {
			l.setDurableLocked(g.target.Load())
		}
		l.mu.Unlock()
		close(g.done)
		return g
	}
	g.gathering.Store(true)
	l.gathering.Store(g)
	l.gather(g)

	// Wait for a free slot. The group stays open meanwhile: nothing could be issued
	// earlier anyway, so whoever appends now may as well join. The syncer whose sync
	// settles first may issue this group itself (see issueReadyLocked).
	g.ready = true
	slot := -1
	for l.failed == nil && g.gathering.Load() {
		if l.rollDone != nil {
			l.waitLocked(l.rollDone)
			continue
		}
		if slot = l.freeSlotLocked(); slot >= 0 {
			break
		}
		l.waitLocked(l.inFlight[0].done)
	}
	if !g.gathering.Load() {
		l.mu.Unlock() // issued by another syncer: wait for it like any member
		return g
	}
	if slot < 0 || !l.issueLocked(g, slot) {
		l.mu.Unlock()
		close(g.done) // the log failed: its waiters find it broken
		return g
	}
	l.runSyncs(g)
	return g
}

// issueLocked closes g's group, fixes its target, writes the buffer and puts g in slot,
// in flight; false if the log has failed.
func (l *Log) issueLocked(g *groupSync, slot int) bool {
	g.target.Store(l.next - 1)
	g.gathering.Store(false)
	l.gathering.Store(nil)
	if l.flushLocked() != nil {
		return false
	}
	a := l.active()
	a.acquire() // its file stays open until the fsync returns
	g.slot, g.seg = slot, a
	l.inFlight[l.nInFlight] = g
	l.nInFlight++
	l.slots[slot].Store(g)
	return true
}

// issueReadyLocked issues the group waiting for a slot, if there is one and a slot is
// free, and returns it. The syncer whose sync just settled calls it: it is running
// already, while the waiting syncer would be woken along with the settled group's
// hundreds of waiters and could run after them.
func (l *Log) issueReadyLocked() *groupSync {
	g := l.gathering.Load()
	if g == nil || !g.ready || l.failed != nil || l.rollDone != nil {
		return nil
	}
	slot := l.freeSlotLocked()
	if slot < 0 {
		return nil
	}
	if !l.issueLocked(g, slot) {
		close(g.done) // its waiters (and its waiting syncer) find the log broken
		return nil
	}
	return g
}

// runSyncs runs the File.Sync of g, issued, with mu held on entry and released on
// return; then settles what it can, wakes the settled groups and, if a group is waiting
// for a slot, issues and runs that one too.
func (l *Log) runSyncs(g *groupSync) {
	var settled [maxSyncsInFlight]*groupSync
	n := 0
	for {
		f := g.seg.syncHandle(l.fs, g.slot)
		l.mu.Unlock()
		wake(settled[:n])

		began := time.Now()
		err := f.Sync()
		took := time.Since(began)
		g.seg.release()

		l.mu.Lock()
		l.lastSync = took
		if err != nil {
			l.failLocked("sync "+g.seg.path, err) // latched before this or anything later settles
		}
		g.returned = true
		settled, n = l.settleLocked()
		if n == 0 {
			break
		}
		if g = l.issueReadyLocked(); g == nil {
			break
		}
	}
	l.mu.Unlock()
	wake(settled[:n])
}

// wake closes the done channels of settled syncs. Callers release mu first: closing done
// readies every waiter, which takes a while with hundreds, and those that run at once on
// another processor should not find mu held.
func wake(settled []*groupSync) {
	for _, s := range settled {
		close(s.done)
	}
}

// gather keeps g's group open while it grows; mu is held on entry and on return.
//
// The previous fsync woke all its waiters at once; most of them append again within
// microseconds, but the first one back becomes the syncer before the others have run.
// Issuing at once would cover only the few appended so far and leave the rest for the
// sync after. So release mu and yield the processor (no timer: a yield costs well under a
// microsecond, an fsync hundreds) while appends keep coming in, and while fewer have
// joined than the last settled syncs released (those may be queued on another processor
// or on mu). The syncer watches through atomics: taking mu between yields would let it
// barge ahead of the appenders queued on mu, again and again, and see no progress.
// Appenders append, find this group open, and join it.
func (l *Log) gather(g *groupSync) {
	expect, budget := l.expect, l.lastSync
	if expect <= 1 {
		// With nobody else in the last group there is nobody to wait for; even one
		// yield costs a few microseconds when it moves the syncer to another thread.
		return
	}
	start := time.Now()
	l.mu.Unlock()
	for i, idle := 0, 0; i < maxGatherYields; i++ {
		if idle >= gatherIdleYields || idle > 0 && g.waiters.Load()+1 >= expect ||
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
}

// freeSlotLocked returns a slot no issued, unsettled sync uses and whose handle can be
// had, or -1.
func (l *Log) freeSlotLocked() int {
	for slot := range l.slots {
		if l.slots[slot].Load() == nil && l.active().syncHandle(l.fs, slot) != nil {
			return slot
		}
	}
	return -1
}

// settleLocked settles, in issue order, every sync whose File.Sync has returned and whose
// predecessors have all settled: durable rises to its target unless the log has failed.
// A failed File.Sync latched the log before its sync settles, so neither it nor any later
// sync raises durable, whatever their own File.Sync returned. It returns the settled
// syncs, whose done channels the caller closes after releasing mu.
func (l *Log) settleLocked() (settled [maxSyncsInFlight]*groupSync, n int) {
	released := int32(0)
	for n < l.nInFlight && l.inFlight[n].returned {
		g := l.inFlight[n]
		if l.failed == nil {
			l.setDurableLocked(g.target.Load())
		}
		l.slots[g.slot].Store(nil)
		released += g.waiters.Load() + 1
		settled[n] = g
		n++
	}
	copy(l.inFlight[:], l.inFlight[n:l.nInFlight])
	l.nInFlight -= n
	clear(l.inFlight[l.nInFlight:])
	if n > 0 {
		l.expect = released
	}
	return settled, n
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
