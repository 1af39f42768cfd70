package raftlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/opencmq/opencmq/segment/vfs"
	"github.com/tidwall/wal"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Defaults for Options fields left zero.
const (
	DefaultSegmentSize = 8 << 20
	DefaultCacheBytes  = 8 << 20
)

// Options configure a Storage. The zero value is valid and means the defaults.
type Options struct {
	// NoSync skips every fsync of files and directories: nothing is ever durable. For
	// tests and benchmarks only. Sync still writes and reports success.
	NoSync bool
	// SegmentSize is the size at which tidwall/wal starts a new segment file. Compaction
	// frees disk space a whole segment at a time, and the last segment is kept in memory
	// by tidwall/wal. 0 means DefaultSegmentSize.
	SegmentSize int
	// CacheBytes bounds the in-memory cache of the most recent entries, which serves
	// Entries and the entries of Ready without reading files. 0 means
	// DefaultCacheBytes; a negative value disables the cache.
	CacheBytes int
	// Logger receives recovery and failure messages; nil means slog.Default().
	Logger *slog.Logger
	// FS carries every file operation of this package: the state file, the commit hint,
	// directory fsyncs, and the creation, verification, truncation and removal of segment
	// files. nil means vfs.Default. tidwall/wal itself appends to and fsyncs segment files
	// through package os, by path, so FS must name the same files as package os: the real
	// file system, or a wrapper around it (to inject errors); never an in-memory one.
	FS vfs.FS

	hooks *hooks // tests only
}

// hooks let tests observe durability-relevant events.
type hooks struct {
	dirSync func(dir, reason string) // before every directory fsync (also with NoSync)
	syncErr func() error             // if set and non-nil, replaces the result of every file or directory fsync
}

// Stats are counters since Open, plus what Open recovered.
type Stats struct {
	FirstIndex, LastIndex uint64

	Appends         uint64 // Append calls that wrote entries
	AppendedEntries uint64
	AppendedBytes   uint64 // bytes written to segment files by Append
	Syncs           uint64 // Sync calls
	FileSyncs       uint64 // file fsyncs (counted even with NoSync)
	DirSyncs        uint64 // directory fsyncs (counted even with NoSync)
	StateWrites     uint64 // state file replacements
	Truncations     uint64 // Appends that removed a conflicting suffix
	Compactions     uint64
	Snapshots       uint64 // ApplySnapshot calls that installed a snapshot

	CacheHits, CacheMisses uint64 // entries served by Entries from the tail cache / files
	CacheEntries           int
	CacheBytes             int

	Recovery RecoveryReport
}

// Storage is a durable raft log: it implements raft.Storage for a RawNode and provides
// the persistence operations of the Ready loop (Append, SetHardState, ApplySnapshot,
// Sync) and of the application (Compact, SetConfState). See the package documentation
// for the contracts.
type Storage struct {
	dir  string
	opts Options
	log  *slog.Logger
	fsys vfs.FS

	// mu guards everything below. Mutating methods hold it exclusively (including across
	// fsyncs); raft.Storage reads share it.
	mu     sync.RWMutex
	closed bool
	failed atomic.Pointer[failedError]

	wal       *wal.Log
	walReadMu sync.Mutex // tidwall/wal's Read mutates its segment cache under a read lock
	epoch     uint64
	walDir    string
	tailPath  string // tidwall/wal's current segment file, as far as we know
	tailSize  int64  // its expected size once everything appended is in it

	durable    diskState         // content of the state file
	hs         *raftpb.HardState // latest SetHardState (Commit may be ahead of durable)
	cs         *raftpb.ConfState
	snap       *raftpb.SnapshotMetadata
	dummy      uint64 // last compacted index: FirstIndex is dummy+1
	dummyTerm  uint64
	last       uint64 // LastIndex
	terms      termRuns
	cache      tailCache
	walDirty   bool // appended since the last log fsync
	stateDirty bool // Term or Vote differ from the state file

	hintFile   vfs.File // commit hint: written on every Commit change, never fsynced
	hintCommit uint64   // what hintFile holds

	batch wal.Batch
	buf   []byte

	rec   RecoveryReport
	stats struct {
		appends, appendedEntries, appendedBytes, syncs, fileSyncs, dirSyncs      atomic.Uint64
		stateWrites, truncations, compactions, snapshots, cacheHits, cacheMisses atomic.Uint64
	}
}

