package raftlog

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencmq/opencmq/segment/vfs"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// RecoveryReport describes what Open found and repaired.
type RecoveryReport struct {
	Dir      string // the storage directory
	Created  bool   // the directory held no log: a new, empty one was created
	Epoch    uint64 // current log generation (wal-<epoch>)
	Segments int    // segment files verified
	Records  uint64 // records verified (checksum, decode, position)

	// Torn tail: bytes dropped from the end of the last segment because they were an
	// incomplete final write (never acknowledged). TornBytes 0 means nothing was torn.
	TornFile   string
	TornOffset int64  // new size of TornFile: where the torn tail began
	TornBytes  int64  // bytes dropped
	TornReason string // what the dropped bytes looked like

	// CommitHint is the Commit read from the commit hint file (0: none or damaged);
	// CommitHintUsed says whether it raised the state file's Commit (it is ignored when
	// it is beyond the recovered log, which happens when entries it covered were not yet
	// synced at the crash).
	CommitHint     uint64
	CommitHintUsed bool

	// Completion of interrupted operations (see "Recovery" in the package doc).
	RemovedSegments  int      // whole segments below the compaction point (unfinished Compact)
	RemovedEpochDirs []string // superseded or uncommitted log directories (ApplySnapshot)
	RemovedTempFiles int      // STATE.tmp left by an unfinished state write
}

// tornTail describes a torn tail found by scanSegment.
type tornTail struct {
	offset int
	bytes  int
	reason string
}

// hashBudget bounds the bytes hashed while deciding whether a damaged tail is torn (see
// validRecordAfter). Beyond it the tail is reported as corruption: never guess in favour
// of dropping data.
const hashBudget = 256 << 20

// scanSegment verifies every record of data, the contents of the segment file path whose
// first index is first, calling visit for each valid record in order. It returns the
// number of valid records and the offset just past the last one. In the last segment of
// the log (last), a torn tail stops the scan and is described by torn; anything else that
// is not a valid record is a *CorruptError.
func scanSegment(path string, data []byte, first uint64, last bool, visit func(e *raftpb.Entry, size int) error) (count uint64, end int, torn *tornTail, err error) {
	off, idx := 0, first
	for off < len(data) {
		payload, next, status := parseFrame(data, off)
		if status == recOK {
			e, size, derr := decodeEntry(payload, idx)
			if derr == nil {
				if verr := visit(e, size); verr != nil {
					return count, off, nil, corruptf(path, int64(off), idx, "%v", verr)
				}
				off, idx, count = next, idx+1, count+1
				continue
			}
			if last && next == len(data) && isZero(payload) {
				return count, off, &tornTail{off, len(data) - off, "final record's payload is all zero bytes"}, nil
			}
			return count, off, nil, corruptf(path, int64(off), idx, "%v", derr)
		}
		if !last {
			return count, off, nil, corruptf(path, int64(off), idx, "%s in a sealed segment", frameProblem(status))
		}
		reason, isTorn := classifyTail(data, off, status, idx)
		if !isTorn {
			return count, off, nil, corruptf(path, int64(off), idx, "%s", reason)
		}
		return count, off, &tornTail{off, len(data) - off, reason}, nil
	}
	return count, off, nil, nil
}

func frameProblem(status int) string {
	switch status {
	case recShortHeader:
		return "incomplete length field"
	case recBadHeader:
		return "invalid length field"
	case recCrossesEOF:
		return "record crosses the end of the file"
	}
	return "bad record"
}

// classifyTail decides whether the bytes data[off:], at which no complete record starts,
// are a torn tail (an incomplete final write: safe to drop) or damage (not safe). Torn:
// all zero bytes (the file system extended the file but did not write it), or a final
// record whose length field or payload reaches past the end of the file, unless there is
// evidence that it was complete and its length field was damaged instead.
func classifyTail(data []byte, off int, status int, idx uint64) (reason string, torn bool) {
	rest := data[off:]
	if isZero(rest) {
		return fmt.Sprintf("%d zero bytes from a record boundary to the end of the file", len(rest)), true
	}
	switch status {
	case recShortHeader, recCrossesEOF:
		if why := validRecordAfter(data, off, idx); why != "" {
			return frameProblem(status) + ", but " + why, false
		}
		return "final record (" + frameProblem(status) + ") is incomplete", true
	}
	return frameProblem(status) + " in the final record", false
}

