package segment

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"

	"github.com/opencmq/opencmq/segment/vfs"
)

// RecoveryReport describes the torn tail Open removed, if any. A torn tail is what a crash
// leaves of writes that were never made durable: an incomplete final record, zero bytes
// where the file system extended the file but did not write it, or a segment file created
// just before the crash whose header never reached the disk.
type RecoveryReport struct {
	TruncatedBytes int64  // bytes dropped (0: nothing was torn)
	File           string // path of the file they were dropped from
	Offset         int64  // new size of that file: where the torn tail began
}

// scanChunk is the read size used to verify segments at Open.
const scanChunk = 1 << 20

// scanResult describes a verified segment.
type scanResult struct {
	count uint64       // whole, valid records
	size  int64        // end of the last whole record (header size if none)
	index []indexEntry // per the IndexInterval rule
	torn  bool         // last segment only: [size, file size) is a torn tail
}

// scanSegment verifies a whole segment file of fileSize bytes and indexes it. For the last
// segment of the log (last), an incomplete final record or an all-zero tail is reported as
// torn; everything else that is not a valid record, in any segment, is a *CorruptError.
// Memory use is bounded by scanChunk and the largest record (itself bounded by maxRec).
func scanSegment(r io.ReaderAt, fileSize int64, path string, first uint64, last bool, maxRec, interval int) (scanResult, error) {
	w := &window{}
	w.reset(r, fileSize, scanChunk)
	if fileSize < headerSize {
		return scanResult{}, corruptf(path, 0, "file is %d bytes, shorter than the segment header", fileSize)
	}
	hdr, err := w.get(0, headerSize)
	if err != nil {
		return scanResult{}, err
	}
	hfirst, err := decodeHeader(hdr)
	if err != nil {
		return scanResult{}, corruptf(path, 0, "%v", err)
	}
	if hfirst != first {
		return scanResult{}, corruptf(path, 10, "header names first seq %d, file name says %d", hfirst, first)
	}
	res := scanResult{size: headerSize}
	seg := segment{first: first}
	off, seq := int64(headerSize), first
	for off < fileSize {
		rest := fileSize - off
		if rest < frameHeaderSize {
			if last {
				res.torn = true
				break
			}
			return res, corruptf(path, off, "%d trailing bytes, too short for a record", rest)
		}
		b, err := w.get(off, frameHeaderSize)
		if err != nil {
			return res, err
		}
		if last && isZero(b) {
			zero, err := zeroFrom(w, off, fileSize)
			if err != nil {
				return res, err
			}
			if zero {
				res.torn = true
				break
			}
		}
		h := parseFrameHeader(b)
		if uint64(h.length) > uint64(maxRec) {
			return res, corruptf(path, off, "record %d: length %d exceeds MaxRecordBytes %d", seq, h.length, maxRec)
		}
		n := frameHeaderSize + int64(h.length)
		if n > rest {
			if !last {
				return res, corruptf(path, off, "record %d: %d-byte frame crosses end of file", seq, n)
			}
			if l, ok, err := damagedLength(w, off, rest, seq, h); err != nil {
				return res, err
			} else if ok {
				return res, corruptf(path, off, "record %d: length field damaged: the frame is whole and valid with length %d, not %d", seq, l, h.length)
			}
			res.torn = true
			break
		}
		frame, err := w.get(off, int(n))
		if err != nil {
			return res, err
		}
		if _, _, _, err := decodeRecord(frame, seq, maxRec); err != nil {
			return res, corruptf(path, off, "record %d: %v", seq, err)
		}
		seg.addIndex(seq, off, interval)
		off += n
		seq++
	}
	res.count = seq - first
	res.size = off
	res.index = seg.index
	return res, nil
}