var _ raft.Storage = (*Storage)(nil)

// Open opens the raft log in dir, creating it (and dir) if dir holds none. It verifies
// every stored record, repairs a torn tail and completes interrupted operations (see
// "Recovery" in the package documentation); what it did is in Stats().Recovery. Damage
// that is not a torn tail makes Open fail with a *CorruptError naming the file.
func Open(dir string, opts Options) (*Storage, error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = DefaultCacheBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	s := &Storage{dir: abs, opts: opts, log: opts.Logger, fsys: opts.FS}
	s.cache.max = opts.CacheBytes
	s.rec.Dir = abs
	if err := s.open(); err != nil {
		if s.wal != nil {
			_ = s.wal.Close()
		}
		if s.hintFile != nil {
			_ = s.hintFile.Close()
		}
		return nil, err
	}
	return s, nil
}

func (s *Storage) open() error {
	if err := vfs.MkdirAllSync(s.fsys, s.dir, 0o750); err != nil {
		return err
	}
	st, err := s.recoverDir()
	if err != nil {
		return err
	}
	s.epoch = st.epoch
	s.walDir = filepath.Join(s.dir, walDirName(st.epoch))
	segs, err := s.recoverLog(st)
	if err != nil {
		return err
	}
	if s.wal, err = s.openWAL(); err != nil {
		return err
	}
	first, err1 := s.wal.FirstIndex()
	last, err2 := s.wal.LastIndex()
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	if first != segs[0].start || last != s.last {
		return fmt.Errorf("raftlog: tidwall/wal sees indexes [%d, %d] in %s, verification found [%d, %d]",
			first, last, s.walDir, segs[0].start, s.last)
	}
	s.durable = st
	s.hs = proto.Clone(st.hs).(*raftpb.HardState)
	s.cs, s.snap = st.cs, st.snap
	s.dummy, s.dummyTerm = st.dummy, st.dummyTerm
	s.rec.Epoch = st.epoch
	return s.openCommitHint()
}

// openCommitHint reads the commit hint file (creating it if missing) and raises the
// recovered Commit to it if the log holds the entries it covers. The hint is written,
// never fsynced, whenever Commit changes, so it survives a process crash (the page cache
// does) and usually a power loss; it is a lower bound of the true commit index because
// raft's Commit never goes down, and it is only believed for entries that are on disk.
func (s *Storage) openCommitHint() error {
	path := filepath.Join(s.dir, commitFile)
	f, err := s.fsys.OpenRW(path)
	if vfs.IsNotExist(err) {
		// Never synced, like every write to it: losing it loses only the hint.
		f, err = vfs.CreateMode(s.fsys, path, 0o640)
	}
	if err != nil {
		return err
	}
	s.hintFile = f
	b := make([]byte, commitSize+1)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	hint, ok := decodeCommitHint(b[:n])
	if !ok {
		if n > 0 {
			s.log.Warn("raftlog: ignored damaged commit hint", "file", path, "bytes", n)
		}
		return nil
	}
	s.hintCommit = hint
	s.rec.CommitHint = hint
	switch c := s.hs.GetCommit(); {
	case hint > s.last:
		s.log.Warn("raftlog: ignored commit hint beyond the recovered log (entries it covered were not synced)",
			"hint", hint, "last_index", s.last, "commit", c)
	case hint > c:
		s.hs.Commit = new(hint)
		s.rec.CommitHintUsed = true
	}
	return nil
}

// writeCommitHint records commit in the hint file (no fsync). Requires s.mu.
func (s *Storage) writeCommitHint(commit uint64) error {
	if commit == s.hintCommit {
		return nil
	}
	if _, err := s.hintFile.Seek(0, io.SeekStart); err != nil {
		return s.fail("write commit hint", err)
	}
	if _, err := s.hintFile.Write(encodeCommitHint(commit)); err != nil {
		return s.fail("write commit hint", err)
	}
	s.hintCommit = commit
	return nil
}

