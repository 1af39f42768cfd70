package raftlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// On-disk format constants. Changing any of them changes the format (see doc.go).
const (
	// recordVersion is the byte after the checksum in every log record.
	recordVersion = 1
	// checksumSize is the size of the xxhash64 checksum that starts every record payload.
	checksumSize = 8
	// recordPrefix is checksum + version: the smallest possible payload.
	recordPrefix = checksumSize + 1

	// stateMagic starts the state file; stateVersion follows it.
	stateMagic   = "OCMQRFTS"
	stateVersion = 1
	// stateFixed is magic + version + epoch + dummy index + dummy term.
	stateFixed = 8 + 2 + 8 + 8 + 8

	stateFile    = "STATE"
	stateTmpFile = "STATE.tmp"
	commitFile   = "COMMIT"
	commitSize   = 16
	walPrefix    = "wal-"
	nameDigits   = 20
)

var marshalOpts = proto.MarshalOptions{Deterministic: true}

// segmentName is tidwall/wal's file name for a segment whose first index is first.
func segmentName(first uint64) string { return fmt.Sprintf("%020d", first) }

// parseSegmentName reports the first index of a segment file name (exactly 20 digits,
// not zero), as tidwall/wal names them.
func parseSegmentName(name string) (uint64, bool) {
	if len(name) != nameDigits {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(name, 10, 64)
	if err != nil || v == 0 {
		return 0, false
	}
	return v, true
}

// walDirName is the name of the log directory of an epoch.
func walDirName(epoch uint64) string { return fmt.Sprintf("%s%020d", walPrefix, epoch) }

// parseWALDirName reports the epoch of a log directory name.
func parseWALDirName(name string) (uint64, bool) {
	if len(name) != len(walPrefix)+nameDigits || name[:len(walPrefix)] != walPrefix {
		return 0, false
	}
	return parseSegmentName(name[len(walPrefix):])
}

// appendPayload appends the record payload of e (what tidwall/wal stores, behind its own
// uvarint length): checksum(8, LE) | version(1) | deterministic protobuf of e. The checksum
// is xxhash64 of everything after it, so it covers the entry's Index and Term.
func appendPayload(dst []byte, e *raftpb.Entry) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0, recordVersion)
	dst, err := marshalOpts.MarshalAppend(dst, e)
	if err != nil {
		return dst[:start], err
	}
	binary.LittleEndian.PutUint64(dst[start:], xxhash.Sum64(dst[start+checksumSize:]))
	return dst, nil
}

// checksumOK reports whether payload carries a valid checksum (says nothing about its
// contents or position).
func checksumOK(payload []byte) bool {
	return len(payload) >= recordPrefix &&
		binary.LittleEndian.Uint64(payload) == xxhash.Sum64(payload[checksumSize:])
}

// decodeEntry verifies and decodes a record payload that must hold the entry at index.
// The returned entry does not alias payload. size is the entry's encoded (proto) size.
func decodeEntry(payload []byte, index uint64) (e *raftpb.Entry, size int, err error) {
	if len(payload) < recordPrefix {
		return nil, 0, fmt.Errorf("record of %d bytes is shorter than its %d-byte prefix", len(payload), recordPrefix)
	}
	if !checksumOK(payload) {
		return nil, 0, fmt.Errorf("checksum mismatch: stored %#016x, computed %#016x",
			binary.LittleEndian.Uint64(payload), xxhash.Sum64(payload[checksumSize:]))
	}
	if v := payload[checksumSize]; v != recordVersion {
		return nil, 0, fmt.Errorf("unknown record version %d", v)
	}
	e = new(raftpb.Entry)
	if err := proto.Unmarshal(payload[recordPrefix:], e); err != nil {
		return nil, 0, fmt.Errorf("entry does not decode: %v", err)
	}
	if e.Index == nil || e.GetIndex() != index {
		return nil, 0, fmt.Errorf("record holds index %d, expected %d", e.GetIndex(), index)
	}
	return e, len(payload) - recordPrefix, nil
}

// uvarintLen is the size of x as a uvarint.
func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// Record framing status, as parsed from a segment file.
const (
	recOK          = iota // a complete frame (payload not yet verified)
	recShortHeader        // the file ends inside the uvarint length
	recBadHeader          // the uvarint overflows, or the length is too small for a payload
	recCrossesEOF         // the payload would extend past the end of the file
)

