package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencmq/opencmq/failpoint"
	"github.com/opencmq/opencmq/segment"
	"github.com/opencmq/opencmq/segment/vfs"
)

// Options configure an Engine. The zero value is a durable engine on the real file system.
type Options struct {
	// FS is the file system; default vfs.Default.
	FS vfs.FS
	// Now is the clock that stamps commands; default time.Now. Inject one for tests.
	Now func() time.Time
	// Limits bounds names, sizes and counts; zero fields take their defaults.
	Limits Limits
	// CheckpointBytes is how much journal accumulates between checkpoints; default 64 MiB.
	CheckpointBytes int64
	// SegmentBytes is the segment file size of the journal and the queue logs; default
	// segment.MaxSegmentBytesDefault.
	SegmentBytes int64
	// ManualTick turns off the background scheduler that applies time-driven changes
	// (visibility expiry, delays, retention, dead letters) when they fall due; the caller
	// calls Tick instead. For tests with a fake clock. Commands still advance the queues
	// they touch, so receives see expired leases either way.
	ManualTick bool
	// NoSync skips every fsync. Only for tests and benchmarks: nothing is durable.
	NoSync bool
	// Logger receives operational messages; default slog.Default().
	Logger *slog.Logger
	// Replicator, if set, orders commands instead of the local journal (a replicated
	// engine); it calls Apply with committed entries. Nil: standalone.
	Replicator Replicator
	// Push configures pushes to HTTP subscriptions of topics.
	Push PushOptions
}

// CheckpointBytesDefault is the default journal size between checkpoints.
const CheckpointBytesDefault = 64 << 20

// maxProposalBatch bounds how many commands share one journal write and fsync.
const maxProposalBatch = 512

// recCommand is the record type of journal records (part of the on-disk format).
const recCommand byte = 1

// Engine is an embeddable CMQ queue engine: namespaces of queues, with CMQ's send, receive,
// delete, delay, visibility, retention, rewind and dead-letter semantics, stored durably in
// a directory. Every method is safe for concurrent use.
//
// Every change is a Command: the engine stamps it with the time, appends it to its journal,
// fsyncs (commands that arrive together share one fsync), applies it to the state machine
// and only then returns. A method that returned nil has a durable effect; one that returned
// ErrOutcomeUnknown may or may not have.
type Engine struct {
	opts    Options
	limits  Limits
	dir     string
	journal *segment.Log
	logger  *slog.Logger

	mu sync.RWMutex // guards sm; the applier holds it to apply, readers to read
	sm *stateMachine

	proposals chan *proposal
	syncCh    chan applyBatch // written batches waiting for their fsync
	applyCh   chan applyBatch
	kick      chan struct{}
	stop      chan struct{} // closed by Close
	applied   chan struct{} // closed when the applier has exited
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	failed    atomic.Pointer[error]
	failedCh  chan struct{} // closed when failed is set

	// pending maps request ids to waiting proposals (replicated mode).
	pendingMu sync.Mutex
	pending   map[uint64]*proposal
	reqSeq    atomic.Uint64

	// snapshotting counts snapshot streams in progress; while any runs, checkpoints do not
	// physically drop message data the stream may still read.
	snapshotting atomic.Int32

	push         PushOptions
	pushClient   *http.Client
	pushStop     chan struct{} // closed by StopPushing (or Close) before stop, so pushers can hand messages back
	pushStopOnce sync.Once
	pushDone     chan struct{}

	waiters         waiters
	sinceCheckpoint int64 // journal bytes since the last checkpoint; applier only
	// checkpointing is set while a checkpoint is being persisted in the background (at most
	// one at a time); its outcome arrives on checkpointDone. Applier only.
	checkpointing  bool
	checkpointDone chan checkpointOutcome
}

type checkpointOutcome struct {
	removed int // how many pendingRemoval entries it removed
	err     error
}

type proposal struct {
	cmd  *Command
	data []byte
	want bool
	done chan result
}

type applyBatch struct {
	first uint64
	props []*proposal
}