func (s *Storage) openWAL() (*wal.Log, error) {
	w, err := wal.Open(s.walDir, &wal.Options{
		NoSync:           true, // Sync decides when to fsync
		SegmentSize:      s.opts.SegmentSize,
		LogFormat:        wal.Binary,
		SegmentCacheSize: 2,
		AllowEmpty:       true,
		DirPerms:         0o750,
		FilePerms:        0o640,
	})
	if err != nil {
		return nil, fmt.Errorf("raftlog: tidwall/wal open %s: %w", s.walDir, err)
	}
	return w, nil
}

// check returns the error every call must return now, if any. Requires s.mu (either).
func (s *Storage) check() error {
	if s.closed {
		return ErrClosed
	}
	if f := s.failed.Load(); f != nil {
		return f
	}
	return nil
}

// fail latches err: from now on every call returns it.
func (s *Storage) fail(op string, err error) error {
	fe := &failedError{op: op, err: err}
	if s.failed.CompareAndSwap(nil, fe) {
		s.log.Error("raftlog: storage failed; reopen to recover", "dir", s.dir, "op", op, "err", err)
	}
	return s.failed.Load()
}

// fileSync fsyncs f (unless NoSync).
func (s *Storage) fileSync(f vfs.File) error {
	s.stats.fileSyncs.Add(1)
	if err := s.injectedSyncErr(); err != nil {
		return err
	}
	if s.opts.NoSync {
		return nil
	}
	return f.Sync()
}

// dirSync fsyncs directory dir (unless NoSync), making the creation, removal and renaming
// of its entries durable.
func (s *Storage) dirSync(dir, reason string) error {
	s.stats.dirSyncs.Add(1)
	if h := s.opts.hooks; h != nil && h.dirSync != nil {
		h.dirSync(dir, reason)
	}
	if err := s.injectedSyncErr(); err != nil {
		return err
	}
	if s.opts.NoSync {
		return nil
	}
	return s.fsys.SyncDir(dir)
}

func (s *Storage) injectedSyncErr() error {
	if h := s.opts.hooks; h != nil && h.syncErr != nil {
		return h.syncErr()
	}
	return nil
}

// writeState replaces the state file with st: temp file, fsync, rename, directory fsync.
func (s *Storage) writeState(st diskState, reason string) error {
	b, err := encodeState(st)
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, stateTmpFile)
	f, err := s.createFile(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := s.fileSync(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := s.fsys.Rename(tmp, filepath.Join(s.dir, stateFile)); err != nil {
		return err
	}
	s.stats.stateWrites.Add(1)
	return s.dirSync(s.dir, "state: "+reason)
}

// InitialState implements raft.Storage: the HardState (as last set, see SetHardState for
// what survives a crash) and ConfState. The results are copies.
func (s *Storage) InitialState() (*raftpb.HardState, *raftpb.ConfState, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, nil, err
	}
	return proto.Clone(s.hs).(*raftpb.HardState), proto.Clone(s.cs).(*raftpb.ConfState), nil
}

// FirstIndex implements raft.Storage: the index after the compaction point.
func (s *Storage) FirstIndex() (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return 0, err
	}
	return s.dummy + 1, nil
}

// LastIndex implements raft.Storage.
func (s *Storage) LastIndex() (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return 0, err
	}
	return s.last, nil
}

// Term implements raft.Storage: the term of entry i for i in [FirstIndex()-1,
// LastIndex()], raft.ErrCompacted below, raft.ErrUnavailable above. It never reads files.
func (s *Storage) Term(i uint64) (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return 0, err
	}
	switch {
	case i < s.dummy:
		return 0, raft.ErrCompacted
	case i > s.last:
		return 0, raft.ErrUnavailable
	case i == s.dummy:
		return s.dummyTerm, nil
	}
	return s.terms.at(i), nil
}

