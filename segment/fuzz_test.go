package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// fuzzMaxRecord is the MaxRecordBytes the fuzz targets decode with.
const fuzzMaxRecord = 1 << 12

// boundedReader is a ReaderAt over b that records the largest read asked of it.
type boundedReader struct {
	b       []byte
	maxRead int
}

func (r *boundedReader) ReadAt(p []byte, off int64) (int, error) {
	r.maxRead = max(r.maxRead, len(p))
	if off < 0 || off > int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// FuzzDecodeRecord feeds arbitrary bytes to the record decoder and, as a segment body, to
// the segment scanner. Neither may panic; the decoder never allocates and never returns a
// payload it did not verify; the scanner never asks for more bytes than the data holds
// nor, beyond its chunk, more than one frame of MaxRecordBytes; a record encoded from
// the input decodes back to it, and only at its own seq. `go test` runs the seeds below;
// `go test -fuzz FuzzDecodeRecord ./segment/` explores.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte{}, uint64(1), byte(0))
	f.Add([]byte("hello"), uint64(1), byte(7))
	f.Add(appendFrame(nil, 3, 1, []byte("a valid frame")), uint64(3), byte(1))
	f.Add(appendFrame(nil, 3, 1, []byte("a valid frame"))[:10], uint64(3), byte(1))
	f.Add(append(appendFrame(nil, 1, 0, nil), appendFrame(nil, 2, 0, []byte("x"))...), uint64(1), byte(0))
	f.Add(make([]byte, 64), uint64(1), byte(0))
	huge := make([]byte, frameHeaderSize+4)
	binary.LittleEndian.PutUint32(huge, 0xfffffff0)
	f.Add(huge, uint64(1), byte(0))
	below := make([]byte, frameHeaderSize+4)
	binary.LittleEndian.PutUint32(below, fuzzMaxRecord)
	f.Add(below, uint64(9), byte(2))
	f.Fuzz(func(t *testing.T, data []byte, seq uint64, typ byte) {
		// Arbitrary bytes as a frame.
		gt, payload, n, err := decodeRecord(data, seq, fuzzMaxRecord)
		if err == nil {
			if n < frameHeaderSize || n > len(data) || len(payload) != n-frameHeaderSize || gt != data[4] {
				t.Fatalf("decode accepted a bad frame: n=%d len=%d", n, len(data))
			}
			if !bytes.Equal(appendFrame(nil, seq, gt, payload), data[:n]) {
				t.Fatal("accepted frame does not re-encode to itself")
			}
		} else if !errors.Is(err, errShortHeader) && !errors.Is(err, errShortPayload) &&
			!errors.Is(err, errTooLong) && !errors.Is(err, errChecksum) {
			t.Fatalf("unexpected error %v", err)
		}

		// Round trip.
		if len(data) <= fuzzMaxRecord {
			frame := appendFrame(nil, seq, typ, data)
			gt, got, n, err := decodeRecord(frame, seq, fuzzMaxRecord)
			if err != nil || gt != typ || n != len(frame) || !bytes.Equal(got, data) {
				t.Fatalf("round trip: %v", err)
			}
			if _, _, _, err := decodeRecord(frame, seq+1, fuzzMaxRecord); !errors.Is(err, errChecksum) {
				t.Fatalf("frame decoded at another seq: %v", err)
			}
			for _, cut := range []int{0, 1, frameHeaderSize - 1, frameHeaderSize, len(frame) - 1} {
				if cut >= 0 && cut < len(frame) {
					if _, _, _, err := decodeRecord(frame[:cut], seq, fuzzMaxRecord); err == nil {
						t.Fatalf("decoded a frame cut at %d", cut)
					}
				}
			}
		}

		// Arbitrary bytes as the body of a segment, sealed and last.
		first := max(seq, 1)
		file := append(encodeHeader(first), data...)
		for _, last := range []bool{false, true} {
			r := &boundedReader{b: file}
			res, err := scanSegment(r, int64(len(file)), "fuzz.seg", first, last, fuzzMaxRecord, 64)
			if r.maxRead > len(file) || r.maxRead > max(scanChunk, frameHeaderSize+fuzzMaxRecord) {
				t.Fatalf("scan read %d bytes at once from a %d-byte file", r.maxRead, len(file))
			}
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("scan error is not a CorruptError: %v", err)
				}
				continue
			}
			if res.size < headerSize || res.size > int64(len(file)) || (!last || !res.torn) && res.size != int64(len(file)) {
				t.Fatalf("scan size %d of %d (torn %v)", res.size, len(file), res.torn)
			}
			// Every record the scan counted decodes where the index says.
			off := int64(headerSize)
			for s := first; s < first+res.count; s++ {
				_, _, n, err := decodeRecord(file[off:res.size], s, fuzzMaxRecord)
				if err != nil {
					t.Fatalf("record %d counted by the scan does not decode: %v", s, err)
				}
				off += int64(n)
			}
			if off != res.size {
				t.Fatalf("records end at %d, scan says %d", off, res.size)
			}
		}
	})
}

// TestDecodeRecordDoesNotAllocate: decoding aliases its input.
func TestDecodeRecordDoesNotAllocate(t *testing.T) {
	frame := appendFrame(nil, 5, 1, bytes.Repeat([]byte("x"), 1000))
	huge := bytes.Clone(frame)
	binary.LittleEndian.PutUint32(huge, 0xffffffff)
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, _, err := decodeRecord(frame, 5, 1<<20); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := decodeRecord(huge, 5, 1<<20); !errors.Is(err, errTooLong) {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per decode", allocs)
	}
}
