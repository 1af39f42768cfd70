package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/opencmq/opencmq/segment/vfs"
)

func FuzzDecodeCommand(f *testing.F) {
	seeds := []*Command{
		{Type: CmdCreateQueue, Now: 1, Namespace: "ns", Queue: "q", Attrs: DefaultQueueAttributes()},
		{Type: CmdCreateQueue, Namespace: "ns", Queue: "q", Attrs: QueueAttributes{DeadLetter: &DeadLetterPolicy{Queue: "d", MaxReceiveCount: 3}}},
		{Type: CmdSetQueueAttributes, Namespace: "ns", Queue: "q", Update: QueueAttributeUpdate{ClearDeadLetter: true}},
		{Type: CmdSend, Now: -5, Namespace: "ns", Queue: "q", Bodies: [][]byte{[]byte("a"), {}, []byte("ccc")}, DelaySeconds: 9},
		{Type: CmdReceive, Namespace: "ns", Queue: "q", MaxMessages: 16},
		{Type: CmdDelete, Namespace: "ns", Queue: "q", Handles: []string{"h1", "h2"}},
		{Type: CmdChangeVisibility, Namespace: "ns", Queue: "q", Handles: []string{"h"}, VisibilitySeconds: 7},
		{Type: CmdRewind, Namespace: "ns", Queue: "q", StartConsumeTime: 1700000000},
		{Type: CmdTick, Now: 99},
		{Type: CmdSend, Namespace: "ns", Queue: "q", Bodies: [][]byte{[]byte("a")}, Replay: ReplayKey{Hash: 1 << 63, Expiry: 1700000300}},
	}
	for _, c := range seeds {
		f.Add(c.AppendEncode(nil))
	}
	f.Add([]byte{})
	f.Add([]byte{commandFormatVersion, byte(CmdSend), 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			return
		}
		// What decodes must encode back to the same bytes.
		if again := c.AppendEncode(nil); !bytes.Equal(again, b) {
			t.Fatalf("round trip changed the encoding:\n%x\n%x", b, again)
		}
	})
}

// checkpointSeed is the encoded state of an engine with a bit of everything.
func checkpointSeed(t testing.TB) []byte {
	h := newHarness(t)
	h.create("q", func(a *QueueAttributes) { a.RewindSeconds = 60 })
	h.send("q", "a", "b", "c")
	h.sendDelayed("q", 5, "d")
	m := h.receive("q", 2)
	h.e.DeleteMessage(h.ctx, "ns", "q", m[1].ReceiptHandle)
	h.e.mu.RLock()
	defer h.e.mu.RUnlock()
	return h.e.sm.encodeState(nil)
}

// withChecksum returns b with its last 8 bytes replaced by the xxhash64 of the rest, as
// checkpoints end: so that the fuzzer reaches the decoder behind the checksum (which a
// damaged file fails, but a buggy or hostile peer's snapshot passes).
func withChecksum(b []byte) []byte {
	if len(b) < 8 {
		return b
	}
	out := bytes.Clone(b)
	binary.LittleEndian.PutUint64(out[len(out)-8:], xxhash.Sum64(out[:len(out)-8]))
	return out
}

// allocBound fails the test if fn allocates more than limit bytes: decoders must allocate
// in proportion to what they were given, never what a length field claims.
func allocBound(t *testing.T, limit uint64, fn func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > limit {
		t.Fatalf("allocated %d bytes, more than %d", got, limit)
	}
}

// FuzzDecodeCheckpoint: decoding arbitrary bytes as a checkpoint, with their checksum as
// given or made valid, never panics, fails only with ErrBadCheckpoint and allocates in
// proportion to the input; a state that decodes re-encodes stably.
func FuzzDecodeCheckpoint(f *testing.F) {
	f.Add(checkpointSeed(f))
	f.Add([]byte(checkpointMagic))
	limits := testLimits.withDefaults()
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, in := range [][]byte{b, withChecksum(b)} {
			var sm *stateMachine
			var err error
			allocBound(t, 8<<20+2048*uint64(len(in)), func() {
				sm, err = decodeState(in, limits, &store{})
			})
			if err != nil {
				if !errors.Is(err, ErrBadCheckpoint) {
					t.Fatalf("error %v is not ErrBadCheckpoint", err)
				}
				continue
			}
			// A hand-made input may be non-canonical (overlapping ranges are merged), but
			// what it decodes to is stable: its encoding decodes and encodes the same.
			enc := sm.encodeState(nil)
			again, err := decodeState(enc, limits, &store{})
			if err != nil {
				t.Fatalf("re-encoded state does not decode: %v", err)
			}
			if !bytes.Equal(again.encodeState(nil), enc) {
				t.Fatal("re-encoded state does not round-trip")
			}
		}
	})
}

