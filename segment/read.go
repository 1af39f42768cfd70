package segment

import (
	"errors"
	"fmt"
	"sync"
)

// windowPool recycles the read windows of Read, so a random read allocates nothing when
// the caller's buffer is big enough.
var windowPool = sync.Pool{New: func() any { return new(window) }}

func putWindow(w *window) {
	w.r = nil
	if cap(w.buf) > 1<<20 {
		w.buf = nil // do not pin the window of an outsized record
	}
	windowPool.Put(w)
}

// Read returns the type and payload of record seq. The payload is stored in buf if it fits
// (cap(buf) is enough) and in a new slice otherwise; either way the caller owns it. Read
// returns ErrNotFound (wrapped) if seq < FirstSeq() or seq > LastSeq(), a *CorruptError if
// the record fails verification (with LazyOpen, also if its segment does), ErrClosed after
// Close, or an I/O error. Records not yet written to the file are flushed first, so they
// are readable at once; reads do not wait for durability. A failed log can still read
// what it had written.
func (l *Log) Read(seq uint64, buf []byte) (typ byte, data []byte, err error) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return 0, nil, ErrClosed
		}
		if seq < l.firstSeqLocked() || seq >= l.next {
			err := fmt.Errorf("%w: seq %d outside [%d, %d]", ErrNotFound, seq, l.firstSeqLocked(), l.next-1)
			l.mu.Unlock()
			return 0, nil, err
		}
		s := l.findLocked(seq)
		if !s.scanned {
			if err := s.scanErr; err != nil {
				l.mu.Unlock()
				return 0, nil, err
			}
			s.acquire()
			l.mu.Unlock()
			err := l.ensureScanned(s)
			s.release()
			if err != nil {
				return 0, nil, err
			}
			continue
		}
		if s == l.active() && seq >= l.bufSeq {
			if err := l.flushLocked(); err != nil {
				l.mu.Unlock()
				return 0, nil, err
			}
		}
		off, at, _ := s.locate(seq, s.flushed)
		limit := s.flushed
		epoch := l.epoch.Load()
		s.acquire()
		l.mu.Unlock()

		typ, data, err = l.readFrom(s, off, at, seq, limit, buf)
		s.release()
		if err == nil || l.epoch.Load() == epoch {
			return typ, data, err
		}
		// The records moved under us (dropped, truncated, reset): the error may be an
		// artefact of that. Look again; the seq may now simply be gone.
	}
}

// readFrom reads record seq of s, walking forward from the record at (off, at) through
// bytes below limit.
func (l *Log) readFrom(s *segment, off int64, at, seq uint64, limit int64, dst []byte) (byte, []byte, error) {
	f, err := s.file(l.fs)
	if err != nil {
		return 0, nil, err
	}
	w := windowPool.Get().(*window)
	defer putWindow(w)
	w.reset(f, limit, l.opts.readChunk())
	maxRec := l.opts.MaxRecordBytes
	for ; at < seq; at++ {
		n, err := frameSize(w, s.path, off, at, maxRec)
		if err != nil {
			return 0, nil, err
		}
		off += n
	}
	n, err := frameSize(w, s.path, off, seq, maxRec)
	if err != nil {
		return 0, nil, err
	}
	b, err := w.get(off, frameHeaderSize)
	if err != nil {
		return 0, nil, err
	}
	h := parseFrameHeader(b)
	var payload []byte
	if int(h.length) <= cap(dst) {
		payload = dst[:h.length]
	} else {
		payload = make([]byte, h.length)
	}
	if off+n <= w.start+int64(w.n) {
		i := off + frameHeaderSize - w.start
		copy(payload, w.buf[i:i+int64(h.length)])
	} else if _, err := readFull(f, payload, off+frameHeaderSize); err != nil {
		return 0, nil, err
	}
	if recordChecksum(seq, h.length, h.typ, payload) != h.sum {
		return 0, nil, corruptf(s.path, off, "record %d: %v", seq, errChecksum)
	}
	return h.typ, payload, nil
}

// ensureScanned verifies and indexes a segment sealed at a LazyOpen, once. A corruption
// it finds is remembered and returned to every later access of the segment. It returns
// nil without installing anything if the log changed shape meanwhile; callers re-resolve.
func (l *Log) ensureScanned(s *segment) error {
	s.scanMu.Lock()
	defer s.scanMu.Unlock()
	l.mu.Lock()
	done, serr, count, size := s.scanned, s.scanErr, s.count, s.size
	epoch := l.epoch.Load()
	l.mu.Unlock()
	if done || serr != nil {
		return serr
	}
	f, err := s.file(l.fs)
	if err != nil {
		return err
	}
	res, err := l.scanSealed(f, s, size, count)

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.epoch.Load() != epoch || s.scanned {
		return nil
	}
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			s.scanErr = err
		}
		return err
	}
	s.index, s.scanned = res.index, true
	return nil
}

// scanLocked is ensureScanned for callers that hold mu and have the log to themselves.
func (l *Log) scanLocked(s *segment) error {
	if s.scanErr != nil {
		return s.scanErr
	}
	f, err := s.file(l.fs)
	if err != nil {
		return err
	}
	res, err := l.scanSealed(f, s, s.size, s.count)
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			s.scanErr = err
		}
		return err
	}
	s.index, s.scanned = res.index, true
	return nil
}