// Entries implements raft.Storage: the entries [lo, hi), as many as fit in maxSize bytes
// of encoded size but at least one (like raft.MemoryStorage). raft.ErrCompacted if lo is
// at or below the compaction point; raft.ErrUnavailable if the log holds no entries after
// it, or (wrapped) if hi is beyond LastIndex()+1. Recent entries come from the tail cache;
// older ones are read and verified from the segment files. The slice is the caller's;
// the entries must not be modified.
func (s *Storage) Entries(lo, hi, maxSize uint64) ([]*raftpb.Entry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	switch {
	case lo <= s.dummy:
		return nil, raft.ErrCompacted
	case hi > s.last+1:
		return nil, fmt.Errorf("%w: entries [%d, %d) requested, last index is %d", raft.ErrUnavailable, lo, hi, s.last)
	case s.last == s.dummy:
		return nil, raft.ErrUnavailable
	case lo > hi:
		return nil, fmt.Errorf("raftlog: invalid range [%d, %d)", lo, hi)
	}
	out := make([]*raftpb.Entry, 0, min(hi-lo, 256))
	var size uint64
	for i := lo; i < hi; i++ {
		e, n, err := s.entryAt(i)
		if err != nil {
			return nil, err
		}
		if len(out) > 0 && size+uint64(n) > maxSize {
			break
		}
		out = append(out, e)
		size += uint64(n)
	}
	return out, nil
}

// entryAt returns entry i (dummy < i <= last) and its encoded size. Requires s.mu (either).
func (s *Storage) entryAt(i uint64) (*raftpb.Entry, int, error) {
	if e, n, ok := s.cache.get(i); ok {
		s.stats.cacheHits.Add(1)
		return e, n, nil
	}
	s.stats.cacheMisses.Add(1)
	s.walReadMu.Lock()
	data, err := s.wal.Read(i)
	s.walReadMu.Unlock()
	if err != nil {
		if errors.Is(err, wal.ErrCorrupt) {
			err = corruptf(s.segmentPathFor(i), -1, i, "tidwall/wal: %v", err)
		} else {
			err = fmt.Errorf("read index %d from %s: %w", i, s.segmentPathFor(i), err)
		}
		return nil, 0, s.fail("read", err)
	}
	e, n, err := decodeEntry(data, i)
	if err != nil {
		return nil, 0, s.fail("read", corruptf(s.segmentPathFor(i), -1, i, "%v", err))
	}
	return e, n, nil
}

// segmentPathFor names the segment file that should hold index i (for error messages).
func (s *Storage) segmentPathFor(i uint64) string {
	segs, err := s.listSegments(s.walDir)
	if err != nil {
		return s.walDir
	}
	path := s.walDir
	for _, seg := range segs {
		if seg.start <= i {
			path = seg.path
		}
	}
	return path
}

// Snapshot implements raft.Storage. This package stores only snapshot metadata (see
// SnapshotMetadata), not the application's state, so it cannot build a snapshot to send
// to a follower: while nothing is compacted it returns an empty snapshot carrying the
// ConfState, otherwise raft.ErrSnapshotTemporarilyUnavailable. An application that
// compacts must wrap Storage and override Snapshot to return its own checkpoint, with
// an index of at least FirstIndex()-1 and the ConfState as of that index.
func (s *Storage) Snapshot() (*raftpb.Snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	if s.dummy == 0 {
		return raftpb.EnsureSnapshot(&raftpb.Snapshot{Metadata: &raftpb.SnapshotMetadata{
			ConfState: proto.Clone(s.cs).(*raftpb.ConfState),
		}}), nil
	}
	return nil, raft.ErrSnapshotTemporarilyUnavailable
}

// SnapshotMetadata returns the metadata (index, term, ConfState) of the last snapshot
// installed by ApplySnapshot, durable since it returned; Index 0 if none. After a restart
// an application compares it with its own checkpoint.
func (s *Storage) SnapshotMetadata() (*raftpb.SnapshotMetadata, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.check(); err != nil {
		return nil, err
	}
	return proto.Clone(s.snap).(*raftpb.SnapshotMetadata), nil
}

