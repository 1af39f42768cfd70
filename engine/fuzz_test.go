package engine

import (
	"bytes"
	"testing"
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

func FuzzDecodeCheckpoint(f *testing.F) {
	h := newHarness(f)
	h.create("q", func(a *QueueAttributes) { a.RewindSeconds = 60 })
	h.send("q", "a", "b", "c")
	h.sendDelayed("q", 5, "d")
	m := h.receive("q", 2)
	h.e.DeleteMessage(h.ctx, "ns", "q", m[1].ReceiptHandle)
	h.e.mu.RLock()
	f.Add(h.e.sm.encodeState(nil))
	h.e.mu.RUnlock()
	f.Add([]byte(checkpointMagic))
	limits := testLimits.withDefaults()
	f.Fuzz(func(t *testing.T, b []byte) {
		// Must not panic or allocate without bound; errors are fine.
		decodeState(b, limits, &store{})
	})
}
