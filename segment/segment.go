package segment

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/opencmq/opencmq/segment/vfs"
)

// indexEntry locates one record of a segment: the record with seq first+delta starts at
// byte offset off of the file. Both fit in uint32 because a segment file is < 4 GiB.
type indexEntry struct {
	delta uint32
	off   uint32
}

// segment is one file of the log. Its metadata is guarded by Log.mu; its file handles by
// fmu; its lifetime by refs.
type segment struct {
	first uint64 // seq of its first record; equals the number in its file name and header
	path  string

	// refs counts the Log's reference (held while the segment is in Log.segs) plus one per
	// reader, iterator or syncer using its files. The files are closed when it drops to
	// zero, so removing a segment never closes a file under a reader. A new reference may
	// only be taken under Log.mu while the segment is in Log.segs (refs >= 1 then).
	refs atomic.Int32

	fmu sync.Mutex
	f   vfs.File // read handle; nil until first needed for a segment sealed at Open
	wf  vfs.File // write handle while this is (or was) the active segment; may equal f

	// Guarded by Log.mu.
	count   uint64 // records, including ones still in the Log's write buffer
	size    int64  // bytes, header and buffered frames included
	flushed int64  // bytes written to the file (== size for sealed segments)
	scanned bool   // index is complete (always true for the active segment)
	scanErr error  // *CorruptError found by a lazy scan; sticky
	// index has an entry for the first record and then one whenever IndexInterval bytes
	// have passed since the previous entry; ascending in delta and off.
	index []indexEntry

	scanMu sync.Mutex // serializes lazy scans of this segment
}

func newSegment(first uint64, path string) *segment {
	s := &segment{first: first, path: path}
	s.refs.Store(1)
	return s
}

func (s *segment) acquire() { s.refs.Add(1) }

// release drops a reference and closes the files when it was the last one.
func (s *segment) release() {
	if s.refs.Add(-1) != 0 {
		return
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.wf != nil && s.wf != s.f {
		s.wf.Close()
	}
	if s.f != nil {
		s.f.Close()
	}
	s.f, s.wf = nil, nil
}

// file returns the read handle, opening the file read-only on first use.
func (s *segment) file(fs vfs.FS) (vfs.File, error) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.f == nil {
		f, err := fs.Open(s.path)
		if err != nil {
			return nil, err
		}
		s.f = f
	}
	return s.f, nil
}

// addIndex records that record seq starts at off, if the interval rule asks for an entry.
func (s *segment) addIndex(seq uint64, off int64, interval int) {
	if n := len(s.index); n > 0 && off-int64(s.index[n-1].off) < int64(interval) {
		return
	}
	s.index = append(s.index, indexEntry{delta: uint32(seq - s.first), off: uint32(off)})
}

// locate returns where to start reading for record seq: the offset and seq of the closest
// indexed record at or before it, and the offset of the next indexed record (or limit),
// before which seq's frame starts.
func (s *segment) locate(seq uint64, limit int64) (off int64, at uint64, end int64) {
	d := uint32(seq - s.first)
	i := sort.Search(len(s.index), func(i int) bool { return s.index[i].delta > d }) - 1
	if i < 0 { // the first record is always indexed once the segment has any
		return headerSize, s.first, limit
	}
	end = limit
	if i+1 < len(s.index) {
		end = int64(s.index[i+1].off)
	}
	return int64(s.index[i].off), s.first + uint64(s.index[i].delta), end
}

// trimIndex drops the entries of records at or after seq.
func (s *segment) trimIndex(seq uint64) {
	d := seq - s.first
	i := sort.Search(len(s.index), func(i int) bool { return uint64(s.index[i].delta) >= d })
	s.index = s.index[:i]
}