// Append writes entries (Ready.Entries) to the log. They become durable, and may be
// acknowledged, only when a later Sync returns nil.
//
// Like raft.MemoryStorage.Append: entries at or below the compaction point are skipped,
// and entries overlapping the log replace it from their first index on (a conflicting
// suffix from a new leader): the old suffix is removed from disk first, durably. The
// entries must be consecutive with non-decreasing terms, must not leave a gap after
// LastIndex, and must not replace entries at or below HardState.Commit; such calls
// return an error without changing anything. Append keeps the entries (not copies): the
// caller must not modify them afterwards (raft never does).
func (s *Storage) Append(entries []*raftpb.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	first := s.dummy + 1
	e0 := entries[0].GetIndex()
	if e0+uint64(len(entries))-1 < first {
		return nil
	}
	if e0 < first {
		entries = entries[first-e0:]
		e0 = first
	}
	if e0 > s.last+1 {
		return fmt.Errorf("raftlog: append at index %d leaves a gap after last index %d", e0, s.last)
	}
	prevTerm := s.termAt(e0 - 1)
	for k, e := range entries {
		if e.GetIndex() != e0+uint64(k) {
			return fmt.Errorf("raftlog: append: entry %d has index %d, want %d", k, e.GetIndex(), e0+uint64(k))
		}
		if e.GetTerm() < prevTerm {
			return fmt.Errorf("raftlog: append: entry %d has term %d, below the preceding term %d", e.GetIndex(), e.GetTerm(), prevTerm)
		}
		prevTerm = e.GetTerm()
	}
	if e0 <= s.last {
		if c := s.hs.GetCommit(); e0 <= c {
			return fmt.Errorf("raftlog: append at index %d would replace committed entries (commit %d)", e0, c)
		}
		if err := s.truncateBackLocked(e0 - 1); err != nil {
			return err
		}
		s.last = e0 - 1
		s.cache.truncateFrom(e0)
		s.terms.truncateFrom(e0)
	}

	s.batch.Clear()
	sizes := make([]int, len(entries))
	var written int64
	for k, e := range entries {
		var err error
		s.buf, err = appendPayload(s.buf[:0], e)
		if err != nil {
			return fmt.Errorf("raftlog: append: marshal entry %d: %w", e.GetIndex(), err)
		}
		s.batch.Write(e.GetIndex(), s.buf)
		sizes[k] = len(s.buf) - recordPrefix
		written += int64(uvarintLen(uint64(len(s.buf))) + len(s.buf))
	}
	if err := s.wal.WriteBatch(&s.batch); err != nil {
		return s.fail("write log", err)
	}
	s.walDirty = true
	s.tailSize += written
	for k, e := range entries {
		s.terms.add(e.GetIndex(), e.GetTerm())
		s.cache.add(e, sizes[k])
	}
	s.last = entries[len(entries)-1].GetIndex()
	s.stats.appends.Add(1)
	s.stats.appendedEntries.Add(uint64(len(entries)))
	s.stats.appendedBytes.Add(uint64(written))
	return nil
}

// termAt is Term without checks; i must be in [dummy, last]. Requires s.mu.
func (s *Storage) termAt(i uint64) uint64 {
	if i == s.dummy {
		return s.dummyTerm
	}
	return s.terms.at(i)
}

// truncateBackLocked removes the entries after index from disk, durably, without going
// through tidwall/wal's TruncateBack (which renames and removes files without directory
// fsyncs): tidwall/wal is closed, whole segments after index are removed newest first
// (each removal made durable before the next, so a crash leaves a contiguous log), the
// segment holding index is cut after it and synced, and tidwall/wal is reopened.
func (s *Storage) truncateBackLocked(index uint64) error {
	s.stats.truncations.Add(1)
	w := s.wal
	s.wal = nil
	if err := w.Close(); err != nil {
		return s.fail("truncate: close log", err)
	}
	segs, err := s.listSegments(s.walDir)
	if err != nil {
		return s.fail("truncate: list log", err)
	}
	for len(segs) > 0 && segs[len(segs)-1].start > index {
		if err := s.fsys.Remove(segs[len(segs)-1].path); err != nil {
			return s.fail("truncate: remove segment", err)
		}
		if err := s.dirSync(s.walDir, "truncate: segment removed"); err != nil {
			return s.fail("truncate: fsync log directory", err)
		}
		segs = segs[:len(segs)-1]
	}
	if len(segs) == 0 {
		// Everything went (possible only when nothing is compacted, index 0): start over
		// with an empty first segment.
		if err := s.createSegment(s.walDir, index+1, nil); err != nil {
			return s.fail("truncate: create segment", err)
		}
	} else {
		seg := segs[len(segs)-1]
		data, err := vfs.ReadFile(s.fsys, seg.path)
		if err != nil {
			return s.fail("truncate: read segment", err)
		}
		off := 0
		for idx := seg.start; idx <= index; idx++ {
			payload, next, status := parseFrame(data, off)
			if status != recOK || !checksumOK(payload) {
				return s.fail("truncate", corruptf(seg.path, int64(off), idx, "bad record while truncating"))
			}
			off = next
		}
		if off < len(data) {
			if err := s.truncateFile(seg.path, int64(off)); err != nil {
				return s.fail("truncate: cut segment", err)
			}
		}
	}
	// A segment tidwall/wal created since the last Sync may have survived; its directory
	// entry must be durable before anything appended to it is acknowledged.
	if err := s.dirSync(s.walDir, "truncate"); err != nil {
		return s.fail("truncate: fsync log directory", err)
	}
	if s.wal, err = s.openWAL(); err != nil {
		return s.fail("truncate: reopen log", err)
	}
	if err := s.refreshTail(); err != nil {
		return s.fail("truncate: list log", err)
	}
	return nil
}