// applyItem is one log entry to apply; cmd nil for entries that are not commands.
type applyItem struct {
	index uint64
	cmd   *Command
	size  int
	want  bool
	done  chan result // nil unless a caller on this replica waits for the result
}

// Open opens (or creates) the engine in dir, recovering its state: the last checkpoint plus
// the journal after it.
func Open(dir string, opts Options) (*Engine, error) {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	opts.FS = failpoint.WrapFS(opts.FS) // the segment failpoints; unchanged in normal builds
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CheckpointBytes <= 0 {
		opts.CheckpointBytes = CheckpointBytesDefault
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	e := &Engine{
		opts:      opts,
		limits:    opts.Limits.withDefaults(),
		dir:       dir,
		logger:    opts.Logger,
		proposals: make(chan *proposal, 4*maxProposalBatch),
		syncCh:    make(chan applyBatch, 16),
		applyCh:   make(chan applyBatch, 4),
		kick:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		applied:   make(chan struct{}),
		failedCh:  make(chan struct{}),

		checkpointDone: make(chan checkpointOutcome, 1),
	}
	e.waiters.m = make(map[string]map[*waiter]struct{})
	e.push = opts.Push
	if e.push.Concurrency <= 0 {
		e.push.Concurrency = 16
	}
	if e.push.Timeout <= 0 {
		e.push.Timeout = 15 * time.Second
	}
	if e.push.RetryUnit <= 0 {
		e.push.RetryUnit = time.Second
	}
	e.pushClient = newPushClient(e.push)
	e.pending = make(map[uint64]*proposal)
	e.reqSeq.Store(uint64(time.Now().UnixNano()) << 8) // ids from an earlier run are not reused
	if err := e.recover(); err != nil {
		if e.sm != nil {
			e.sm.closeLogs()
		}
		if e.journal != nil {
			e.journal.Close()
		}
		return nil, err
	}
	if opts.Replicator == nil {
		e.wg.Add(3)
		go e.writeLoop()
		go e.syncLoop()
		go e.applyLoop()
	} else {
		close(e.applyCh) // unused: the replicator calls Apply
		close(e.applied)
	}
	if !opts.ManualTick {
		e.wg.Add(1)
		go e.scheduleLoop()
	}
	e.pushStop, e.pushDone = make(chan struct{}), make(chan struct{})
	if !opts.Push.Disabled {
		go e.pushLoop()
	} else {
		close(e.pushDone)
	}
	return e, nil
}

func (e *Engine) recover() error {
	fs := e.opts.FS
	if err := vfs.MkdirAllSync(fs, e.dir, 0o750); err != nil {
		return err
	}
	// A snapshot install interrupted by a crash: finish it if it was staged completely,
	// forget it if not.
	if err := finishRestore(fs, e.dir); err != nil {
		return fmt.Errorf("engine: finishing a snapshot install: %w", err)
	}
	if err := fs.RemoveAll(filepath.Join(e.dir, restoreDir)); err != nil && !vfs.IsNotExist(err) {
		return err
	}
	st := &store{fs: fs, dir: e.dir, segmentBytes: e.opts.SegmentBytes, noSync: e.opts.NoSync}
	raw, err := readCheckpoint(fs, e.dir)
	if err != nil {
		return err
	}
	if raw == nil { // no checkpoint file at all: a new engine
		e.sm = newStateMachine(e.limits, st)
	} else if e.sm, err = decodeState(raw, e.limits, st); err != nil {
		// Never taken for "no checkpoint": that would rebuild the state from a journal
		// that no longer holds the beginning, or serve an empty state.
		return fmt.Errorf("engine: %s (%d bytes): %w", filepath.Join(e.dir, checkpointName), len(raw), err)
	}
	// The checkpoint is durable and says these queues are deleted: their data can go.
	if err := e.removeQueueDirs(e.sm.pendingRemoval); err != nil {
		return err
	}
	e.sm.pendingRemoval = nil
	if e.opts.Replicator != nil {
		return nil // the replicator re-delivers what was committed after the checkpoint
	}
	e.journal, err = segment.Open(filepath.Join(e.dir, "journal"), segment.Options{
		FS: fs, MaxSegmentBytes: e.opts.SegmentBytes, NoSync: e.opts.NoSync,
	})
	if err != nil {
		return fmt.Errorf("engine: journal: %w", err)
	}
	applied := e.sm.applied
	switch {
	case e.journal.LastSeq() < applied:
		// Everything the journal holds is in the checkpoint; continue numbering after it.
		if err := e.journal.Reset(applied + 1); err != nil {
			return err
		}
	case e.journal.FirstSeq() > applied+1:
		return fmt.Errorf("engine: journal %s starts at %d but the checkpoint %s covers only up to %d (a stale checkpoint, or journal segments lost): %w",
			filepath.Join(e.dir, "journal"), e.journal.FirstSeq(), filepath.Join(e.dir, checkpointName), applied, segment.ErrCorrupt)
	}
	it := e.journal.NewIterator(applied + 1)
	defer it.Close()
	for it.Next() {
		c, err := DecodeCommand(it.Data())
		if err != nil {
			return fmt.Errorf("engine: journal record %d: %w", it.Seq(), err)
		}
		e.sm.apply(it.Seq(), c, false)
		e.sinceCheckpoint += int64(len(it.Data()))
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("engine: journal replay: %w", err)
	}
	e.sm.woken = nil
	e.sm.flushLogs()
	if e.sm.err != nil {
		return fmt.Errorf("engine: replay: %w", e.sm.err)
	}
	return nil
}

func (e *Engine) removeQueueDirs(ids []uint64) error {
	if len(ids) == 0 {
		return nil
	}
	for _, id := range ids {
		dir := e.sm.store.queueDir(id)
		if err := failpoint.InjectAt(failpoint.QueueDirRemove, dir); err != nil {
			return err
		}
		if err := e.opts.FS.RemoveAll(dir); err != nil && !vfs.IsNotExist(err) {
			return err
		}
	}
	err := e.opts.FS.SyncDir(e.sm.store.queuesDir())
	if vfs.IsNotExist(err) {
		return nil
	}
	return err
}

// Close stops the engine: commands already accepted are applied, a checkpoint is written,
// files are closed. Calls in flight return ErrClosed or their result.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.StopPushing()
		close(e.stop)
		e.wg.Wait()
		// The applier has exited, collecting any background checkpoint; write a final one
		// so the next start replays nothing.
		err := e.fatal()
		if err == nil {
			snap := e.snapshot()
			switch err = e.persist(snap); err {
			case nil:
				e.sm.pendingRemoval = e.sm.pendingRemoval[len(snap.removed):]
			case errSkippedDrops:
				err = nil
			}
		}
		if cerr := e.sm.closeLogs(); err == nil {
			err = cerr
		}
		if e.journal != nil {
			if cerr := e.journal.Close(); err == nil {
				err = cerr
			}
		}
		e.closeErr = err
	})
	return e.closeErr
}

