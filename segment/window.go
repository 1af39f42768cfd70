package segment

import (
	"errors"
	"fmt"
	"io"
)

// window reads a file region [.., limit) through one bounded buffer with positioned reads
// (ReadAt), so any number of windows may read the same file concurrently with each other
// and with the appender. It never reads at or past limit and never holds more than the
// larger of its chunk size and the biggest span a caller asked for; callers bound spans by
// MaxRecordBytes and by the bytes left before limit before asking.
type window struct {
	r     io.ReaderAt
	limit int64  // bytes of the file that may be read
	chunk int    // minimum bytes fetched per ReadAt
	buf   []byte // buf[:n] holds the file bytes at [start, start+n)
	start int64
	n     int
}

func (w *window) reset(r io.ReaderAt, limit int64, chunk int) {
	w.r, w.limit, w.chunk = r, limit, chunk
	w.start, w.n = 0, 0
}

// get returns the n bytes at off. The slice aliases the window's buffer and is valid until
// the next call. off+n must not exceed limit.
func (w *window) get(off int64, n int) ([]byte, error) {
	if off >= w.start && off+int64(n) <= w.start+int64(w.n) {
		i := int(off - w.start)
		return w.buf[i : i+n], nil
	}
	if off < 0 || n < 0 || off+int64(n) > w.limit {
		return nil, fmt.Errorf("segment: internal error: read [%d,+%d) beyond limit %d", off, n, w.limit)
	}
	want := max(n, w.chunk)
	if rest := w.limit - off; int64(want) > rest {
		want = int(rest)
	}
	if cap(w.buf) < want {
		w.buf = make([]byte, want)
	}
	w.buf = w.buf[:cap(w.buf)]
	got, err := readFull(w.r, w.buf[:want], off)
	w.start, w.n = off, got
	if err != nil && got < n {
		w.n = 0
		return nil, err
	}
	return w.buf[:n], nil
}

// readFull reads len(b) bytes at off. A short read is io.ErrUnexpectedEOF, so a file that
// shrank under a reader (concurrent truncation) surfaces as an error, never as garbage.
func readFull(r io.ReaderAt, b []byte, off int64) (int, error) {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return n, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