// refreshTail finds tidwall/wal's current segment file (the one named with the highest
// index) and its size.
func (s *Storage) refreshTail() error {
	segs, err := s.listSegments(s.walDir)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		return fmt.Errorf("raftlog: no segment file in %s", s.walDir)
	}
	size, _, err := s.fsys.Stat(segs[len(segs)-1].path)
	if err != nil {
		return err
	}
	s.tailPath, s.tailSize = segs[len(segs)-1].path, size
	return nil
}

// SetHardState records hs (Ready.HardState). Its Commit must be in [FirstIndex()-1,
// LastIndex()], so call it after Append (and ApplySnapshot) of the same Ready.
//
// Term and Vote changes are made durable by the next Sync (which then replaces the state
// file). A change of Commit costs no fsync (Ready.MustSync is false for it): it is
// written to the commit hint file (one write at offset 0, never fsynced) and into the state file
// whenever that is written (a Term/Vote change, SetConfState, Compact, ApplySnapshot,
// Close). After a process crash the recovered Commit is the last one set; after a power
// loss it may be lower (raft catches up), never above the recovered log. So the
// application must not pass a raft.Config.Applied above the recovered Commit (raft panics
// if it does): use min(its applied index, InitialState's Commit), and skip re-delivered
// entries it has already applied.
func (s *Storage) SetHardState(hs *raftpb.HardState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	if c := hs.GetCommit(); c > s.last || c < s.dummy {
		return fmt.Errorf("raftlog: HardState.Commit %d outside the log [%d, %d]", c, s.dummy, s.last)
	}
	s.hs = &raftpb.HardState{Term: new(hs.GetTerm()), Vote: new(hs.GetVote()), Commit: new(hs.GetCommit())}
	if hs.GetTerm() != s.durable.hs.GetTerm() || hs.GetVote() != s.durable.hs.GetVote() {
		s.stateDirty = true
	}
	return s.writeCommitHint(hs.GetCommit())
}

// Sync makes everything Append and SetHardState recorded durable: it fsyncs the segment
// file written to, fsyncs the log directory if a segment file was created since the last
// Sync, and replaces the state file if Term or Vote changed. Call it when Ready.MustSync
// is set, before sending the Ready's messages. A Sync with nothing to do costs nothing.
func (s *Storage) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	s.stats.syncs.Add(1)
	if err := s.syncLogLocked(); err != nil {
		return err
	}
	if s.stateDirty {
		return s.persistStateLocked("hard state")
	}
	return nil
}

// syncLogLocked makes the appended entries durable. tidwall/wal fsyncs a segment before
// starting the next one but never fsyncs the directory; a new segment is detected by the
// current one not having grown by what was appended to it, and the directory is then
// fsynced. Requires s.mu.
func (s *Storage) syncLogLocked() error {
	if !s.walDirty {
		return nil
	}
	s.stats.fileSyncs.Add(1)
	if err := s.injectedSyncErr(); err != nil {
		return s.fail("fsync log", err)
	}
	if !s.opts.NoSync {
		if err := s.wal.Sync(); err != nil {
			return s.fail("fsync log", err)
		}
	}
	if size, _, err := s.fsys.Stat(s.tailPath); err != nil || size != s.tailSize {
		if err := s.refreshTail(); err != nil {
			return s.fail("list log", err)
		}
		if err := s.dirSync(s.walDir, "segment created"); err != nil {
			return s.fail("fsync log directory", err)
		}
	}
	s.walDirty = false
	return nil
}