// StopPushing stops pushing to HTTP subscriptions, handing messages whose push was in
// flight back to their queue at once so they are pushed again soon after a restart. Close
// does it too; a replicated server calls it first, while the raft node can still commit.
func (e *Engine) StopPushing() {
	e.pushStopOnce.Do(func() { close(e.pushStop) })
	<-e.pushDone
}

// Err returns the storage error that stopped the engine (its own, or the replicator's
// reported through Fail), or nil while it serves.
func (e *Engine) Err() error { return e.fatal() }

// fatal returns the storage error that stopped the engine, if any.
func (e *Engine) fatal() error {
	if p := e.failed.Load(); p != nil {
		return *p
	}
	return nil
}

func (e *Engine) fail(err error) {
	if e.failed.CompareAndSwap(nil, &err) {
		e.logger.Error("engine: storage failure; refusing further commands", "err", err)
		close(e.failedCh)
	}
}

// Fail stops the engine because of a failure outside it (the replicator's log), as a
// storage error of its own does: every later command fails, no checkpoint is written any
// more, and callers waiting for replicated commands get ErrOutcomeUnknown at once instead
// of at their deadline.
func (e *Engine) Fail(err error) { e.fail(err) }

func (e *Engine) nowMs() int64 { return e.opts.Now().UnixMilli() }