// validRecordAfter looks for evidence that the record at data[off:] was written in full:
// the bytes after a (damaged) length field form a valid record that ends exactly at the
// end of the file, or a valid record starts somewhere after off. Either means the length
// field was damaged, not torn. It returns a description of the evidence, or "".
func validRecordAfter(data []byte, off int, idx uint64) string {
	budget := hashBudget
	for k := 1; k <= 10 && off+k+recordPrefix <= len(data); k++ {
		p := data[off+k:]
		budget -= len(p)
		if checksumOK(p) {
			if _, _, err := decodeEntry(p, idx); err == nil {
				return fmt.Sprintf("the %d bytes after offset %d are a whole, valid record (a damaged length field)", len(p), off+k)
			}
		}
	}
	for q := off + 1; q < len(data); q++ {
		p, _, status := parseFrame(data, q)
		if status != recOK {
			continue
		}
		// Cheap filter first: our records have the version byte, then the protobuf tag of
		// the Entry's lowest-numbered field present (Type, Term or Index; Index always is).
		if p[checksumSize] != recordVersion || len(p) == recordPrefix ||
			(p[recordPrefix] != 0x08 && p[recordPrefix] != 0x10 && p[recordPrefix] != 0x18) {
			continue
		}
		if budget -= len(p); budget < 0 {
			return "the tail could not be classified within the verification budget"
		}
		if !checksumOK(p) {
			continue
		}
		var e raftpb.Entry
		if proto.Unmarshal(p[recordPrefix:], &e) == nil && e.GetIndex() >= idx {
			return fmt.Sprintf("a valid record (index %d) follows at offset %d", e.GetIndex(), q)
		}
	}
	return ""
}

// segFile is a segment file of the current log directory.
type segFile struct {
	start uint64 // index of its first record (from its name)
	path  string
}