// damagedLength tells a torn final write from a damaged length field. The frame at off
// claims more bytes than the rest bytes left in the file. If clearing one set bit of its
// length yields a frame that fits and whose checksum verifies, the record was written
// whole and a bit of its length flipped afterwards: that is corruption of possibly
// acknowledged data, not a torn write. (A torn write leaves a prefix of the payload, which
// matches the checksum of a shorter length only by a 2^-64 accident.)
func damagedLength(w *window, off, rest int64, seq uint64, h frameHeader) (uint32, bool, error) {
	var b []byte
	for bit := uint32(1); bit != 0; bit <<= 1 {
		if h.length&bit == 0 {
			continue
		}
		l := h.length &^ bit
		if frameHeaderSize+int64(l) > rest {
			continue
		}
		if b == nil {
			var err error
			if b, err = w.get(off, int(rest)); err != nil {
				return 0, false, err
			}
		}
		if recordChecksum(seq, l, h.typ, b[frameHeaderSize:frameHeaderSize+int(l)]) == h.sum {
			return l, true, nil
		}
	}
	return 0, false, nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// zeroFrom reports whether every byte in [off, end) is zero.
func zeroFrom(w *window, off, end int64) (bool, error) {
	for off < end {
		n := int(min(end-off, scanChunk))
		b, err := w.get(off, n)
		if err != nil {
			return false, err
		}
		if !isZero(b) {
			return false, nil
		}
		off += int64(n)
	}
	return true, nil
}

// fileIsZero reports whether the whole file (size bytes) is zeros.
func fileIsZero(f io.ReaderAt, size int64) (bool, error) {
	w := &window{}
	w.reset(f, size, scanChunk)
	return zeroFrom(w, 0, size)
}

// Open opens the log in dir, creating dir (and making its entry durable) if it does not
// exist, and recovers it:
//
//   - A pending Reset that had committed is completed; one that had not is discarded.
//   - Every segment is verified (only the last one with LazyOpen): headers, names,
//     checksums, and that each segment holds exactly the records up to the next one.
//   - A torn tail of the last segment is truncated away and reported in
//     Stats().Recovered; a last segment file whose header never reached the disk is
//     rewritten empty.
//
// Anything else that is not what this package wrote fails Open with a *CorruptError: Open
// never drops data that may have been acknowledged. An empty or new directory is a new
// log whose first Append gets seq 1. Everything recovered is made durable before Open
// returns, so DurableSeq() == LastSeq().
func Open(dir string, opts Options) (*Log, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, fs: o.FS, opts: o}
	if err := l.recover(); err != nil {
		for _, s := range l.segs {
			s.release()
		}
		return nil, err
	}
	return l, nil
}

func (l *Log) recover() error {
	if err := l.openDir(); err != nil {
		return err
	}
	firsts, resets, err := l.listDir()
	if err != nil {
		return err
	}
	if len(resets) > 0 {
		if err := l.finishReset(resets, firsts); err != nil {
			return err
		}
		if firsts, _, err = l.listDir(); err != nil {
			return err
		}
	}
	if len(firsts) == 0 {
		s, err := l.createSegment(1)
		if err != nil {
			return err
		}
		l.segs = []*segment{s}
		l.next, l.bufSeq = 1, 1
		l.nextSeq.Store(1)
		return nil
	}
	if firsts[0] == 0 {
		return corruptf(l.path(segmentName(0)), 0, "segment file for seq 0; seqs start at 1")
	}
	for _, first := range firsts {
		l.segs = append(l.segs, newSegment(first, l.path(segmentName(first))))
	}
	for i, s := range l.segs[:len(l.segs)-1] {
		s.count = l.segs[i+1].first - s.first
		if l.opts.LazyOpen {
			size, _, err := l.fs.Stat(s.path)
			if err != nil {
				return err
			}
			s.size, s.flushed = size, size
			continue
		}
		f, err := l.fs.Open(s.path)
		if err != nil {
			return err
		}
		size, err := f.Size()
		if err == nil {
			var res scanResult
			if res, err = l.scanSealed(f, s, size, s.count); err == nil {
				s.size, s.flushed, s.index, s.scanned = size, size, res.index, true
			}
		}
		f.Close()
		if err != nil {
			return err
		}
	}
	if err := l.recoverLast(l.segs[len(l.segs)-1]); err != nil {
		return err
	}
	last := l.segs[len(l.segs)-1]
	l.next = last.first + last.count
	l.bufSeq = l.next
	l.nextSeq.Store(l.next)
	l.durable.Store(l.next - 1)
	// The recovered bytes may so far live only in the page cache (after a process crash)
	// and the entries of files created just before it may not be durable either.
	if err := l.syncFile(last.wf); err != nil {
		return err
	}
	return l.syncDir()
}

// scanSealed verifies a sealed segment of size bytes read through f: it must hold exactly
// count records (the count implied by the next segment's name) and nothing else.
func (l *Log) scanSealed(f io.ReaderAt, s *segment, size int64, count uint64) (scanResult, error) {
	res, err := scanSegment(f, size, s.path, s.first, false, l.opts.MaxRecordBytes, l.opts.IndexInterval)
	if err != nil {
		return res, err
	}
	if res.count != count {
		return res, corruptf(s.path, res.size, "segment holds %d records (seqs %d..%d) but the next segment starts at seq %d",
			res.count, s.first, s.first+res.count-1, s.first+count)
	}
	return res, nil
}

