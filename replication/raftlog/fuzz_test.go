package raftlog

import (
	"bytes"
	"encoding/binary"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

func fuzzSeedPayloads(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, e := range []*raftpb.Entry{
		ent(1, 1, nil),
		ent(7, 3, []byte("hello")),
		ent(1<<40, 1<<33, bytes.Repeat([]byte{0xff}, 300)),
		{Index: new(uint64(5)), Term: new(uint64(2)), Type: raftpb.EntryConfChangeV2.Enum(), Data: []byte{}},
		{Index: new(uint64(9))},
	} {
		p, err := appendPayload(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, p)
	}
	return seeds
}

// FuzzDecodeEntry: the record decoder never panics, accepts only payloads whose
// checksum verifies and that hold the requested index, and what it accepts re-encodes
// to a payload that decodes to the same entry.
func FuzzDecodeEntry(f *testing.F) {
	for i, p := range fuzzSeedPayloads(f) {
		idx := []uint64{1, 7, 1 << 40, 5, 9}[i]
		f.Add(p, idx)
		f.Add(p, idx+1)                       // wrong position
		f.Add(p[:len(p)-1], idx)              // truncated
		f.Add(append(p[:0:0], p[1:]...), idx) // shifted
		q := append([]byte(nil), p...)
		q[len(q)-1] ^= 0x40 // bit flip
		f.Add(q, idx)
	}
	f.Add([]byte{}, uint64(0))
	f.Add(make([]byte, 32), uint64(0))
	f.Fuzz(func(t *testing.T, payload []byte, index uint64) {
		e, size, err := decodeEntry(payload, index)
		if err != nil {
			return
		}
		if !checksumOK(payload) || e.GetIndex() != index || size != len(payload)-recordPrefix {
			t.Fatalf("accepted %x for index %d: %v, size %d", payload, index, e, size)
		}
		p2, err := appendPayload(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		e2, _, err := decodeEntry(p2, index)
		if err != nil || !entriesEqual(e, e2) {
			t.Fatalf("re-encoded entry does not round-trip: %v vs %v (%v)", e, e2, err)
		}
	})
}

// FuzzScanSegment: scanning arbitrary segment contents never panics; whatever is
// accepted (records plus a torn tail) is a valid prefix followed by what was dropped.
func FuzzScanSegment(f *testing.F) {
	var seg []byte // a valid segment holding indexes 1..3
	for i := uint64(1); i <= 3; i++ {
		p, _ := appendPayload(nil, ent(i, 1, bytes.Repeat([]byte{byte(i)}, int(i)*20)))
		seg = binary.AppendUvarint(seg, uint64(len(p)))
		seg = append(seg, p...)
	}
	f.Add(seg, true)
	f.Add(seg[:len(seg)-5], true)
	f.Add(append(append([]byte(nil), seg...), 0, 0, 0), true)
	f.Add(seg[:len(seg)-5], false)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, true)
	f.Fuzz(func(t *testing.T, data []byte, last bool) {
		var n uint64
		count, end, torn, err := scanSegment("fuzz", data, 1, last, func(e *raftpb.Entry, _ int) error {
			n++
			if e.GetIndex() != n {
				t.Fatalf("visited index %d as record %d", e.GetIndex(), n)
			}
			return nil
		})
		if err != nil {
			if torn != nil {
				t.Fatal("both torn and corrupt")
			}
			return
		}
		if count != n || end > len(data) {
			t.Fatalf("count %d, visited %d, end %d of %d", count, n, end, len(data))
		}
		if torn == nil && end != len(data) {
			t.Fatalf("clean scan ended at %d of %d", end, len(data))
		}
		if torn != nil && (!last || torn.offset != end || torn.offset+torn.bytes != len(data)) {
			t.Fatalf("torn %+v with end %d of %d, last %v", torn, end, len(data), last)
		}
	})
}

// TestPayloadPrefix pins what validRecordAfter's prefilter assumes about our records:
// the version byte, then the tag of Type, Term or Index.
func TestPayloadPrefix(t *testing.T) {
	for _, e := range []*raftpb.Entry{
		ent(3, 2, []byte("x")),
		{Index: new(uint64(3)), Term: new(uint64(2)), Data: []byte("x")},
		{Index: new(uint64(3))},
	} {
		p, err := appendPayload(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		if p[checksumSize] != recordVersion || (p[recordPrefix] != 0x08 && p[recordPrefix] != 0x10 && p[recordPrefix] != 0x18) {
			t.Fatalf("payload of %v starts % x", e, p[:recordPrefix+1])
		}
	}
}