// propose hands c to the journal (or the replicator) and waits for its result.
func (e *Engine) propose(ctx context.Context, c *Command, want bool) result {
	if err := e.fatal(); err != nil {
		return result{err: ErrInternal}
	}
	c.Now = e.nowMs()
	if c.Type != CmdTick && c.Type != CmdReceive {
		c.Replay = replayKeyFrom(ctx)
	}
	if e.opts.Replicator != nil {
		return e.proposeReplicated(ctx, c, want)
	}
	p := &proposal{cmd: c, data: c.Encode(), want: want, done: make(chan result, 1)}
	select {
	case e.proposals <- p:
	case <-e.stop:
		return result{err: ErrClosed}
	case <-ctx.Done():
		return result{err: ctx.Err()}
	}
	select {
	case r := <-p.done:
		return r
	case <-ctx.Done():
		return result{err: ErrOutcomeUnknown}
	case <-e.applied:
		select {
		case r := <-p.done:
			return r
		default:
			return result{err: ErrClosed} // never written: the applier drains all that was
		}
	}
}

func (e *Engine) proposeReplicated(ctx context.Context, c *Command, want bool) result {
	select {
	case <-e.stop:
		return result{err: ErrClosed}
	default:
	}
	id := e.reqSeq.Add(1)
	p := &proposal{cmd: c, want: want, done: make(chan result, 1)}
	e.pendingMu.Lock()
	e.pending[id] = p
	e.pendingMu.Unlock()
	defer func() {
		e.pendingMu.Lock()
		delete(e.pending, id)
		e.pendingMu.Unlock()
	}()
	if err := e.opts.Replicator.Propose(ctx, encodeProposal(id, c)); err != nil {
		return result{err: ErrOutcomeUnknown}
	}
	select {
	case r := <-p.done:
		return r
	case <-ctx.Done():
		return result{err: ErrOutcomeUnknown}
	case <-e.stop:
		return result{err: ErrOutcomeUnknown}
	case <-e.failedCh:
		return result{err: ErrOutcomeUnknown}
	}
}

