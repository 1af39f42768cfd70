package engine

// Damaged data on disk (RELIABILITY.md section 5, on-disk). A torn or zero-filled tail is
// cut and the engine goes on with everything acknowledged; any other damage makes the
// engine refuse to serve, with an error naming the file, at Open (journal, checkpoint) or
// at the first read of the damaged queue log (queue logs open lazily); it never deletes
// data that merely looks orphaned.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
)

// damageSetup returns an engine directory (closed) holding queue "q" with 60 messages
// over several segment files, and the bodies sent. With keepJournal the engine is not
// closed but killed after syncing (the journal then holds every command: no checkpoint).
func damageSetup(t *testing.T, keepJournal bool) (*harness, []string) {
	t.Helper()
	h := newHarness(t)
	h.e.Close()
	h.opts.SegmentBytes = 4096
	h.opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if keepJournal {
		h.opts.CheckpointBytes = 1 << 40
	}
	h.open()
	h.create("q", nil)
	var bodies []string
	for i := 0; i < 60; i++ {
		bodies = append(bodies, fmt.Sprintf("message %02d %s", i, strings.Repeat("x", 200)))
	}
	for i := 0; i < len(bodies); i += 6 {
		h.send("q", bodies[i:i+6]...)
	}
	if keepJournal {
		kill := h.fs.(*vfs.MemFS).KillClone()
		h.e.Close()
		h.fs, h.opts.FS = kill, kill
	} else if err := h.e.Close(); err != nil {
		t.Fatal(err)
	}
	h.e = nil
	return h, bodies
}

// segFiles returns the paths of the segment files of dir, in order; there must be several.
func segFiles(t *testing.T, fs vfs.FS, dir string) []string {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return !strings.HasSuffix(n, ".seg") })
	if len(names) < 3 {
		t.Fatalf("%s: only %d segment files", dir, len(names))
	}
	for i, n := range names {
		names[i] = filepath.Join(dir, n)
	}
	return names
}

func readAll(t *testing.T, fs vfs.FS, path string) []byte {
	t.Helper()
	b, err := vfs.ReadFile(fs, path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeAll replaces the content of path (created if missing), durably.
func writeAll(t *testing.T, fs vfs.FS, path string, b []byte) {
	t.Helper()
	if err := vfs.WriteFileAtomic(fs, filepath.Dir(path), filepath.Base(path), b); err != nil {
		t.Fatal(err)
	}
}

// drainBodies receives everything from q (nothing is deleted; leases are long).
func drainBodies(h *harness) ([]string, error) {
	var got []string
	for i := 0; i < 100; i++ {
		msgs, err := h.e.ReceiveMessage(h.ctx, "ns", "q", 16, 0)
		if err == ErrNoMessage {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		for _, m := range msgs {
			got = append(got, string(m.Body))
		}
	}
	return got, fmt.Errorf("drain did not end")
}

// expectIntact opens the engine and checks it holds exactly bodies.
func expectIntact(t *testing.T, h *harness, bodies []string) {
	t.Helper()
	h.open()
	got, err := drainBodies(h)
	if err != nil {
		t.Fatalf("drain: %v", err)
	}
	if strings.Join(got, "|") != strings.Join(bodies, "|") {
		t.Fatalf("got %d messages, want the %d acknowledged ones", len(got), len(bodies))
	}
}

// expectRefused checks that the engine refuses to serve from the damaged file: Open fails,
// or the first read of q does and the engine stops; the error names the file.
func expectRefused(t *testing.T, h *harness, file string) {
	t.Helper()
	e, err := Open(h.dir, h.opts)
	if err == nil {
		h.e = e
		if _, err = drainBodies(h); err == nil {
			t.Fatalf("damage in %s: the engine served every message", file)
		}
		err = e.Err()
		if err == nil {
			t.Fatalf("damage in %s: the read failed but the engine serves on", file)
		}
		if _, serr := e.SendMessage(h.ctx, "ns", "q", []byte("after"), 0); serr != ErrInternal {
			t.Fatalf("damage in %s: a send after the failure: %v", file, serr)
		}
	}
	if !strings.Contains(err.Error(), filepath.Base(file)) {
		t.Fatalf("the error does not name %s: %v", file, err)
	}
	t.Logf("refused: %v", err)
}

func TestDamagedQueueLog(t *testing.T) {
	const qdir = "/data/queues/0000000000000001"
	flip := func(off func(b []byte) int) func(b []byte) []byte {
		return func(b []byte) []byte { b[off(b)] ^= 0x10; return b }
	}
	firstFrame := 26 // after the segment header
	for _, tc := range []struct {
		name   string
		which  int // which segment file (-1: the last)
		damage func(b []byte) []byte
		torn   bool // a tail a crash can leave: cut, and the engine goes on
	}{
		{"zero-filled tail", -1, func(b []byte) []byte { return append(b, make([]byte, 500)...) }, true},
		{"torn final record", -1, func(b []byte) []byte { return append(b, 9, 0, 0, 0, 1, 2, 3) }, true},
		{"garbage after the records", -1, func(b []byte) []byte { return append(b, bytes.Repeat([]byte{0xA5, 0x5A, 0x01}, 40)...) }, false},
		{"bit flip in the header magic", 1, flip(func([]byte) int { return 2 }), false},
		{"bit flip in the header seq", 1, flip(func([]byte) int { return 12 }), false},
		{"bit flip in a length field", 1, flip(func([]byte) int { return firstFrame }), false},
		{"bit flip in a checksum", 1, flip(func([]byte) int { return firstFrame + 6 }), false},
		{"bit flip in a payload", 1, flip(func([]byte) int { return firstFrame + 40 }), false},
		{"bit flip in the last segment", -1, flip(func([]byte) int { return firstFrame + 40 }), false},
		{"length field of 4 GiB", 1, func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[firstFrame:], 0xFFFFFFFF)
			return b
		}, false},
		{"0-byte segment", 1, func([]byte) []byte { return nil }, false},
		{"stale copy of a sealed segment", 1, func(b []byte) []byte { return b[:len(b)/2] }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, bodies := damageSetup(t, false)
			files := segFiles(t, h.fs, qdir)
			file := files[(tc.which+len(files))%len(files)]
			writeAll(t, h.fs, file, tc.damage(readAll(t, h.fs, file)))
			if tc.torn {
				expectIntact(t, h, bodies)
				return
			}
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			expectRefused(t, h, file)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 256<<20 {
				t.Fatalf("refusing the damage allocated %d MiB", grew>>20)
			}
		})
	}
	t.Run("segment missing from the middle", func(t *testing.T) {
		h, _ := damageSetup(t, false)
		files := segFiles(t, h.fs, qdir)
		if err := h.fs.Remove(files[1]); err != nil {
			t.Fatal(err)
		}
		expectRefused(t, h, files[0]) // the segment before the gap holds too few records
	})
	t.Run("duplicated segment under another name", func(t *testing.T) {
		h, _ := damageSetup(t, false)
		files := segFiles(t, h.fs, qdir)
		dup := filepath.Join(qdir, "00000000000000000002.seg")
		writeAll(t, h.fs, dup, readAll(t, h.fs, files[1]))
		expectRefused(t, h, files[0])
	})
	t.Run("queue directory missing", func(t *testing.T) {
		h, _ := damageSetup(t, false)
		if err := h.fs.RemoveAll(qdir); err != nil {
			t.Fatal(err)
		}
		expectRefused(t, h, "0000000000000001")
	})
}

func TestDamagedCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"0-byte checkpoint", func([]byte) []byte { return nil }},
		{"bit flip in the applied index", func(b []byte) []byte { b[10] ^= 0x01; return b }},
		{"bit flip in the body", func(b []byte) []byte { b[len(b)/2] ^= 0x80; return b }},
		{"cut short", func(b []byte) []byte { return b[:len(b)-3] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := damageSetup(t, false)
			path := "/data/checkpoint"
			writeAll(t, h.fs, path, tc.damage(readAll(t, h.fs, path)))
			expectRefused(t, h, path)
		})
	}
	t.Run("stale copy of the checkpoint", func(t *testing.T) {
		h, _ := damageSetup(t, false)
		old := readAll(t, h.fs, "/data/checkpoint")
		h.open()
		for i := 0; i < 40; i++ {
			h.send("q", strings.Repeat("more ", 40))
		}
		h.e.Close() // a newer checkpoint; the journal is cut behind it, segments past the old one
		writeAll(t, h.fs, "/data/checkpoint", old)
		expectRefused(t, h, "journal")
	})
}

func TestDamagedJournal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		which  int
		damage func(b []byte) []byte
		torn   bool
	}{
		{"zero-filled tail", -1, func(b []byte) []byte { return append(b, make([]byte, 300)...) }, true},
		{"bit flip in a sealed segment", 0, func(b []byte) []byte { b[len(b)/2] ^= 0x04; return b }, false},
		{"0-byte sealed segment", 0, func([]byte) []byte { return nil }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, bodies := damageSetup(t, true)
			files := segFiles(t, h.fs, "/data/journal")
			file := files[(tc.which+len(files))%len(files)]
			writeAll(t, h.fs, file, tc.damage(readAll(t, h.fs, file)))
			if tc.torn {
				expectIntact(t, h, bodies)
				return
			}
			expectRefused(t, h, file)
		})
	}
}

// TestOrphanedLookingDataIsKept: a queue directory the checkpoint does not name (it may
// belong to a command the journal replays) survives recovery untouched.
func TestOrphanedLookingDataIsKept(t *testing.T) {
	h, bodies := damageSetup(t, false)
	orphan := "/data/queues/00000000000000ff"
	if err := h.fs.MkdirAll(orphan); err != nil {
		t.Fatal(err)
	}
	writeAll(t, h.fs, filepath.Join(orphan, "00000000000000000001.seg"), []byte("not ours"))
	expectIntact(t, h, bodies)
	h.e.Close()
	h.open()
	if b := readAll(t, h.fs, filepath.Join(orphan, "00000000000000000001.seg")); string(b) != "not ours" {
		t.Fatalf("recovery changed a file it does not know: %q", b)
	}
}