// recoverLast opens the last segment for appending, repairing a torn tail or a torn header.
func (l *Log) recoverLast(s *segment) error {
	f, err := l.fs.OpenRW(s.path)
	if err != nil {
		return err
	}
	s.f, s.wf = f, f // owned by s from here on; closed by release on error
	size, err := f.Size()
	if err != nil {
		return err
	}
	torn := size < headerSize
	if !torn {
		if torn, err = fileIsZero(f, size); err != nil {
			return err
		}
	}
	if torn {
		// Created just before a crash, before its header was durable; since a segment's
		// header is synced before any record is appended, it holds no records.
		if err := f.Truncate(0); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := f.Write(encodeHeader(s.first)); err != nil {
			return err
		}
		if err := l.syncFile(f); err != nil {
			return err
		}
		if err := l.syncDir(); err != nil {
			return err
		}
		l.recovered = RecoveryReport{TruncatedBytes: size, File: s.path, Offset: 0}
		s.size, s.flushed, s.scanned = headerSize, headerSize, true
		return nil
	}
	res, err := scanSegment(f, size, s.path, s.first, true, l.opts.MaxRecordBytes, l.opts.IndexInterval)
	if err != nil {
		return err
	}
	if res.torn {
		if err := f.Truncate(res.size); err != nil {
			return err
		}
		if err := l.syncFile(f); err != nil {
			return err
		}
		l.recovered = RecoveryReport{TruncatedBytes: size - res.size, File: s.path, Offset: res.size}
	}
	if _, err := f.Seek(res.size, io.SeekStart); err != nil {
		return err
	}
	s.count, s.size, s.flushed, s.index, s.scanned = res.count, res.size, res.size, res.index, true
	return nil
}

// openDir creates the log directory if needed and makes its entry durable, and the entry
// of every parent directory it had to create.
func (l *Log) openDir() error {
	_, isDir, err := l.fs.Stat(l.dir)
	switch {
	case err == nil && !isDir:
		return fmt.Errorf("segment: %s is not a directory", l.dir)
	case err == nil:
		return nil
	case !vfs.IsNotExist(err):
		return err
	}
	// created lists the directories MkdirAll will create, deepest first.
	var created []string
	for d := filepath.Clean(l.dir); ; {
		created = append(created, d)
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		if _, _, err := l.fs.Stat(parent); err == nil || !vfs.IsNotExist(err) {
			break
		}
		d = parent
	}
	if err := l.fs.MkdirAll(l.dir); err != nil {
		return err
	}
	if l.opts.NoSync {
		return nil
	}
	for i := len(created) - 1; i >= 0; i-- {
		if err := l.fs.SyncDir(filepath.Dir(created[i])); err != nil {
			return err
		}
	}
	return nil
}

// listDir returns the first seqs of the segment files, ascending, and the names of
// pending-reset files. Other files are ignored.
func (l *Log) listDir() (firsts []uint64, resets []string, err error) {
	names, err := l.fs.List(l.dir)
	if err != nil {
		return nil, nil, err
	}
	for _, name := range names {
		if seq, ok := parseName(name, segSuffix); ok {
			firsts = append(firsts, seq)
		} else if _, ok := parseName(name, resetSuffix); ok {
			resets = append(resets, name)
		}
	}
	slices.Sort(firsts)
	return firsts, resets, nil
}

// finishReset resolves pending-reset files left by a crash during Reset. Reset commits
// when its file, holding just a valid header, is durable; a committed reset is redone
// (remove every segment, rename the file into place), an uncommitted one (torn file) is
// discarded and leaves the log as it was.
func (l *Log) finishReset(resets []string, firsts []uint64) error {
	var commit string
	var next uint64
	for _, name := range resets {
		path := l.path(name)
		seq, _ := parseName(name, resetSuffix)
		valid, err := l.checkResetFile(path, seq)
		if err != nil {
			return err
		}
		if !valid {
			if err := l.fs.Remove(path); err != nil {
				return err
			}
			continue
		}
		if commit != "" {
			return corruptf(path, 0, "two committed resets pending (also %s)", commit)
		}
		commit, next = name, seq
	}
	if commit != "" {
		for _, first := range firsts {
			if err := l.fs.Remove(l.path(segmentName(first))); err != nil {
				return err
			}
		}
		if err := l.syncDir(); err != nil {
			return err
		}
		if err := l.fs.Rename(l.path(commit), l.path(segmentName(next))); err != nil {
			return err
		}
	}
	return l.syncDir()
}

// checkResetFile reports whether a pending-reset file is committed (valid) or torn.
func (l *Log) checkResetFile(path string, seq uint64) (bool, error) {
	f, err := l.fs.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return false, err
	}
	if size < headerSize {
		return false, nil
	}
	if zero, err := fileIsZero(f, size); err != nil || zero {
		return false, err
	}
	b := make([]byte, headerSize)
	if _, err := readFull(f, b, 0); err != nil {
		return false, err
	}
	first, err := decodeHeader(b)
	switch {
	case err != nil:
		return false, corruptf(path, 0, "%v", err)
	case first != seq || seq == 0:
		return false, corruptf(path, 10, "header names first seq %d, file name says %d", first, seq)
	case size != headerSize:
		return false, corruptf(path, headerSize, "pending-reset file has %d bytes after its header", size-headerSize)
	}
	return true, nil
}
