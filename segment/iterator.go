package segment

import (
	"fmt"
	"sync"
)

// iterChunk is the read size of an iterator: big enough that sequential reads run at the
// speed of the page cache, small enough to keep many iterators open.
const iterChunk = 256 << 10

var iterBufPool = sync.Pool{New: func() any {
	b := make([]byte, iterChunk)
	return &b
}}

// Iterator reads records in seq order. It is not safe for concurrent use; open one per
// goroutine. Close it when done: it pins the file of the segment it is reading.
//
//	it := l.NewIterator(from)
//	defer it.Close()
//	for it.Next() {
//		use(it.Seq(), it.Type(), it.Data())
//	}
//	if err := it.Err(); err != nil { ... }
type Iterator struct {
	l    *Log
	next uint64 // seq the next call to Next returns

	seq  uint64 // current record, valid after Next returned true
	typ  byte
	data []byte // aliases w.buf

	err    error
	closed bool

	// Position. Records next..end-1 are in s, readable below w.limit, and record next
	// starts at off; valid while the log's epoch equals epoch.
	s     *segment // nil, or a segment this iterator holds a reference on
	epoch uint64
	off   int64
	end   uint64
	w     window
	bufp  *[]byte // pooled buffer lent to w
}

// NewIterator returns an iterator positioned before record from; from < FirstSeq() starts
// at FirstSeq(). It reads records appended after its creation too.
func (l *Log) NewIterator(from uint64) *Iterator {
	it := &Iterator{l: l, next: from}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		it.err = ErrClosed
		return it
	}
	it.next = max(from, l.firstSeqLocked())
	return it
}

// getBuf lends the window a pooled buffer if it has none.
func (it *Iterator) getBuf() {
	if it.bufp == nil {
		it.bufp = iterBufPool.Get().(*[]byte)
		it.w.buf = *it.bufp
		it.w.n = 0
	}
}

// putBuf gives the window's buffer back to the pool (unless it grew for an outsized
// record, which is left to the garbage collector).
func (it *Iterator) putBuf() {
	if it.bufp != nil {
		if cap(it.w.buf) == iterChunk {
			*it.bufp = it.w.buf[:iterChunk]
			iterBufPool.Put(it.bufp)
		}
		it.bufp = nil
	}
	it.w.buf, it.w.n = nil, 0
}

// Next advances to the next record and reports whether there is one. It returns false at
// the end of the log with Err() == nil, and a later call returns records appended since;
// it returns false for good once Err() != nil: ErrNotFound (wrapped) when DropBefore,
// TruncateFrom or Reset removed the next record from under the iterator, a *CorruptError,
// ErrClosed, or an I/O error.
func (it *Iterator) Next() bool {
	if it.err != nil || it.closed {
		return false
	}
	l := it.l
	it.getBuf()
	for {
		if it.s == nil || it.next >= it.end || l.epoch.Load() != it.epoch {
			ok, err := it.position()
			if err != nil {
				it.fail(err)
				return false
			}
			if !ok {
				it.data = nil
				it.putBuf() // caught up: hold no memory while idle
				return false
			}
		}
		maxRec := l.opts.MaxRecordBytes
		n, err := frameSize(&it.w, it.s.path, it.off, it.next, maxRec)
		var frame []byte
		if err == nil {
			frame, err = it.w.get(it.off, int(n))
		}
		if err == nil {
			it.typ, it.data, _, err = decodeRecord(frame, it.next, maxRec)
			if err != nil {
				err = corruptf(it.s.path, it.off, "record %d: %v", it.next, err)
			}
		}
		if err != nil {
			if l.epoch.Load() != it.epoch {
				continue // the log changed shape under us; re-resolve
			}
			it.fail(err)
			return false
		}
		it.seq = it.next
		it.off += n
		it.next++
		return true
	}
}

// position resolves it.next under the log's lock: it finds (and pins) its segment,
// flushes it if buffered, and walks from the nearest index entry. ok is false, with no
// error, when the iterator has caught up with the log.
func (it *Iterator) position() (ok bool, err error) {
	l := it.l
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return false, ErrClosed
		}
		epoch := l.epoch.Load()
		if first := l.firstSeqLocked(); it.next < first {
			l.mu.Unlock()
			return false, fmt.Errorf("%w: iterator at seq %d, but records before %d were removed", ErrNotFound, it.next, first)
		}
		if it.next >= l.next {
			l.mu.Unlock()
			return false, nil
		}
		s := l.findLocked(it.next)
		if !s.scanned {
			if err := s.scanErr; err != nil {
				l.mu.Unlock()
				return false, err
			}
			s.acquire()
			l.mu.Unlock()
			err := l.ensureScanned(s)
			s.release()
			if err != nil {
				return false, err
			}
			continue
		}
		end := s.first + s.count
		if s == l.active() {
			if it.next >= l.bufSeq {
				if err := l.flushLocked(); err != nil {
					l.mu.Unlock()
					return false, err
				}
			}
			end = l.bufSeq
		}
		limit := s.flushed
		same := s == it.s && epoch == it.epoch
		off, at := it.off, it.next
		if !same {
			off, at, _ = s.locate(it.next, limit)
			s.acquire()
		}
		l.mu.Unlock()

		if !same {
			if it.s != nil {
				it.s.release()
			}
			it.s = s
			f, err := s.file(l.fs)
			if err != nil {
				return false, err
			}
			it.w.reset(f, limit, iterChunk)
		}
		it.w.limit = limit
		it.epoch, it.end = epoch, end
		for ; at < it.next; at++ {
			n, err := frameSize(&it.w, s.path, off, at, l.opts.MaxRecordBytes)
			if err != nil {
				if l.epoch.Load() != epoch {
					break
				}
				return false, err
			}
			off += n
		}
		if at < it.next {
			continue
		}
		it.off = off
		return true, nil
	}
}

func (it *Iterator) fail(err error) {
	it.err = err
	it.data = nil
	it.releaseSegment()
	it.putBuf()
}

func (it *Iterator) releaseSegment() {
	if it.s != nil {
		it.s.release()
		it.s = nil
	}
}

// Seq returns the seq of the current record.
func (it *Iterator) Seq() uint64 { return it.seq }

// Type returns the type of the current record.
func (it *Iterator) Type() byte { return it.typ }

// Data returns the payload of the current record. It aliases the iterator's buffer: it is
// valid until the next call to Next or Close and must not be modified.
func (it *Iterator) Data() []byte { return it.data }

// Err returns the error that stopped the iterator, or nil.
func (it *Iterator) Err() error { return it.err }

// Close releases the iterator's resources. It always returns nil; calling it again is a
// no-op.
func (it *Iterator) Close() error {
	if it.closed {
		return nil
	}
	it.closed = true
	it.data = nil
	it.releaseSegment()
	it.w.reset(nil, 0, 0)
	it.putBuf()
	return nil
}