// persistStateLocked makes the log durable, then replaces the state file with the
// current state (so the state file never refers to entries that are not durable).
// Requires s.mu.
func (s *Storage) persistStateLocked(reason string) error {
	if err := s.syncLogLocked(); err != nil {
		return err
	}
	st := diskState{
		epoch: s.epoch, dummy: s.dummy, dummyTerm: s.dummyTerm,
		hs: proto.Clone(s.hs).(*raftpb.HardState), cs: s.cs, snap: s.snap,
	}
	if err := s.writeState(st, reason); err != nil {
		return s.fail("write state file", err)
	}
	s.durable = st
	s.stateDirty = false
	return nil
}

// SetConfState records the ConfState returned by RawNode.ApplyConfChange, durably: it
// replaces the state file before returning (after making appended entries durable).
func (s *Storage) SetConfState(cs *raftpb.ConfState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	s.cs = raftpb.EnsureConfState(proto.Clone(cs).(*raftpb.ConfState))
	return s.persistStateLocked("conf state")
}

// Compact discards the entries up to and including index, which becomes the compaction
// point: FirstIndex() becomes index+1 and Term(index) stays available (the semantics of
// raft.MemoryStorage.Compact). Call it only for an index the application has durably
// checkpointed (applied state persisted), and never above HardState.Commit. Durable on
// return: the state file records the new compaction point first, then the segment files
// holding only entries below index are removed and the directory fsynced. Disk space is
// freed a segment at a time. raft.ErrCompacted if index is at or below the current
// compaction point.
func (s *Storage) Compact(index uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	switch {
	case index <= s.dummy:
		return raft.ErrCompacted
	case index > s.last:
		return fmt.Errorf("raftlog: compact %d is beyond the last index %d", index, s.last)
	case index > s.hs.GetCommit():
		return fmt.Errorf("raftlog: compact %d is beyond the commit index %d", index, s.hs.GetCommit())
	}
	s.stats.compactions.Add(1)
	s.dummyTerm = s.termAt(index)
	s.dummy = index
	s.terms.compact(index)
	s.cache.dropBefore(index + 1)
	if err := s.persistStateLocked("compact"); err != nil {
		return err
	}
	segs, err := s.listSegments(s.walDir)
	if err != nil {
		return s.fail("compact: list log", err)
	}
	removed := 0
	for k := 0; k+1 < len(segs) && segs[k+1].start <= index; k++ {
		if err := s.fsys.Remove(segs[k].path); err != nil {
			return s.fail("compact: remove segment", err)
		}
		removed++
	}
	if removed > 0 {
		if err := s.dirSync(s.walDir, "compact: segments removed"); err != nil {
			return s.fail("compact: fsync log directory", err)
		}
	}
	return nil
}