// parseFrame parses the tidwall/wal frame (uvarint length + payload) at data[off:].
func parseFrame(data []byte, off int) (payload []byte, next int, status int) {
	l, n := binary.Uvarint(data[off:])
	switch {
	case n == 0:
		return nil, off, recShortHeader
	case n < 0 || l < recordPrefix:
		return nil, off, recBadHeader
	case l > uint64(len(data)-off-n):
		return nil, off, recCrossesEOF
	}
	end := off + n + int(l)
	return data[off+n : end], end, recOK
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// encodeCommitHint renders the commit hint file: commit uint64 LE | xxhash64("OCMQCMIT"
// | commit uint64 LE) uint64 LE.
func encodeCommitHint(commit uint64) []byte {
	b := binary.LittleEndian.AppendUint64(make([]byte, 0, commitSize), commit)
	return binary.LittleEndian.AppendUint64(b, commitHintSum(b))
}

// decodeCommitHint parses a commit hint file; ok is false unless it is intact.
func decodeCommitHint(b []byte) (commit uint64, ok bool) {
	if len(b) != commitSize || commitHintSum(b[:8]) != binary.LittleEndian.Uint64(b[8:]) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b), true
}

func commitHintSum(commit []byte) uint64 {
	d := xxhash.New()
	d.WriteString("OCMQCMIT")
	d.Write(commit)
	return d.Sum64()
}

// diskState is the content of the state file.
type diskState struct {
	epoch     uint64 // names the current log directory, wal-<epoch>
	dummy     uint64 // index of the last compacted entry (the "dummy"); FirstIndex is dummy+1
	dummyTerm uint64 // its term
	hs        *raftpb.HardState
	cs        *raftpb.ConfState
	snap      *raftpb.SnapshotMetadata // of the last ApplySnapshot (Index 0: none)
}

// encodeState renders st as the state file:
//
//	magic "OCMQRFTS" | version u16 | epoch u64 | dummy u64 | dummyTerm u64 |
//	len u32 | HardState | len u32 | ConfState | len u32 | SnapshotMetadata | xxhash64
//
// with little-endian integers, protobuf messages, and a checksum of all that precedes it.
func encodeState(st diskState) ([]byte, error) {
	b := make([]byte, 0, 128)
	b = append(b, stateMagic...)
	b = binary.LittleEndian.AppendUint16(b, stateVersion)
	b = binary.LittleEndian.AppendUint64(b, st.epoch)
	b = binary.LittleEndian.AppendUint64(b, st.dummy)
	b = binary.LittleEndian.AppendUint64(b, st.dummyTerm)
	for _, m := range []proto.Message{st.hs, st.cs, st.snap} {
		mb, err := marshalOpts.Marshal(m)
		if err != nil {
			return nil, err
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(mb)))
		b = append(b, mb...)
	}
	return binary.LittleEndian.AppendUint64(b, xxhash.Sum64(b)), nil
}

// decodeState parses a state file written by encodeState.
func decodeState(b []byte) (diskState, error) {
	var st diskState
	if len(b) < stateFixed+3*4+8 {
		return st, fmt.Errorf("state file of %d bytes is too short", len(b))
	}
	body, sum := b[:len(b)-8], binary.LittleEndian.Uint64(b[len(b)-8:])
	if xxhash.Sum64(body) != sum {
		return st, errors.New("state file checksum mismatch")
	}
	if string(body[:8]) != stateMagic {
		return st, errors.New("bad state file magic")
	}
	if v := binary.LittleEndian.Uint16(body[8:]); v != stateVersion {
		return st, fmt.Errorf("unknown state file version %d", v)
	}
	st.epoch = binary.LittleEndian.Uint64(body[10:])
	st.dummy = binary.LittleEndian.Uint64(body[18:])
	st.dummyTerm = binary.LittleEndian.Uint64(body[26:])
	st.hs, st.cs, st.snap = new(raftpb.HardState), new(raftpb.ConfState), new(raftpb.SnapshotMetadata)
	rest := body[stateFixed:]
	for _, m := range []proto.Message{st.hs, st.cs, st.snap} {
		if len(rest) < 4 {
			return st, errors.New("state file truncated")
		}
		n := binary.LittleEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(n) > uint64(len(rest)) {
			return st, errors.New("state file field crosses its end")
		}
		if err := proto.Unmarshal(rest[:n], m); err != nil {
			return st, fmt.Errorf("state file field does not decode: %v", err)
		}
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return st, fmt.Errorf("%d unexpected bytes in state file", len(rest))
	}
	if st.epoch == 0 {
		return st, errors.New("state file names epoch 0")
	}
	st.cs = raftpb.EnsureConfState(st.cs)
	st.snap = raftpb.EnsureSnapshotMetadata(st.snap)
	return st, nil
}