// listSegments lists the segment files of walDir in index order. tidwall/wal's
// truncation leftovers (.START, .END, .TEMP) are reported as corruption: this package
// never truncates through tidwall/wal, so they cannot be ours.
func (s *Storage) listSegments(walDir string) ([]segFile, error) {
	names, err := s.fsys.List(walDir)
	if err != nil {
		return nil, err
	}
	var segs []segFile
	for _, name := range names {
		if start, ok := parseSegmentName(name); ok {
			path := filepath.Join(walDir, name)
			_, isDir, err := s.fsys.Stat(path)
			if err != nil {
				return nil, err
			}
			if !isDir {
				segs = append(segs, segFile{start, path})
				continue
			}
		}
		for _, suf := range []string{".START", ".END", ".TEMP"} {
			if strings.HasSuffix(name, suf) {
				return nil, corruptf(filepath.Join(walDir, name), -1, 0,
					"unexpected tidwall/wal truncation file (raftlog never truncates through tidwall/wal)")
			}
		}
	}
	slices.SortFunc(segs, func(a, b segFile) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	return segs, nil
}

// recoverDir prepares s.dir for opening: removes a leftover STATE.tmp, reads (or, for an
// empty directory, creates) the state file, and removes log directories of other epochs.
func (s *Storage) recoverDir() (diskState, error) {
	rep := &s.rec
	changed := false
	if err := s.fsys.Remove(filepath.Join(s.dir, stateTmpFile)); err == nil {
		rep.RemovedTempFiles++
		changed = true
		s.log.Warn("raftlog: removed unfinished state file write", "file", stateTmpFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return diskState{}, err
	}
	st, err := s.readState()
	if errors.Is(err, fs.ErrNotExist) {
		st, err = s.initialize()
	}
	if err != nil {
		return diskState{}, err
	}
	names, err := s.fsys.List(s.dir)
	if err != nil {
		return diskState{}, err
	}
	for _, name := range names {
		epoch, ok := parseWALDirName(name)
		if !ok || epoch == st.epoch {
			continue
		}
		path := filepath.Join(s.dir, name)
		if epoch > st.epoch {
			// A snapshot installation that crashed before its state file was written:
			// the directory holds at most the snapshot's dummy record, nothing else.
			if err := s.checkUncommittedEpoch(path); err != nil {
				return diskState{}, err
			}
		}
		if err := s.fsys.RemoveAll(path); err != nil {
			return diskState{}, err
		}
		rep.RemovedEpochDirs = append(rep.RemovedEpochDirs, path)
		changed = true
		s.log.Warn("raftlog: removed log directory of another epoch", "dir", path, "current_epoch", st.epoch)
	}
	if changed {
		if err := s.dirSync(s.dir, "recovery"); err != nil {
			return diskState{}, err
		}
	}
	return st, nil
}

// checkUncommittedEpoch verifies that a log directory newer than the state file's epoch
// holds nothing but what ApplySnapshot writes before its commit point.
func (s *Storage) checkUncommittedEpoch(path string) error {
	names, err := s.fsys.List(path)
	if err != nil {
		return err
	}
	if len(names) > 1 {
		return corruptf(path, -1, 0, "log directory newer than the state file holds %d files; refusing to remove it", len(names))
	}
	for _, name := range names {
		size, _, err := s.fsys.Stat(filepath.Join(path, name))
		if err != nil {
			return err
		}
		if size > 4096 {
			return corruptf(filepath.Join(path, name), -1, 0,
				"log directory newer than the state file holds %d bytes; refusing to remove it", size)
		}
	}
	return nil
}

func (s *Storage) readState() (diskState, error) {
	path := filepath.Join(s.dir, stateFile)
	b, err := vfs.ReadFile(s.fsys, path)
	if err != nil {
		return diskState{}, err
	}
	st, err := decodeState(b)
	if err != nil {
		return diskState{}, corruptf(path, -1, 0, "%v", err)
	}
	return st, nil
}

// initialize creates a new, empty log in s.dir, which must not hold one. A wal-1
// directory with nothing but an empty first segment is left by an initialization that
// crashed before writing the state file, and is reused.
func (s *Storage) initialize() (diskState, error) {
	names, err := s.fsys.List(s.dir)
	if err != nil {
		return diskState{}, err
	}
	walDir := filepath.Join(s.dir, walDirName(1))
	for _, name := range names {
		epoch, ok := parseWALDirName(name)
		if !ok {
			continue
		}
		path := filepath.Join(s.dir, name)
		if epoch != 1 {
			return diskState{}, corruptf(filepath.Join(s.dir, stateFile), -1, 0, "state file missing but log directory %s exists", path)
		}
		sub, err := s.fsys.List(path)
		if err != nil {
			return diskState{}, err
		}
		for _, f := range sub {
			size, _, err := s.fsys.Stat(filepath.Join(path, f))
			if err != nil {
				return diskState{}, err
			}
			if f != segmentName(1) || size != 0 {
				return diskState{}, corruptf(filepath.Join(s.dir, stateFile), -1, 0,
					"state file missing but %s holds data", filepath.Join(path, f))
			}
		}
	}
	if err := s.fsys.MkdirAll(walDir); err != nil {
		return diskState{}, err
	}
	if err := s.createSegment(walDir, 1, nil); err != nil {
		return diskState{}, err
	}
	if err := s.dirSync(s.dir, "create"); err != nil {
		return diskState{}, err
	}
	st := diskState{
		epoch: 1,
		hs:    new(raftpb.HardState),
		cs:    raftpb.EnsureConfState(nil),
		snap:  raftpb.EnsureSnapshotMetadata(nil),
	}
	if err := s.writeState(st, "create"); err != nil {
		return diskState{}, err
	}
	s.rec.Created = true
	return st, nil
}

// createSegment creates the segment file named first in dir holding the frames in
// content (replacing a file of that name), syncs it and then dir.
func (s *Storage) createSegment(dir string, first uint64, content []byte) error {
	f, err := s.createFile(filepath.Join(dir, segmentName(first)))
	if err != nil {
		return err
	}
	if _, err := f.Write(content); err != nil {
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
	return s.dirSync(dir, "segment created")
}

// recoverLog verifies the current log directory against st, completes an interrupted
// Compact, repairs a torn tail, and loads the in-memory term index and tail cache.
func (s *Storage) recoverLog(st diskState) ([]segFile, error) {
	rep := &s.rec
	segs, err := s.listSegments(s.walDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, corruptf(s.walDir, -1, 0, "log directory named by the state file (epoch %d) is missing", st.epoch)
	}
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return nil, corruptf(s.walDir, -1, 0, "log directory holds no segment file")
	}
	// The segment holding the compaction point (index 1 when nothing is compacted).
	anchor := max(st.dummy, 1)
	k := -1
	for i := range segs {
		if segs[i].start <= anchor {
			k = i
		}
	}
	if k < 0 {
		return nil, corruptf(segs[0].path, 0, segs[0].start,
			"first segment starts after the compaction point %d: entries are missing", st.dummy)
	}
	// Segments wholly below the compaction point: an interrupted Compact (the state file,
	// written first, says they are no longer needed).
	for _, seg := range segs[:k] {
		if err := s.fsys.Remove(seg.path); err != nil {
			return nil, err
		}
		rep.RemovedSegments++
		s.log.Info("raftlog: removed compacted segment", "file", seg.path, "compacted_through", st.dummy)
	}
	if k > 0 {
		if err := s.dirSync(s.walDir, "recovery"); err != nil {
			return nil, err
		}
	}
	segs = segs[k:]

	s.terms = termRuns{{start: st.dummy, term: st.dummyTerm}}
	var prevTerm uint64
	visit := func(e *raftpb.Entry, size int) error {
		idx, t := e.GetIndex(), e.GetTerm()
		if t < prevTerm {
			return fmt.Errorf("term %d is below the previous entry's term %d", t, prevTerm)
		}
		prevTerm = t
		switch {
		case idx == st.dummy:
			if t != st.dummyTerm {
				return fmt.Errorf("entry at the compaction point has term %d, the state file says %d", t, st.dummyTerm)
			}
		case idx > st.dummy:
			s.terms.add(idx, t)
			s.cache.add(e, size)
		}
		return nil
	}
	expected := segs[0].start
	for i, seg := range segs {
		if seg.start != expected {
			return nil, corruptf(seg.path, 0, seg.start, "segment starts at index %d, expected %d (a gap or an overlap)", seg.start, expected)
		}
		data, err := vfs.ReadFile(s.fsys, seg.path)
		if err != nil {
			return nil, err
		}
		last := i == len(segs)-1
		count, end, torn, err := scanSegment(seg.path, data, seg.start, last, visit)
		if err != nil {
			return nil, err
		}
		rep.Segments++
		rep.Records += count
		expected = seg.start + count
		if torn != nil {
			if err := s.truncateFile(seg.path, int64(end)); err != nil {
				return nil, err
			}
			rep.TornFile, rep.TornOffset, rep.TornBytes, rep.TornReason = seg.path, int64(end), int64(torn.bytes), torn.reason
			s.log.Warn("raftlog: dropped torn tail", "file", seg.path, "offset", end, "bytes", torn.bytes,
				"reason", torn.reason, "last_index", expected-1)
		}
		if last {
			s.tailPath, s.tailSize = seg.path, int64(end)
		}
	}
	last := expected - 1
	if expected == 0 || last < st.dummy {
		return nil, corruptf(s.tailPath, s.tailSize, st.dummy, "log ends at index %d, before the compaction point %d", last, st.dummy)
	}
	if c := st.hs.GetCommit(); c > last || c < st.dummy {
		return nil, corruptf(filepath.Join(s.dir, stateFile), -1, c,
			"HardState.Commit %d outside the stored log [%d, %d]", c, st.dummy, last)
	}
	s.last = last
	return segs, nil
}

// truncateFile cuts path to size and syncs it.
func (s *Storage) truncateFile(path string, size int64) error {
	f, err := s.fsys.OpenRW(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	if err := s.fileSync(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// createFile creates path for writing, replacing a file of that name. The caller syncs
// the directory before relying on the new entry.
func (s *Storage) createFile(path string) (vfs.File, error) {
	if err := s.fsys.Remove(path); err != nil && !vfs.IsNotExist(err) {
		return nil, err
	}
	return vfs.CreateMode(s.fsys, path, 0o640)
}