// snapshotSeed is a snapshot stream of an engine with a bit of everything.
func snapshotSeed(t testing.TB) []byte {
	h := newHarness(t)
	h.create("dlq", nil)
	h.create("q", func(a *QueueAttributes) {
		a.RewindSeconds = 600
		a.DeadLetter = &DeadLetterPolicy{Queue: "dlq", Policy: 0, MaxReceiveCount: 5}
	})
	h.create("empty", nil)
	h.send("q", "a", "bb", "ccc", "dddd")
	h.sendDelayed("q", 100, "later")
	msgs := h.receive("q", 3)
	if err := h.e.DeleteMessage(h.ctx, "ns", "q", msgs[1].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	if _, err := h.e.WriteSnapshot(&stream); err != nil {
		t.Fatal(err)
	}
	return stream.Bytes()
}

// snapshotChunks splits a snapshot stream into its chunks (kind, payload), ignoring
// checksums; the fuzzer mutates these, and frameSnapshot puts them back with valid
// checksums, so that mutations reach the decoders behind them.
func snapshotChunks(stream []byte) []byte {
	var out []byte
	b := stream[len(snapshotMagic)+2:]
	for len(b) > 0 {
		kind := b[0]
		n, k := binary.Uvarint(b[1:])
		payload := b[1+k : 1+k+int(n)]
		out = append(out, kind)
		out = binary.AppendUvarint(out, n)
		out = append(out, payload...)
		b = b[1+k+int(n)+8:]
	}
	return out
}

// frameSnapshot turns (kind, uvarint length, payload)* into a stream with a valid header
// and valid checksums (the state chunk's inner checkpoint checksum too). A length beyond
// the input takes what is left.
func frameSnapshot(chunks []byte) []byte {
	out := binary.LittleEndian.AppendUint16([]byte(snapshotMagic), snapshotVersion)
	for len(chunks) > 0 {
		kind := chunks[0]
		n, k := binary.Uvarint(chunks[1:])
		if k <= 0 {
			break
		}
		rest := chunks[1+k:]
		n = min(n, uint64(len(rest)))
		payload := rest[:n]
		if kind == 's' {
			payload = withChecksum(payload)
		}
		out = appendChunk(out, kind, payload)
		chunks = rest[n:]
	}
	return out
}

// FuzzRestoreSnapshot: reading an arbitrary snapshot stream (as sent, or re-framed with
// valid checksums) never panics, fails with ErrBadSnapshot or ErrBadCheckpoint, and
// allocates in proportion to the stream, whatever its length fields claim; a stream that
// is accepted yields a state that encodes and decodes consistently and holds every message
// it promises.
func FuzzRestoreSnapshot(f *testing.F) {
	seed := snapshotSeed(f)
	f.Add(seed, false)
	f.Add(snapshotChunks(seed), true)
	huge := append([]byte{'s'}, binary.AppendUvarint(nil, maxChunkBytes)...)
	f.Add(append(binary.LittleEndian.AppendUint16([]byte(snapshotMagic), snapshotVersion), huge...), false)
	f.Add([]byte{}, true)
	limits := testLimits.withDefaults()
	f.Fuzz(func(t *testing.T, b []byte, reframe bool) {
		stream := b
		if reframe {
			stream = frameSnapshot(b)
		}
		fs := vfs.NewMem()
		if err := fs.MkdirAll("/s/queues"); err != nil {
			t.Fatal(err)
		}
		staged := &store{fs: fs, dir: "/s", segmentBytes: 4096, noSync: true}
		e := &Engine{limits: limits}
		var sm *stateMachine
		var err error
		allocBound(t, 16<<20+4096*uint64(len(stream)), func() {
			sm, err = e.readSnapshot(bytes.NewReader(stream), staged)
		})
		if err != nil {
			if !errors.Is(err, ErrBadSnapshot) && !errors.Is(err, ErrBadCheckpoint) {
				t.Fatalf("error %v is neither ErrBadSnapshot nor ErrBadCheckpoint", err)
			}
			return
		}
		state := sm.encodeState(nil)
		again, err := decodeState(state, limits, staged)
		if err != nil {
			t.Fatalf("accepted state does not decode: %v", err)
		}
		if !bytes.Equal(again.encodeState(nil), state) {
			t.Fatal("accepted state does not round-trip")
		}
		for _, q := range again.queues {
			for seq := q.first; seq < q.tail; seq++ {
				if _, _, _, err := again.readMessage(q, seq); err != nil {
					t.Fatalf("%v: message %d of [%d, %d) unreadable: %v", q, seq, q.first, q.tail, err)
				}
			}
		}
		again.closeLogs()
	})
}
