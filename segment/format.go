package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Wire format. Every constant in this block is part of the on-disk format; never change
// one. A new format gets a new formatVersion and code that reads both.
const (
	// segMagic opens every segment file.
	segMagic = "OCMQSEG\x00"
	// formatVersion is the version number stored in the segment header.
	formatVersion uint16 = 1
	// headerSize is the size of the segment header: magic (8) | version uint16 LE (2) |
	// first seq uint64 LE (8) | xxhash64 of the preceding 18 bytes, uint64 LE (8).
	headerSize = 26
	// frameHeaderSize is the size of a record frame header: payload length uint32 LE (4) |
	// type (1) | xxhash64 checksum uint64 LE (8). The payload follows.
	frameHeaderSize = 13
	// segSuffix ends a segment file name; the name is the first seq, zero-padded to
	// nameDigits so that names sort like numbers.
	segSuffix = ".seg"
	// resetSuffix ends the name of the file that Reset prepares before it commits.
	resetSuffix = ".reset"
	// nameDigits is the width of the seq in file names (enough for any uint64).
	nameDigits = 20
)

// Limits that are not part of the format but keep offsets within the uint32 index entries.
const (
	// maxSegmentFileBytes bounds a segment file: index offsets are uint32.
	maxSegmentFileBytes = 1<<32 - 1
	// maxRecordBytesLimit bounds Options.MaxRecordBytes.
	maxRecordBytesLimit = 1 << 30
)

// segmentName returns the file name of the segment whose first record is first.
func segmentName(first uint64) string { return fmt.Sprintf("%020d%s", first, segSuffix) }

// resetName returns the name of the pending-reset file for a reset to next.
func resetName(next uint64) string { return fmt.Sprintf("%020d%s", next, resetSuffix) }

// parseName parses "<20 digits><suffix>"; ok is false for any other name.
func parseName(name, suffix string) (seq uint64, ok bool) {
	digits, found := strings.CutSuffix(name, suffix)
	if !found || len(digits) != nameDigits {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return seq, true
}

// encodeHeader returns the segment header for a segment starting at first.
func encodeHeader(first uint64) []byte {
	b := make([]byte, headerSize)
	copy(b, segMagic)
	binary.LittleEndian.PutUint16(b[8:], formatVersion)
	binary.LittleEndian.PutUint64(b[10:], first)
	binary.LittleEndian.PutUint64(b[18:], xxhash.Sum64(b[:18]))
	return b
}

// decodeHeader validates a segment header and returns the first seq it names. The error
// is a detail string for a CorruptError (at offset 0).
func decodeHeader(b []byte) (first uint64, err error) {
	switch {
	case len(b) < headerSize:
		return 0, fmt.Errorf("segment header is %d bytes, want %d", len(b), headerSize)
	case string(b[:8]) != segMagic:
		return 0, fmt.Errorf("bad magic %q", b[:8])
	case binary.LittleEndian.Uint64(b[18:]) != xxhash.Sum64(b[:18]):
		return 0, errors.New("segment header checksum mismatch")
	case binary.LittleEndian.Uint16(b[8:]) != formatVersion:
		return 0, fmt.Errorf("unsupported format version %d", binary.LittleEndian.Uint16(b[8:]))
	}
	return binary.LittleEndian.Uint64(b[10:]), nil
}

// recordChecksum is the checksum stored in a frame. It covers the record's seq (which is
// not stored, so a frame read at the wrong position fails), the length, the type and the
// payload.
func recordChecksum(seq uint64, length uint32, typ byte, payload []byte) uint64 {
	var pre [13]byte
	binary.LittleEndian.PutUint64(pre[0:], seq)
	binary.LittleEndian.PutUint32(pre[8:], length)
	pre[12] = typ
	var d xxhash.Digest
	d.Reset()
	d.Write(pre[:])
	d.Write(payload)
	return d.Sum64()
}

// appendFrame appends the frame of record seq to dst.
func appendFrame(dst []byte, seq uint64, typ byte, payload []byte) []byte {
	return appendFrameSum(dst, typ, payload, recordChecksum(seq, uint32(len(payload)), typ, payload))
}

// appendFrameSum appends a frame whose checksum, sum, the caller computed.
func appendFrameSum(dst []byte, typ byte, payload []byte, sum uint64) []byte {
	n := len(dst)
	dst = append(dst, make([]byte, frameHeaderSize)...)
	dst = append(dst, payload...)
	h := dst[n : n+frameHeaderSize]
	binary.LittleEndian.PutUint32(h[0:], uint32(len(payload)))
	h[4] = typ
	binary.LittleEndian.PutUint64(h[5:], sum)
	return dst
}

// Decoding outcomes other than success. They carry no position; callers wrap them into a
// CorruptError or, at the tail of the last segment, treat the short ones as a torn write.
var (
	errShortHeader  = errors.New("frame header crosses end of data")
	errShortPayload = errors.New("payload crosses end of data")
	errTooLong      = errors.New("length exceeds MaxRecordBytes")
	errChecksum     = errors.New("record checksum mismatch")
)

// frameHeader is a decoded frame header.
type frameHeader struct {
	length uint32
	typ    byte
	sum    uint64
}

func parseFrameHeader(b []byte) frameHeader {
	return frameHeader{
		length: binary.LittleEndian.Uint32(b[0:]),
		typ:    b[4],
		sum:    binary.LittleEndian.Uint64(b[5:]),
	}
}

// decodeRecord decodes the frame at the start of b as record seq. The payload aliases b
// (decodeRecord never allocates). n is the frame size. A length above maxLen is refused
// before anything else is looked at, so a damaged length cannot drive an allocation.
func decodeRecord(b []byte, seq uint64, maxLen int) (typ byte, payload []byte, n int, err error) {
	if len(b) < frameHeaderSize {
		return 0, nil, 0, errShortHeader
	}
	h := parseFrameHeader(b)
	if uint64(h.length) > uint64(maxLen) {
		return 0, nil, 0, errTooLong
	}
	n = frameHeaderSize + int(h.length)
	if len(b) < n {
		return 0, nil, 0, errShortPayload
	}
	payload = b[frameHeaderSize:n:n]
	if recordChecksum(seq, h.length, h.typ, payload) != h.sum {
		return 0, nil, 0, errChecksum
	}
	return h.typ, payload, n, nil
}
