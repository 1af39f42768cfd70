package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
)

// twoSegmentLog builds a log of two segments, records 1..3 in the first (sealed) and 4..6
// in the second (last), closes it, and returns the file system and both files' contents
// with the start offsets of their records.
func twoSegmentLog(t *testing.T, o Options) (fs *vfs.MemFS, files [2][]byte, starts [2][]int64) {
	t.Helper()
	fs = vfs.NewMem()
	o.MaxSegmentBytes = headerSize + 3*(frameHeaderSize+20)
	l := mustOpen(t, fs, testDir, o)
	for i := uint64(1); i <= 6; i++ {
		mustAppend(t, l, byte(i), payloadFor(i, 0, 20))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for i, first := range []uint64{1, 4} {
		files[i] = readFile(t, fs, segPath(testDir, first))
		for k := range 3 {
			starts[i] = append(starts[i], int64(headerSize+k*(frameHeaderSize+20)))
		}
		if len(files[i]) != headerSize+3*(frameHeaderSize+20) {
			t.Fatalf("segment %d is %d bytes", first, len(files[i]))
		}
	}
	return fs, files, starts
}

// TestTornTailEveryOffset cuts the last segment at every byte offset inside its last
// record: Open must succeed, drop exactly that record, and report the dropped bytes.
func TestTornTailEveryOffset(t *testing.T) {
	fs, files, starts := twoSegmentLog(t, Options{})
	path := segPath(testDir, 4)
	last := starts[1][2]
	for cut := last; cut <= int64(len(files[1])); cut++ {
		writeFile(t, fs, path, files[1][:cut])
		l, err := Open(testDir, Options{FS: fs})
		if err != nil {
			t.Fatalf("cut at %d: Open: %v", cut, err)
		}
		st := l.Stats()
		wantLast, want := uint64(5), RecoveryReport{TruncatedBytes: cut - last, File: path, Offset: last}
		if cut == int64(len(files[1])) {
			wantLast, want = 6, RecoveryReport{}
		} else if cut == last {
			want = RecoveryReport{}
		}
		if st.LastSeq != wantLast || st.DurableSeq != wantLast || st.Recovered != want {
			t.Fatalf("cut at %d: %+v, want LastSeq %d, Recovered %+v", cut, st, wantLast, want)
		}
		if size, _, _ := fs.Stat(path); size != min(cut, last) && wantLast == 5 {
			t.Fatalf("cut at %d: file is %d bytes after recovery", cut, size)
		}
		if synced, _ := fs.SyncedSize(path); synced != int64(len(readFile(t, fs, path))) {
			t.Fatalf("cut at %d: truncation not synced", cut)
		}
		for s := uint64(1); s <= wantLast; s++ {
			checkRecord(t, l, s, byte(s), payloadFor(s, 0, 20))
		}
		if seq := mustAppend(t, l, 6, payloadFor(6, 0, 20)); seq != wantLast+1 {
			t.Fatalf("cut at %d: next Append got %d", cut, seq)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTornTailInOnlySegment cuts a single-segment log's only record at every offset.
func TestTornTailInOnlySegment(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{})
	mustAppend(t, l, 1, []byte("the only record"))
	l.Close()
	path := segPath(testDir, 1)
	b := readFile(t, fs, path)
	for cut := headerSize; cut < len(b); cut++ {
		writeFile(t, fs, path, b[:cut])
		l := mustOpen(t, fs, testDir, Options{})
		st := l.Stats()
		if st.LastSeq != 0 || st.FirstSeq != 1 || st.Recovered.TruncatedBytes != int64(cut-headerSize) {
			t.Fatalf("cut %d: %+v", cut, st)
		}
		l.Close()
	}
}

// TestZeroTail: zeros from a record boundary to the end of the last segment (a file
// system that grew the file but never wrote the data) are a torn tail.
func TestZeroTail(t *testing.T) {
	fs, files, starts := twoSegmentLog(t, Options{})
	path := segPath(testDir, 4)
	for _, at := range []int64{starts[1][1], starts[1][2], int64(len(files[1]))} {
		for _, zeros := range []int{1, 12, 13, 14, 100, 5000} {
			data := append(bytes.Clone(files[1][:at]), make([]byte, zeros)...)
			writeFile(t, fs, path, data)
			l, err := Open(testDir, Options{FS: fs})
			if err != nil {
				t.Fatalf("%d zeros at %d: %v", zeros, at, err)
			}
			want := RecoveryReport{TruncatedBytes: int64(len(data)) - at, File: path, Offset: at}
			if got := l.Stats().Recovered; got != want {
				t.Fatalf("%d zeros at %d: Recovered %+v, want %+v", zeros, at, got, want)
			}
			l.Close()
		}
	}
	// Zeros in a sealed segment are corruption.
	writeFile(t, fs, path, files[1])
	sealed := segPath(testDir, 1)
	writeFile(t, fs, sealed, append(bytes.Clone(files[0]), make([]byte, 20)...))
	if ce := asCorrupt(openErr(fs, Options{})); ce == nil || ce.File != sealed || ce.Offset != int64(len(files[0])) {
		t.Fatalf("zeros after a sealed segment: %v", ce)
	}
	// A zero run that does not reach the end of the file is corruption: the records after
	// it may have been acknowledged.
	writeFile(t, fs, sealed, files[0])
	data := bytes.Clone(files[1])
	clear(data[starts[1][1] : starts[1][1]+frameHeaderSize+20])
	writeFile(t, fs, path, data)
	if ce := asCorrupt(openErr(fs, Options{})); ce == nil || ce.Offset != starts[1][1] {
		t.Fatalf("zeroed middle record: %v", ce)
	}
	// A partial record followed by zeros that reach past its claimed end looks like a
	// complete record with a bad checksum. It could be a torn write on a file system that
	// extends the size before writing the data, but it could equally be an acknowledged
	// record whose bytes rotted (a payload may legitimately end in zeros), so it is
	// reported, never dropped.
	data = append(bytes.Clone(files[1][:starts[1][2]+frameHeaderSize+5]), make([]byte, 40)...)
	writeFile(t, fs, path, data)
	if ce := asCorrupt(openErr(fs, Options{})); ce == nil || ce.Offset != starts[1][2] {
		t.Fatalf("partial record + zeros: %v", ce)
	}
}

func openErr(fs vfs.FS, o Options) error {
	o.FS = fs
	l, err := Open(testDir, o)
	if err == nil {
		l.Close()
	}
	return err
}

// TestBitFlips flips every bit of both segment files, one at a time. Every flip must be
// reported as corruption naming the file and the offset of the damaged header (0) or
// record (its first byte) — including flips in the last record of the last segment.
//
// Which flips could pass for a torn tail? A torn tail is a final frame that crosses the
// end of the file (or an all-zero tail). Flips in the type, checksum or payload leave the
// frame whole, so its checksum fails: corruption. A flip that lowers the length leaves
// a whole frame with a wrong checksum too. A flip that raises the length of the final
// record makes the frame cross the end of the file — a torn tail by shape. scanSegment
// catches exactly this case: clearing one set bit of the length gives back a whole frame
// whose checksum verifies, which a torn write cannot produce (its payload is a prefix and
// matches a shorter length's checksum only by a 2^-64 accident), so it reports
// corruption. Damage to two or more bits of the final record's length can still look
// torn; that is the residual risk, as with any checksum scheme. A flip that raises a
// length above MaxRecordBytes is corruption by rule.
func TestBitFlips(t *testing.T) {
	for _, lazy := range []bool{false, true} {
		t.Run(fmt.Sprintf("lazy=%v", lazy), func(t *testing.T) {
			o := Options{LazyOpen: lazy}
			fs, files, starts := twoSegmentLog(t, o)
			for fi, first := range []uint64{1, 4} {
				path := segPath(testDir, first)
				orig := files[fi]
				for bit := 0; bit < len(orig)*8; bit++ {
					data := bytes.Clone(orig)
					data[bit/8] ^= 1 << (bit % 8)
					writeFile(t, fs, path, data)
					wantOff := int64(0)
					for _, s := range starts[fi] {
						if int64(bit/8) >= s {
							wantOff = s
						}
					}
					err := openErr(fs, o)
					if lazy && fi == 0 {
						// Open does not look at the sealed segment; the first access does.
						if err != nil {
							t.Fatalf("lazy Open with damaged sealed segment (bit %d): %v", bit, err)
						}
						o2 := o
						o2.FS = fs
						l, _ := Open(testDir, o2)
						_, _, err = l.Read(2, nil)
						if _, _, err2 := l.Read(5, nil); err2 != nil {
							t.Fatalf("lazy: Read of the intact segment: %v", err2)
						}
						if _, _, err3 := l.Read(3, nil); !errors.Is(err3, ErrCorrupt) {
							t.Fatalf("lazy: corruption not sticky: %v", err3)
						}
						it := l.NewIterator(1)
						if it.Next() || !errors.Is(it.Err(), ErrCorrupt) {
							t.Fatalf("lazy: iterator over damaged segment: %v", it.Err())
						}
						it.Close()
						l.Close()
					}
					ce := asCorrupt(err)
					if ce == nil || ce.File != path || ce.Offset != wantOff && !(wantOff == 0 && ce.Offset == 10) {
						t.Fatalf("bit %d of %s (byte %d): got %v, want corruption at %d", bit, path, bit/8, err, wantOff)
					}
				}
				writeFile(t, fs, path, orig)
			}
		})
	}
}

// TestHugeLength: a length field claiming a huge record must not cause a large
// allocation, whether it is refused (above MaxRecordBytes) or taken for a torn tail.
func TestHugeLength(t *testing.T) {
	for _, c := range []struct {
		name   string
		length uint32
		seg    int // 0: sealed, 1: last
		torn   bool
	}{
		{"above max, last", 0xfffffff0, 1, false},
		{"above max, sealed", 0xfffffff0, 0, false},
		{"below max, sealed", 1<<30 - 1, 0, false},
		// Many bits changed: indistinguishable from a torn write of a huge record.
		{"below max, last", 1<<30 - 1, 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := Options{MaxRecordBytes: 1 << 30}
			fs, files, starts := twoSegmentLog(t, o)
			data := bytes.Clone(files[c.seg])
			at := starts[c.seg][2]
			binary.LittleEndian.PutUint32(data[at:], c.length)
			path := segPath(testDir, []uint64{1, 4}[c.seg])
			writeFile(t, fs, path, data)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := openErr(fs, o)
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
				t.Fatalf("Open allocated %d bytes", grew)
			}
			if c.torn {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if ce := asCorrupt(err); ce == nil || ce.Offset != at || ce.File != path {
				t.Fatalf("got %v, want corruption at %d", err, at)
			}
		})
	}
}

// TestTornHeader: a last segment file whose header never fully reached the disk holds no
// records; it is rewritten as an empty segment. The same damage in a sealed segment is
// corruption.
func TestTornHeader(t *testing.T) {
	fs, files, _ := twoSegmentLog(t, Options{})
	path := segPath(testDir, 4)
	hdr := encodeHeader(4)
	cases := [][]byte{make([]byte, headerSize), make([]byte, 4096)}
	for k := 0; k < headerSize; k++ {
		cases = append(cases, hdr[:k])
	}
	for _, data := range cases {
		writeFile(t, fs, path, data)
		l, err := Open(testDir, Options{FS: fs})
		if err != nil {
			t.Fatalf("%d-byte last file: %v", len(data), err)
		}
		st := l.Stats()
		want := RecoveryReport{TruncatedBytes: int64(len(data)), File: path, Offset: 0}
		if st.LastSeq != 3 || st.FirstSeq != 1 || st.Segments != 2 || st.Recovered != want {
			t.Fatalf("%d-byte last file: %+v", len(data), st)
		}
		if got := readFile(t, fs, path); !bytes.Equal(got, hdr) {
			t.Fatalf("header not rewritten: %x", got)
		}
		if s := mustAppend(t, l, 0, []byte("x")); s != 4 {
			t.Fatalf("Append got %d", s)
		}
		l.Close()
	}
	writeFile(t, fs, path, files[1])
	sealed := segPath(testDir, 1)
	for _, data := range [][]byte{nil, hdr[:10], make([]byte, headerSize)} {
		writeFile(t, fs, sealed, data)
		if ce := asCorrupt(openErr(fs, Options{})); ce == nil || ce.File != sealed {
			t.Fatalf("%d-byte sealed file: %v", len(data), ce)
		}
	}
}

// TestSegmentGap: a missing segment in the middle is corruption (eagerly, or on first
// access of the segment before the gap with LazyOpen).
func TestSegmentGap(t *testing.T) {
	fs := vfs.NewMem()
	o := Options{MaxSegmentBytes: headerSize + 2*(frameHeaderSize+10)}
	l := mustOpen(t, fs, testDir, o)
	for i := uint64(1); i <= 6; i++ {
		mustAppend(t, l, 0, make([]byte, 10))
	}
	l.Close()
	if err := fs.Remove(segPath(testDir, 3)); err != nil {
		t.Fatal(err)
	}
	ce := asCorrupt(openErr(fs, o))
	if ce == nil || ce.File != segPath(testDir, 1) {
		t.Fatalf("gap: %v", ce)
	}
	o.LazyOpen = true
	o.FS = fs
	l, err := Open(testDir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, _, err := l.Read(1, nil); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("lazy read before gap: %v", err)
	}
	checkRecord(t, l, 5, 0, make([]byte, 10))
	// A segment file for seq 0 cannot exist.
	writeFile(t, fs, segPath(testDir, 0), encodeHeader(0))
	if !errors.Is(openErr(fs, Options{}), ErrCorrupt) {
		t.Fatal("segment 0 accepted")
	}
}

// TestPendingReset: Open completes a committed Reset and discards a torn one.
func TestPendingReset(t *testing.T) {
	fs, _, _ := twoSegmentLog(t, Options{})
	rpath := testDir + "/" + resetName(50)
	for k := 0; k <= headerSize; k++ {
		writeFile(t, fs, rpath, encodeHeader(50)[:k])
		l := mustOpen(t, fs, testDir, Options{})
		st := l.Stats()
		if k < headerSize && (st.FirstSeq != 1 || st.LastSeq != 6) {
			t.Fatalf("torn reset file (%d bytes) was applied: %+v", k, st)
		}
		if k == headerSize && (st.FirstSeq != 50 || st.LastSeq != 49 || st.Segments != 1) {
			t.Fatalf("committed reset not finished: %+v", st)
		}
		l.Close()
		if _, _, err := fs.Stat(rpath); !vfs.IsNotExist(err) {
			t.Fatalf("reset file left behind: %v", err)
		}
	}
	// A damaged (not torn) reset file is corruption.
	bad := encodeHeader(50)
	bad[3] ^= 1
	writeFile(t, fs, rpath, bad)
	if !errors.Is(openErr(fs, Options{}), ErrCorrupt) {
		t.Fatal("damaged reset file accepted")
	}
}
