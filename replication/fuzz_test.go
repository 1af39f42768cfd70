package replication

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// FuzzReadMessage: a stream of message frames from a peer (or anyone who can reach the
// raft port) never panics the reader, which allocates in proportion to the bytes that
// arrive, not the lengths they claim; every message it returns re-frames to one it reads
// back equal.
func FuzzReadMessage(f *testing.F) {
	var stream []byte
	for _, m := range []*raftpb.Message{
		{Type: raftpb.MsgHeartbeat.Enum(), To: proto.Uint64(2), From: proto.Uint64(1), Term: proto.Uint64(3)},
		{Type: raftpb.MsgApp.Enum(), To: proto.Uint64(2), From: proto.Uint64(1), Entries: []*raftpb.Entry{{Index: proto.Uint64(7), Data: []byte("x")}}},
	} {
		var err error
		if stream, err = appendFrame(stream, m); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(stream)
	f.Add(binary.AppendUvarint(nil, maxFrameBytes))
	f.Add(binary.AppendUvarint(nil, maxFrameBytes+1))
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var got []*raftpb.Message
		for len(got) <= len(b) {
			m, err := readMessage(r)
			if err != nil {
				break
			}
			got = append(got, m)
		}
		runtime.ReadMemStats(&after)
		if a := after.TotalAlloc - before.TotalAlloc; a > 4<<20+256*uint64(len(b)) {
			t.Fatalf("allocated %d bytes reading %d", a, len(b))
		}
		for _, m := range got {
			frame, err := appendFrame(nil, m)
			if err != nil {
				continue // nothing to compare with
			}
			back, err := readMessage(bufio.NewReader(bytes.NewReader(frame)))
			if err != nil || !proto.Equal(back, m) {
				t.Fatalf("message %v does not round-trip: %v %v", m, back, err)
			}
		}
	})
}