// writeLoop appends batches of proposals to the journal and hands them to syncLoop, which
// waits for their fsync (one fsync covers every batch written before it) and passes them
// to the applier. Writing, syncing and applying overlap.
func (e *Engine) writeLoop() {
	defer e.wg.Done()
	defer close(e.syncCh)
	datas := make([][]byte, 0, maxProposalBatch)
	for {
		var batch []*proposal
		select {
		case p := <-e.proposals:
			batch = append(make([]*proposal, 0, 16), p)
		case <-e.stop:
			return
		}
	drain:
		for len(batch) < maxProposalBatch {
			select {
			case p := <-e.proposals:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		datas = datas[:0]
		for _, p := range batch {
			datas = append(datas, p.data)
		}
		first, err := e.journal.AppendBatch(recCommand, datas)
		if err != nil {
			e.fail(err)
			for _, p := range batch {
				p.done <- result{err: ErrInternal}
			}
			return
		}
		e.syncCh <- applyBatch{first: first, props: batch}
	}
}

// syncLoop waits until each written batch is durable and hands it to the applier, in
// order. While it waits for one batch's fsync, writeLoop appends the next ones, and the
// group commit covers them with the following fsync.
func (e *Engine) syncLoop() {
	defer e.wg.Done()
	defer close(e.applyCh)
	for b := range e.syncCh {
		if err := e.journal.WaitDurable(b.first + uint64(len(b.props)) - 1); err != nil {
			e.fail(err)
			for _, p := range b.props {
				p.done <- result{err: ErrInternal}
			}
			// Drain what was written after it: none of it is durable either.
			for b := range e.syncCh {
				for _, p := range b.props {
					p.done <- result{err: ErrInternal}
				}
			}
			return
		}
		e.applyCh <- b
	}
}

// applyLoop applies durable batches in journal order and answers their callers.
func (e *Engine) applyLoop() {
	defer e.wg.Done()
	defer close(e.applied)
	items := make([]applyItem, 0, maxProposalBatch)
	for b := range e.applyCh {
		items = items[:0]
		for i, p := range b.props {
			items = append(items, applyItem{index: b.first + uint64(i), cmd: p.cmd, size: len(p.data), want: p.want, done: p.done})
		}
		e.applyItems(items)
	}
	if e.checkpointing {
		e.finishCheckpoint(<-e.checkpointDone)
	}
}

// applyItems applies entries in order, answers the callers waiting on them, wakes long
// pollers and starts a checkpoint when one is due. Called from one goroutine at a time (the
// applier, or the replicator's apply loop).
func (e *Engine) applyItems(items []applyItem) {
	e.mu.Lock()
	for _, it := range items {
		if it.cmd == nil {
			e.sm.applied = it.index
			continue
		}
		r := e.sm.apply(it.index, it.cmd, it.want)
		if e.sm.err != nil {
			e.fail(e.sm.err) // latched before any caller hears of the failure
		}
		if it.done != nil {
			it.done <- r
		}
		e.sinceCheckpoint += int64(it.size)
	}
	e.sm.flushLogs()
	keys := make([]string, 0, len(e.sm.woken))
	for _, q := range e.sm.woken {
		keys = append(keys, waitKey(q.namespace, q.name))
	}
	e.sm.woken = e.sm.woken[:0]
	smErr := e.sm.err
	e.mu.Unlock()
	if smErr != nil {
		e.fail(smErr)
	}
	for _, k := range keys {
		e.waiters.wake(k)
	}
	select {
	case e.kick <- struct{}{}:
	default:
	}
	e.maybeCheckpoint()
}

// maybeCheckpoint starts a background checkpoint when enough journal has accumulated, and
// collects the outcome of the previous one. Applier only.
func (e *Engine) maybeCheckpoint() {
	if e.checkpointing {
		select {
		case out := <-e.checkpointDone:
			e.finishCheckpoint(out)
		default:
			return
		}
	}
	if e.sinceCheckpoint < e.opts.CheckpointBytes || e.fatal() != nil {
		return
	}
	snap := e.snapshot()
	e.sinceCheckpoint = 0
	e.checkpointing = true
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		out := checkpointOutcome{removed: len(snap.removed), err: e.persist(snap)}
		if out.err == errSkippedDrops {
			out = checkpointOutcome{}
		}
		e.checkpointDone <- out
	}()
}

func (e *Engine) finishCheckpoint(out checkpointOutcome) {
	e.checkpointing = false
	if out.err != nil {
		e.fail(fmt.Errorf("checkpoint: %w", out.err))
		return
	}
	e.mu.Lock()
	e.sm.pendingRemoval = e.sm.pendingRemoval[out.removed:]
	e.mu.Unlock()
}

// checkpointSnapshot is what a checkpoint persists, taken at one point of the log.
type checkpointSnapshot struct {
	state   []byte
	applied uint64
	logs    []*segment.Log // queue logs with data the state depends on that may not be synced
	drops   []logDrop      // segments the state no longer needs, to drop once it is durable
	removed []uint64       // deleted queues whose directories can go once it is durable
}

type logDrop struct {
	log   *segment.Log
	first uint64
}

// snapshot captures the state for a checkpoint. Called by the applier (or by Close after
// the applier stopped), so nothing changes the state meanwhile.
func (e *Engine) snapshot() checkpointSnapshot {
	e.mu.RLock()
	defer e.mu.RUnlock()
	s := checkpointSnapshot{
		state:   e.sm.encodeState(nil),
		applied: e.sm.applied,
		removed: append([]uint64(nil), e.sm.pendingRemoval...),
	}
	for _, q := range e.sm.queues {
		if q.log == nil {
			continue
		}
		if q.dirty {
			s.logs = append(s.logs, q.log)
			q.dirty = false
		}
		if q.log.FirstSeq() < q.first {
			s.drops = append(s.drops, logDrop{q.log, q.first})
		}
	}
	return s
}

// persist makes a snapshot durable and then drops what it makes unnecessary: journal
// records it covers, queue log segments below each queue's first message, directories of
// deleted queues. It runs alongside the applier: queue logs may keep growing meanwhile, which
// is harmless, as recovery cuts each log back to the tail the checkpoint recorded.
func (e *Engine) persist(s checkpointSnapshot) error {
	logs := make([]syncer, 0, len(s.logs))
	for _, l := range s.logs {
		logs = append(logs, closedIsSynced{l})
	}
	if err := writeCheckpoint(e.opts.FS, e.dir, logs, s.state); err != nil {
		return err
	}
	if err := failpoint.Inject(failpoint.CheckpointAfterWrite); err != nil {
		return err
	}
	if e.journal != nil {
		if err := e.journal.DropBefore(s.applied + 1); err != nil {
			return err
		}
	} else {
		e.opts.Replicator.Checkpointed(s.applied)
	}
	if e.snapshotting.Load() > 0 {
		// A snapshot stream may still read what would be dropped: leave it for the next
		// checkpoint (drops are recomputed then; removals stay pending).
		return errSkippedDrops
	}
	for _, d := range s.drops {
		if err := d.log.DropBefore(d.first); err != nil && !errors.Is(err, segment.ErrClosed) {
			return err
		}
	}
	return e.removeQueueDirs(s.removed)
}

// errSkippedDrops reports a checkpoint that is durable but left its drops for later.
var errSkippedDrops = errors.New("engine: checkpoint drops deferred")

// closedIsSynced syncs a queue log; a log closed meanwhile (its queue was deleted) was
// synced by Close.
type closedIsSynced struct{ l *segment.Log }

func (c closedIsSynced) Sync() error {
	if err := c.l.Sync(); err != nil && !errors.Is(err, segment.ErrClosed) {
		return err
	}
	return nil
}

// scheduleLoop proposes a Tick whenever the earliest deadline of any queue has passed.
func (e *Engine) scheduleLoop() {
	defer e.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	lastTick := int64(0)
	for {
		e.mu.RLock()
		next := e.sm.nextDeadline()
		e.mu.RUnlock()
		wait := time.Hour
		if next != never {
			wait = time.Duration(next-e.nowMs()) * time.Millisecond
			if next == lastTick {
				// A Tick at this deadline did not clear it (the queue could not make
				// progress, e.g. a full dead-letter queue): do not spin.
				wait = max(wait, 100*time.Millisecond)
			}
			wait = max(wait, time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
			leads := e.opts.Replicator == nil || e.opts.Replicator.IsLeader()
			if next != never && e.nowMs() >= next && leads {
				lastTick = next
				e.propose(context.Background(), &Command{Type: CmdTick}, false)
			}
		case <-e.kick:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-e.stop:
			return
		}
	}
}

// Tick applies every time-driven change that has fallen due (visibility timeouts, delays,
// retention, dead letters). The engine does this by itself unless Options.ManualTick is set.
func (e *Engine) Tick(ctx context.Context) error {
	return e.propose(ctx, &Command{Type: CmdTick}, false).err
}

// waiters are the long-polling receivers, by queue.
type waiters struct {
	mu sync.Mutex
	m  map[string]map[*waiter]struct{}
}

type waiter struct{ ch chan struct{} }

func waitKey(namespace, name string) string { return namespace + "\x00" + nameKey(name) }

func (w *waiters) add(key string) *waiter {
	wt := &waiter{ch: make(chan struct{})}
	w.mu.Lock()
	set := w.m[key]
	if set == nil {
		set = make(map[*waiter]struct{})
		w.m[key] = set
	}
	set[wt] = struct{}{}
	w.mu.Unlock()
	return wt
}

func (w *waiters) remove(key string, wt *waiter) {
	w.mu.Lock()
	if set := w.m[key]; set != nil {
		delete(set, wt)
		if len(set) == 0 {
			delete(w.m, key)
		}
	}
	w.mu.Unlock()
}

// wake releases every receiver waiting on key.
func (w *waiters) wake(key string) {
	w.mu.Lock()
	set := w.m[key]
	delete(w.m, key)
	w.mu.Unlock()
	for wt := range set {
		close(wt.ch)
	}
}