// ApplySnapshot installs snap (Ready.Snapshot) as the new start of the log: every entry
// is discarded, the log continues after snap's index, Term(index) is snap's term, the
// ConfState is snap's, and HardState.Commit is raised to the snapshot index. Durable on
// return, atomically: the new log directory (holding the snapshot's index and term as
// its first record) is created and synced, then one state file replacement switches to
// it, then the old directory is removed. snap.Data is not stored: install the
// application state (durably) first. raft.ErrSnapOutOfDate if the snapshot is not newer
// than the compaction point, or (wrapped) older than the commit index.
//
// Call it before Append and SetHardState of the same Ready.
func (s *Storage) ApplySnapshot(snap *raftpb.Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(); err != nil {
		return err
	}
	meta := raftpb.EnsureSnapshotMetadata(proto.Clone(snap.GetMetadata()).(*raftpb.SnapshotMetadata))
	if meta == nil {
		meta = raftpb.EnsureSnapshotMetadata(nil)
	}
	idx, term := meta.GetIndex(), meta.GetTerm()
	if s.dummy != 0 && idx <= s.dummy {
		return raft.ErrSnapOutOfDate
	}
	if c := s.hs.GetCommit(); idx < c {
		return fmt.Errorf("%w: snapshot index %d is below the commit index %d", raft.ErrSnapOutOfDate, idx, c)
	}
	s.stats.snapshots.Add(1)

	// 1. The new log directory, complete and durable, not yet referenced.
	epoch := s.epoch + 1
	newDir := filepath.Join(s.dir, walDirName(epoch))
	if err := s.fsys.RemoveAll(newDir); err != nil {
		return s.fail("snapshot: clear new log directory", err)
	}
	if err := s.fsys.MkdirAll(newDir); err != nil {
		return s.fail("snapshot: create log directory", err)
	}
	var content []byte
	if idx > 0 {
		payload, err := appendPayload(nil, &raftpb.Entry{Index: new(idx), Term: new(term)})
		if err != nil {
			return fmt.Errorf("raftlog: snapshot: %w", err)
		}
		content = binary.AppendUvarint(nil, uint64(len(payload)))
		content = append(content, payload...)
	}
	if err := s.createSegment(newDir, max(idx, 1), content); err != nil {
		return s.fail("snapshot: create segment", err)
	}
	if err := s.dirSync(s.dir, "snapshot: log directory created"); err != nil {
		return s.fail("snapshot: fsync directory", err)
	}
	old := s.wal
	s.wal = nil
	if err := old.Close(); err != nil {
		return s.fail("snapshot: close old log", err)
	}

	// 2. The commit point.
	hs := proto.Clone(s.hs).(*raftpb.HardState)
	if hs.GetCommit() < idx {
		hs.Commit = new(idx)
	}
	st := diskState{epoch: epoch, dummy: idx, dummyTerm: term, hs: hs, cs: meta.ConfState, snap: meta}
	if err := s.writeState(st, "snapshot"); err != nil {
		return s.fail("snapshot: write state file", err)
	}

	// 3. Switch, then remove the old directory.
	oldDir := s.walDir
	s.epoch, s.walDir = epoch, newDir
	var err error
	if s.wal, err = s.openWAL(); err != nil {
		return s.fail("snapshot: open log", err)
	}
	if err := s.fsys.RemoveAll(oldDir); err != nil {
		return s.fail("snapshot: remove old log directory", err)
	}
	if err := s.dirSync(s.dir, "snapshot: old log directory removed"); err != nil {
		return s.fail("snapshot: fsync directory", err)
	}
	s.durable = st
	s.hs, s.cs, s.snap = proto.Clone(hs).(*raftpb.HardState), meta.ConfState, meta
	s.dummy, s.dummyTerm, s.last = idx, term, idx
	s.terms = termRuns{{start: idx, term: term}}
	s.cache.reset()
	s.walDirty, s.stateDirty = false, false
	if err := s.refreshTail(); err != nil {
		return s.fail("snapshot: list log", err)
	}
	return nil
}

// Stats returns counters since Open and Open's recovery report.
func (s *Storage) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Stats{
		FirstIndex:      s.dummy + 1,
		LastIndex:       s.last,
		Appends:         s.stats.appends.Load(),
		AppendedEntries: s.stats.appendedEntries.Load(),
		AppendedBytes:   s.stats.appendedBytes.Load(),
		Syncs:           s.stats.syncs.Load(),
		FileSyncs:       s.stats.fileSyncs.Load(),
		DirSyncs:        s.stats.dirSyncs.Load(),
		StateWrites:     s.stats.stateWrites.Load(),
		Truncations:     s.stats.truncations.Load(),
		Compactions:     s.stats.compactions.Load(),
		Snapshots:       s.stats.snapshots.Load(),
		CacheHits:       s.stats.cacheHits.Load(),
		CacheMisses:     s.stats.cacheMisses.Load(),
		CacheEntries:    len(s.cache.ents),
		CacheBytes:      s.cache.bytes,
		Recovery:        s.rec,
	}
}

// Close makes everything recorded durable (including a Commit-only HardState change)
// and closes the files. After a failure it closes the files and returns the latched
// error. Every later call returns ErrClosed.
func (s *Storage) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	if f := s.failed.Load(); f != nil {
		if s.wal != nil {
			_ = s.wal.Close() // its fsync's result is not believed
		}
		_ = s.hintFile.Close()
		return f
	}
	var err error
	if s.stateDirty || s.hs.GetCommit() != s.durable.hs.GetCommit() {
		err = s.persistStateLocked("close")
	} else {
		err = s.syncLogLocked()
	}
	if cerr := s.wal.Close(); cerr != nil && err == nil {
		err = s.fail("close log", cerr)
	}
	if cerr := s.hintFile.Close(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}
