package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/opencmq/opencmq/segment/vfs"
)

type nopReplicator struct{}

func (nopReplicator) Propose(context.Context, []byte) error { return nil }
func (nopReplicator) ReadBarrier(context.Context) error     { return nil }
func (nopReplicator) IsLeader() bool                        { return false }
func (nopReplicator) Checkpointed(uint64)                   {}

func engineDigest(t *testing.T, e *Engine) uint64 {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sm.digest(t)
}

// snapshotSource builds an engine with a bit of everything: several queues, messages in
// flight, delayed, deleted out of order, kept for rewind, and a dead-letter binding.
func snapshotSource(t *testing.T) *harness {
	h := newHarness(t)
	h.opts.SegmentBytes = 4096
	h.reopen()
	h.create("dlq", nil)
	h.create("q", func(a *QueueAttributes) {
		a.RewindSeconds = 600
		a.DeadLetter = &DeadLetterPolicy{Queue: "dlq", Policy: 0, MaxReceiveCount: 5}
	})
	h.create("empty", nil)
	for i := 0; i < 40; i++ {
		h.send("q", string(bytes.Repeat([]byte{'a' + byte(i%26)}, 300)))
	}
	h.sendDelayed("q", 100, "later")
	msgs := h.receive("q", 10)
	for _, m := range msgs[2:6] {
		if err := h.e.DeleteMessage(h.ctx, "ns", "q", m.ReceiptHandle); err != nil {
			t.Fatal(err)
		}
	}
	h.clock.Advance(time.Second)
	return h
}

func TestSnapshotRoundTrip(t *testing.T) {
	src := snapshotSource(t)
	var stream bytes.Buffer
	index, err := src.e.WriteSnapshot(&stream)
	if err != nil {
		t.Fatal(err)
	}
	if index != src.e.AppliedIndex() {
		t.Fatalf("snapshot index %d, applied %d", index, src.e.AppliedIndex())
	}
	dstFS := vfs.NewMem()
	dst, err := Open("/data", Options{FS: dstFS, Limits: testLimits, ManualTick: true, Replicator: nopReplicator{}, SegmentBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()

	// A damaged or cut stream is refused and changes nothing.
	before := engineDigest(t, dst)
	damaged := bytes.Clone(stream.Bytes())
	damaged[len(damaged)/2] ^= 0x40
	if _, err := dst.RestoreSnapshot(bytes.NewReader(damaged)); err == nil {
		t.Fatal("a damaged stream was installed")
	}
	if _, err := dst.RestoreSnapshot(bytes.NewReader(stream.Bytes()[:stream.Len()-9])); err == nil {
		t.Fatal("a truncated stream was installed")
	}
	if engineDigest(t, dst) != before {
		t.Fatal("a refused stream changed the state")
	}

	got, err := dst.RestoreSnapshot(bytes.NewReader(stream.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got != index || dst.AppliedIndex() != index {
		t.Fatalf("restored index %d (applied %d), want %d", got, dst.AppliedIndex(), index)
	}
	if engineDigest(t, dst) != engineDigest(t, src.e) {
		t.Fatal("restored state differs from the source")
	}
	// The install is durable: a restart of the receiver has the same state.
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	dst, err = Open("/data", Options{FS: dstFS, Limits: testLimits, ManualTick: true, Replicator: nopReplicator{}, SegmentBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if engineDigest(t, dst) != engineDigest(t, src.e) {
		t.Fatal("restored state differs after a restart")
	}
}

func TestSnapshotInstallFinishesAfterCrash(t *testing.T) {
	src := snapshotSource(t)
	var stream bytes.Buffer
	if _, err := src.e.WriteSnapshot(&stream); err != nil {
		t.Fatal(err)
	}
	want := engineDigest(t, src.e)
	// Capture the receiver's disk at each rename of the switch-over and check that
	// recovery from every one of those states ends with the snapshot installed.
	for step := 1; step <= 3; step++ {
		fs := vfs.NewMem()
		opts := Options{FS: fs, Limits: testLimits, ManualTick: true, Replicator: nopReplicator{}, SegmentBytes: 4096}
		dst, err := Open("/data", opts)
		if err != nil {
			t.Fatal(err)
		}
		// Old queue data for the install to replace.
		if err := fs.MkdirAll("/data/queues/00000000000000ff"); err != nil {
			t.Fatal(err)
		}
		// The renames of the switch-over, in order (the hook sees each before it happens).
		switchRenames := []string{"/data/queues", "/data/restore.done/queues", "/data/restore.done/checkpoint"}
		var captured *vfs.MemFS
		fs.InjectError(func(op vfs.Op, path string) error {
			if op == vfs.OpRename && captured == nil && path == switchRenames[step-1] {
				captured = fs.CrashClone(rand.New(rand.NewPCG(uint64(step), 1)))
			}
			return nil
		})
		if _, err := dst.RestoreSnapshot(bytes.NewReader(stream.Bytes())); err != nil {
			t.Fatal(err)
		}
		fs.InjectError(nil)
		dst.Close()
		if captured == nil {
			t.Fatalf("step %d: no rename to capture", step)
		}
		opts.FS = captured
		again, err := Open("/data", opts)
		if err != nil {
			t.Fatalf("step %d: reopen: %v", step, err)
		}
		if engineDigest(t, again) != want {
			t.Fatalf("step %d: the interrupted install did not complete", step)
		}
		again.Close()
	}
}

// TestSnapshotRefusesMalformedMessage: a stream whose checksums hold but whose message
// record the engine could not read is refused before anything is installed (installed, it
// would stop the node when a receive reached the record).
func TestSnapshotRefusesMalformedMessage(t *testing.T) {
	chunks := snapshotChunks(snapshotSeed(t))
	// Replace the first message chunk's payload with 3 bytes (a record needs at least 9).
	for off := 0; off < len(chunks); {
		kind := chunks[off]
		n, k := binary.Uvarint(chunks[off+1:])
		if kind == 'm' {
			rest := chunks[off+1+k+int(n):]
			chunks = append(append(append(chunks[:off:off], 'm', 3), "bad"...), rest...)
			break
		}
		off += 1 + k + int(n)
	}
	dst, err := Open("/data", Options{FS: vfs.NewMem(), Limits: testLimits, ManualTick: true, Replicator: nopReplicator{}})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	before := engineDigest(t, dst)
	if _, err := dst.RestoreSnapshot(bytes.NewReader(frameSnapshot(chunks))); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("restore: %v, want ErrBadSnapshot", err)
	}
	if engineDigest(t, dst) != before {
		t.Fatal("a refused stream changed the state")
	}
}
