package engine

import (
	"bytes"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
)

func stateDigest(t *testing.T, e *Engine) (applied, digest uint64) {
	t.Helper()
	applied, digest, err := e.StateDigest()
	if err != nil {
		t.Fatal(err)
	}
	return applied, digest
}

// TestStateDigest checks that a replica restored from a snapshot reports the source's
// digest at the same index, that node-local housekeeping (a checkpoint removing a deleted
// queue's directory) does not change it, and that any change of the state does.
func TestStateDigest(t *testing.T) {
	src := snapshotSource(t)
	var stream bytes.Buffer
	if _, err := src.e.WriteSnapshot(&stream); err != nil {
		t.Fatal(err)
	}
	dst, err := Open("/data", Options{FS: vfs.NewMem(), Limits: testLimits, ManualTick: true, Replicator: nopReplicator{}, SegmentBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := dst.RestoreSnapshot(bytes.NewReader(stream.Bytes())); err != nil {
		t.Fatal(err)
	}
	ia, da := stateDigest(t, src.e)
	ib, db := stateDigest(t, dst)
	if ia != ib || da != db {
		t.Fatalf("source (index %d, digest %x) and restored replica (index %d, digest %x) differ", ia, da, ib, db)
	}

	// A deleted queue waits for a checkpoint to have its directory removed; that is local
	// housekeeping, not state.
	if err := src.e.DeleteQueue(src.ctx, "ns", "empty"); err != nil {
		t.Fatal(err)
	}
	_, before := stateDigest(t, src.e)
	src.reopen()
	if _, after := stateDigest(t, src.e); after != before {
		t.Fatalf("a checkpoint and restart changed the digest: %x, then %x", before, after)
	}

	// Any change of the state changes it: a body, a lease, the clock.
	src.send("q", "one more")
	_, d1 := stateDigest(t, src.e)
	src.receive("q", 1)
	_, d2 := stateDigest(t, src.e)
	if d1 == before || d2 == d1 {
		t.Fatalf("digests did not change with the state: %x %x %x", before, d1, d2)
	}
}
