package vfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

const seeds = 200

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, fs FS, name string, data []byte, sync bool) {
	t.Helper()
	f, err := fs.Create(name)
	must(t, err)
	_, err = f.Write(data)
	must(t, err)
	if sync {
		must(t, f.Sync())
	}
	must(t, f.Close())
}

// readFile returns the content of name, or nil and false if it does not exist.
func readFile(t *testing.T, fs FS, name string) ([]byte, bool) {
	t.Helper()
	f, err := fs.Open(name)
	if IsNotExist(err) {
		return nil, false
	}
	must(t, err)
	defer f.Close()
	size, err := f.Size()
	must(t, err)
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return buf, true
}

func exists(t *testing.T, fs FS, name string) bool {
	t.Helper()
	_, _, err := fs.Stat(name)
	if IsNotExist(err) {
		return false
	}
	must(t, err)
	return true
}

func TestMemCreateOpenStat(t *testing.T) {
	fs := NewMem()
	must(t, fs.MkdirAll("/d"))
	writeFile(t, fs, "/d/f", []byte("hello"), false)
	if _, err := fs.Create("/d/f"); !errors.Is(err, ErrExist) {
		t.Fatalf("Create existing: %v", err)
	}
	if _, err := fs.Create("/d"); !errors.Is(err, ErrExist) {
		t.Fatalf("Create over dir: %v", err)
	}
	if _, err := fs.Create("/missing/f"); !IsNotExist(err) {
		t.Fatalf("Create in missing dir: %v", err)
	}
	if _, err := fs.Create("/d/f/g"); err == nil {
		t.Fatal("Create under a file succeeded")
	}
	if _, err := fs.Open("/d/nope"); !IsNotExist(err) {
		t.Fatalf("Open missing: %v", err)
	}
	if _, err := fs.OpenRW("/d/nope"); !IsNotExist(err) {
		t.Fatalf("OpenRW missing: %v", err)
	}
	if _, err := fs.OpenRW("/d"); err == nil {
		t.Fatal("OpenRW of a directory succeeded")
	}
	// Relative and unclean paths name the same file.
	for _, name := range []string{"/d/f", "d/f", "./d/../d/f", "//d///f"} {
		size, isDir, err := fs.Stat(name)
		if err != nil || size != 5 || isDir {
			t.Fatalf("Stat(%q) = %d, %v, %v", name, size, isDir, err)
		}
	}
	if size, isDir, err := fs.Stat("/d"); err != nil || !isDir || size != 0 {
		t.Fatalf("Stat dir = %d, %v, %v", size, isDir, err)
	}
	if _, isDir, err := fs.Stat("/"); err != nil || !isDir {
		t.Fatalf("Stat root = %v, %v", isDir, err)
	}
	if _, _, err := fs.Stat("/nope"); !IsNotExist(err) {
		t.Fatalf("Stat missing: %v", err)
	}

	// Open is read-only.
	f, err := fs.Open("d/f")
	must(t, err)
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("Write on a read-only file succeeded")
	}
	if err := f.Truncate(0); err == nil {
		t.Fatal("Truncate on a read-only file succeeded")
	}
	must(t, f.Close())
	// OpenRW writes at offset 0.
	f, err = fs.OpenRW("d/f")
	must(t, err)
	_, err = f.Write([]byte("J"))
	must(t, err)
	must(t, f.Close())
	if got, _ := readFile(t, fs, "/d/f"); string(got) != "Jello" {
		t.Fatalf("content %q", got)
	}
}

func TestMemFileOps(t *testing.T) {
	fs := NewMem()
	f, err := fs.Create("f")
	must(t, err)
	_, err = f.Write([]byte("0123456789"))
	must(t, err)

	buf := make([]byte, 4)
	if n, err := f.ReadAt(buf, 2); n != 4 || err != nil || string(buf) != "2345" {
		t.Fatalf("ReadAt = %d, %v, %q", n, err, buf)
	}
	if n, err := f.ReadAt(buf, 8); n != 2 || err != io.EOF || string(buf[:2]) != "89" {
		t.Fatalf("short ReadAt = %d, %v", n, err)
	}
	if n, err := f.ReadAt(buf, 10); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt at end = %d, %v", n, err)
	}
	if _, err := f.ReadAt(buf, -1); err == nil {
		t.Fatal("ReadAt at negative offset succeeded")
	}

	// Seek.
	if off, err := f.Seek(2, io.SeekStart); off != 2 || err != nil {
		t.Fatalf("SeekStart = %d, %v", off, err)
	}
	if off, err := f.Seek(1, io.SeekCurrent); off != 3 || err != nil {
		t.Fatalf("SeekCurrent = %d, %v", off, err)
	}
	_, err = f.Write([]byte("ab"))
	must(t, err)
	if off, err := f.Seek(-1, io.SeekEnd); off != 9 || err != nil {
		t.Fatalf("SeekEnd = %d, %v", off, err)
	}
	_, err = f.Write([]byte("XY"))
	must(t, err)
	if _, err := f.Seek(-100, io.SeekCurrent); err == nil {
		t.Fatal("Seek before start succeeded")
	}
	if got, _ := readFile(t, fs, "f"); string(got) != "012ab5678XY" {
		t.Fatalf("content %q", got)
	}

	// Truncate: shrink, then grow reads zeros.
	must(t, f.Truncate(4))
	must(t, f.Truncate(6))
	if size, err := f.Size(); size != 6 || err != nil {
		t.Fatalf("Size = %d, %v", size, err)
	}
	if got, _ := readFile(t, fs, "f"); string(got) != "012a\x00\x00" {
		t.Fatalf("content after truncate %q", got)
	}
	// Write past the end fills the gap with zeros.
	_, err = f.Seek(8, io.SeekStart)
	must(t, err)
	_, err = f.Write([]byte("Z"))
	must(t, err)
	if got, _ := readFile(t, fs, "f"); string(got) != "012a\x00\x00\x00\x00Z" {
		t.Fatalf("content after sparse write %q", got)
	}
	must(t, f.Sync())
	if n, err := fs.SyncedSize("f"); n != 9 || err != nil {
		t.Fatalf("SyncedSize = %d, %v", n, err)
	}

	// Close: every later operation fails.
	must(t, f.Close())
	if err := f.Close(); err == nil {
		t.Fatal("double Close succeeded")
	}
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	if _, err := f.ReadAt(buf, 0); err == nil {
		t.Fatal("ReadAt after Close succeeded")
	}
	if err := f.Sync(); err == nil {
		t.Fatal("Sync after Close succeeded")
	}
	if err := f.Truncate(0); err == nil {
		t.Fatal("Truncate after Close succeeded")
	}
	if _, err := f.Size(); err == nil {
		t.Fatal("Size after Close succeeded")
	}
	if _, err := f.Seek(0, io.SeekStart); err == nil {
		t.Fatal("Seek after Close succeeded")
	}
}

func TestMemDirs(t *testing.T) {
	fs := NewMem()
	must(t, fs.MkdirAll("/a/b/c"))
	must(t, fs.MkdirAll("/a/b/c")) // idempotent
	writeFile(t, fs, "/a/b/f2", nil, false)
	writeFile(t, fs, "/a/b/f1", nil, false)
	names, err := fs.List("/a/b")
	must(t, err)
	if !slices.Equal(names, []string{"c", "f1", "f2"}) {
		t.Fatalf("List = %v", names)
	}
	if names, err := fs.List("/"); err != nil || !slices.Equal(names, []string{"a"}) {
		t.Fatalf("List root = %v, %v", names, err)
	}
	if _, err := fs.List("/nope"); !IsNotExist(err) {
		t.Fatalf("List missing: %v", err)
	}
	if _, err := fs.List("/a/b/f1"); err == nil {
		t.Fatal("List of a file succeeded")
	}
	if err := fs.MkdirAll("/a/b/f1/x"); err == nil {
		t.Fatal("MkdirAll under a file succeeded")
	}

	// Remove: files, empty dirs only.
	if err := fs.Remove("/a/b"); err == nil {
		t.Fatal("Remove of a non-empty directory succeeded")
	}
	if err := fs.Remove("/a/nope"); !IsNotExist(err) {
		t.Fatalf("Remove missing: %v", err)
	}
	must(t, fs.Remove("/a/b/c"))
	must(t, fs.Remove("/a/b/f1"))
	if exists(t, fs, "/a/b/f1") || exists(t, fs, "/a/b/c") {
		t.Fatal("removed entries still exist")
	}

	// RemoveAll removes a tree; a missing path is not an error.
	must(t, fs.MkdirAll("/a/b/d/e"))
	writeFile(t, fs, "/a/b/d/e/f", []byte("x"), true)
	must(t, fs.RemoveAll("/a"))
	if exists(t, fs, "/a") {
		t.Fatal("RemoveAll left the tree")
	}
	must(t, fs.RemoveAll("/a"))
	must(t, fs.RemoveAll("/nope/deeper"))
	if err := fs.RemoveAll("/"); err == nil {
		t.Fatal("RemoveAll of the root succeeded")
	}

	// SyncDir.
	must(t, fs.SyncDir("/"))
	if err := fs.SyncDir("/nope"); !IsNotExist(err) {
		t.Fatalf("SyncDir missing: %v", err)
	}
	if _, err := fs.SyncedSize("/nope"); !IsNotExist(err) {
		t.Fatalf("SyncedSize missing: %v", err)
	}
}

func TestMemRename(t *testing.T) {
	fs := NewMem()
	must(t, fs.MkdirAll("/d1"))
	must(t, fs.MkdirAll("/d2"))
	writeFile(t, fs, "/d1/a", []byte("A"), false)
	writeFile(t, fs, "/d2/b", []byte("B"), false)

	// Rename keeps open handles on the same inode.
	h, err := fs.OpenRW("/d1/a")
	must(t, err)
	must(t, fs.Rename("/d1/a", "/d2/b")) // replaces b
	_, err = h.Write([]byte("a"))
	must(t, err)
	if got, _ := readFile(t, fs, "/d2/b"); string(got) != "a" {
		t.Fatalf("renamed content %q", got)
	}
	if exists(t, fs, "/d1/a") {
		t.Fatal("old name still exists")
	}
	must(t, h.Close())

	if err := fs.Rename("/d1/nope", "/d1/x"); !IsNotExist(err) {
		t.Fatalf("Rename missing: %v", err)
	}
	if err := fs.Rename("/d2/b", "/nope/b"); !IsNotExist(err) {
		t.Fatalf("Rename into missing dir: %v", err)
	}
	if err := fs.Rename("/d2/b", "/d1"); err == nil {
		t.Fatal("Rename of a file over a directory succeeded")
	}
	if err := fs.Rename("/d1", "/d1/sub"); err == nil {
		t.Fatal("Rename of a directory into itself succeeded")
	}
	must(t, fs.Rename("/d2/b", "/d2/b")) // no-op

	// Directories move with their content.
	must(t, fs.Rename("/d2", "/d1/d2"))
	if got, _ := readFile(t, fs, "/d1/d2/b"); string(got) != "a" {
		t.Fatalf("content after dir rename %q", got)
	}
}

func TestMemRemoveOpenFile(t *testing.T) {
	fs := NewMem()
	writeFile(t, fs, "f", []byte("abc"), false)
	h, err := fs.OpenRW("f")
	must(t, err)
	must(t, fs.Remove("f"))
	if exists(t, fs, "f") {
		t.Fatal("removed file exists")
	}
	// The handle keeps working on the unlinked inode; a new file is a different inode.
	_, err = h.Seek(0, io.SeekEnd)
	must(t, err)
	_, err = h.Write([]byte("d"))
	must(t, err)
	buf := make([]byte, 4)
	if n, err := h.ReadAt(buf, 0); n != 4 || err != nil || string(buf) != "abcd" {
		t.Fatalf("ReadAt on unlinked file = %d, %v, %q", n, err, buf)
	}
	writeFile(t, fs, "f", []byte("new"), false)
	if got, _ := readFile(t, fs, "f"); string(got) != "new" {
		t.Fatalf("recreated content %q", got)
	}
	must(t, h.Close())
}

func TestOpString(t *testing.T) {
	for op, want := range map[Op]string{OpCreate: "create", OpSyncDir: "syncdir", OpClose: "close", Op(99): "Op(99)"} {
		if got := op.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(op), got, want)
		}
	}
}

// Crash semantics.

// (1) Synced data always survives.
func TestCrashSyncedDataSurvives(t *testing.T) {
	fs := NewMem()
	must(t, fs.MkdirAll("/d"))
	must(t, fs.SyncDir("/"))
	writeFile(t, fs, "/d/f", []byte("durable"), true)
	must(t, fs.SyncDir("/d"))
	for seed := range uint64(seeds) {
		c := fs.CrashClone(newRNG(seed))
		if got, ok := readFile(t, c, "/d/f"); !ok || string(got) != "durable" {
			t.Fatalf("seed %d: got %q, %v", seed, got, ok)
		}
		// The clone is fully durable: crashing it again changes nothing.
		if got, _ := readFile(t, c.CrashClone(newRNG(seed+1)), "/d/f"); string(got) != "durable" {
			t.Fatalf("seed %d: second crash got %q", seed, got)
		}
	}
}

// (2) Unsynced appends survive only as a prefix; no byte is invented.
func TestCrashUnsyncedAppendIsPrefix(t *testing.T) {
	fs := NewMem()
	writeFile(t, fs, "f", []byte("synced|"), true)
	must(t, fs.SyncDir("/"))
	f, err := fs.OpenRW("f")
	must(t, err)
	_, err = f.Seek(0, io.SeekEnd)
	must(t, err)
	_, err = f.Write([]byte("unsynced-tail"))
	must(t, err)
	full := []byte("synced|unsynced-tail")
	if n, err := fs.SyncedSize("f"); n != 7 || err != nil {
		t.Fatalf("SyncedSize = %d, %v", n, err)
	}
	lengths := map[int]bool{}
	for seed := range uint64(seeds) {
		got, ok := readFile(t, fs.CrashClone(newRNG(seed)), "f")
		if !ok || len(got) < 7 || !bytes.HasPrefix(full, got) {
			t.Fatalf("seed %d: got %q", seed, got)
		}
		lengths[len(got)] = true
	}
	if !lengths[7] || !lengths[len(full)] || len(lengths) < 4 {
		t.Fatalf("lengths seen %v: expected none, all and some cuts", lengths)
	}
	// After Sync everything is durable.
	must(t, f.Sync())
	for seed := range uint64(seeds) {
		if got, _ := readFile(t, fs.CrashClone(newRNG(seed)), "f"); !bytes.Equal(got, full) {
			t.Fatalf("seed %d after Sync: %q", seed, got)
		}
	}
	// The original keeps working after clones.
	_, err = f.Write([]byte("!"))
	must(t, err)
	must(t, f.Close())
}

// A truncation below the synced size gives either the synced content or the current
// content cut at or after the truncation point.
func TestCrashTruncateBelowSynced(t *testing.T) {
	fs := NewMem()
	writeFile(t, fs, "f", []byte("0123456789"), true)
	must(t, fs.SyncDir("/"))
	f, err := fs.OpenRW("f")
	must(t, err)
	must(t, f.Truncate(4))
	_, err = f.Seek(0, io.SeekEnd)
	must(t, err)
	_, err = f.Write([]byte("abcd"))
	must(t, err)
	sawOld, sawNew := false, false
	for seed := range uint64(seeds) {
		got, _ := readFile(t, fs.CrashClone(newRNG(seed)), "f")
		switch {
		case string(got) == "0123456789":
			sawOld = true
		case len(got) >= 4 && bytes.HasPrefix([]byte("0123abcd"), got):
			sawNew = true
		default:
			t.Fatalf("seed %d: got %q", seed, got)
		}
	}
	if !sawOld || !sawNew {
		t.Fatalf("old %v new %v: both states expected", sawOld, sawNew)
	}
}

// (3) A created file whose directory was not synced vanishes in some crashes; its data
// may be empty when it survives unsynced. (4) After SyncDir it always survives.
func TestCrashCreateNeedsSyncDir(t *testing.T) {
	fs := NewMem()
	writeFile(t, fs, "f", []byte("data"), true)
	gone, kept, empty := 0, 0, 0
	for seed := range uint64(seeds) {
		if got, ok := readFile(t, fs.CrashClone(newRNG(seed)), "f"); !ok {
			gone++
		} else if string(got) != "data" {
			t.Fatalf("seed %d: synced data %q", seed, got)
		} else {
			kept++
		}
	}
	if gone == 0 || kept == 0 {
		t.Fatalf("gone %d kept %d: both expected", gone, kept)
	}

	writeFile(t, fs, "g", []byte("never synced"), false)
	must(t, fs.SyncDir("/"))
	for seed := range uint64(seeds) {
		c := fs.CrashClone(newRNG(seed))
		if got, ok := readFile(t, c, "f"); !ok || string(got) != "data" {
			t.Fatalf("seed %d after SyncDir: %q, %v", seed, got, ok)
		}
		got, ok := readFile(t, c, "g")
		if !ok || !bytes.HasPrefix([]byte("never synced"), got) {
			t.Fatalf("seed %d: g = %q, %v", seed, got, ok)
		}
		if len(got) == 0 {
			empty++
		}
	}
	if empty == 0 {
		t.Fatal("an unsynced file never came back empty")
	}
}

// A directory made by MkdirAll needs a SyncDir of its parent, level by level.
func TestCrashMkdirAllNeedsSyncDir(t *testing.T) {
	fs := NewMem()
	must(t, fs.MkdirAll("/a/b"))
	must(t, fs.SyncDir("/a"))
	sawGone, sawKept := false, false
	for seed := range uint64(seeds) {
		c := fs.CrashClone(newRNG(seed))
		a, b := exists(t, c, "/a"), exists(t, c, "/a/b")
		if a != b {
			t.Fatalf("seed %d: /a %v but /a/b %v", seed, a, b)
		}
		sawGone, sawKept = sawGone || !a, sawKept || a
	}
	if !sawGone || !sawKept {
		t.Fatalf("gone %v kept %v", sawGone, sawKept)
	}
	must(t, fs.SyncDir("/"))
	for seed := range uint64(seeds) {
		if !exists(t, fs.CrashClone(newRNG(seed)), "/a/b") {
			t.Fatalf("seed %d: /a/b lost after SyncDir", seed)
		}
	}
}

// (5) A removed file whose directory was not synced reappears in some crashes.
func TestCrashRemoveNeedsSyncDir(t *testing.T) {
	fs := NewMem()
	must(t, fs.MkdirAll("/d"))
	must(t, fs.SyncDir("/"))
	writeFile(t, fs, "/d/f", []byte("data"), true)
	must(t, fs.SyncDir("/d"))
	must(t, fs.Remove("/d/f"))
	back, gone := 0, 0
	for seed := range uint64(seeds) {
		if got, ok := readFile(t, fs.CrashClone(newRNG(seed)), "/d/f"); ok {
			if string(got) != "data" {
				t.Fatalf("seed %d: %q", seed, got)
			}
			back++
		} else {
			gone++
		}
	}
	if back == 0 || gone == 0 {
		t.Fatalf("back %d gone %d: both expected", back, gone)
	}
	must(t, fs.SyncDir("/d"))
	for seed := range uint64(seeds) {
		if exists(t, fs.CrashClone(newRNG(seed)), "/d/f") {
			t.Fatalf("seed %d: removed file back after SyncDir", seed)
		}
	}

	// RemoveAll of a durable tree without SyncDir: the tree may come back.
	must(t, fs.MkdirAll("/t/u"))
	writeFile(t, fs, "/t/u/f", []byte("x"), true)
	must(t, fs.SyncDir("/t/u"))
	must(t, fs.SyncDir("/t"))
	must(t, fs.SyncDir("/"))
	must(t, fs.RemoveAll("/t"))
	sawTree := false
	for seed := range uint64(seeds) {
		sawTree = sawTree || exists(t, fs.CrashClone(newRNG(seed)), "/t")
	}
	if !sawTree {
		t.Fatal("RemoveAll without SyncDir was always durable")
	}
}

// (6) A rename without SyncDir leaves the old name, the new name or both; never neither
// when the source was durable.
func TestCrashRenameAtomic(t *testing.T) {
	for _, tc := range []struct{ from, to string }{
		{"/d/a", "/d/b"},      // same directory
		{"/d/a", "/e/b"},      // across directories
		{"/d/a", "/d/target"}, // replacing a durable file
	} {
		t.Run(tc.to, func(t *testing.T) {
			fs := NewMem()
			must(t, fs.MkdirAll("/d"))
			must(t, fs.MkdirAll("/e"))
			must(t, fs.SyncDir("/"))
			writeFile(t, fs, "/d/a", []byte("A"), true)
			writeFile(t, fs, "/d/target", []byte("T"), true)
			must(t, fs.SyncDir("/d"))
			must(t, fs.Rename(tc.from, tc.to))
			sawOld, sawNew := false, false
			for seed := range uint64(seeds) {
				c := fs.CrashClone(newRNG(seed))
				oldData, oldOK := readFile(t, c, tc.from)
				newData, newOK := readFile(t, c, tc.to)
				if !oldOK && !newOK {
					t.Fatalf("seed %d: both names missing", seed)
				}
				if oldOK && string(oldData) != "A" {
					t.Fatalf("seed %d: old name has %q", seed, oldData)
				}
				if newOK && string(newData) != "A" && !(tc.to == "/d/target" && string(newData) == "T") {
					t.Fatalf("seed %d: new name has %q", seed, newData)
				}
				sawOld = sawOld || (oldOK && !(newOK && string(newData) == "A"))
				sawNew = sawNew || (!oldOK && newOK)
			}
			if !sawOld || !sawNew {
				t.Fatalf("old %v new %v: both outcomes expected", sawOld, sawNew)
			}
			// Once both directories are synced, only the new name remains.
			must(t, fs.SyncDir("/d"))
			must(t, fs.SyncDir("/e"))
			for seed := range uint64(seeds) {
				c := fs.CrashClone(newRNG(seed))
				if exists(t, c, tc.from) || !exists(t, c, tc.to) {
					t.Fatalf("seed %d: rename not durable after SyncDir", seed)
				}
			}
		})
	}
}

// Same seed, same clone.
func TestCrashCloneDeterministic(t *testing.T) {
	fs := NewMem()
	for i := range 20 {
		writeFile(t, fs, fmt.Sprintf("f%02d", i), bytes.Repeat([]byte{byte(i)}, 100), i%3 == 0)
	}
	dump := func(c *MemFS) string {
		names, err := c.List("/")
		must(t, err)
		var b bytes.Buffer
		for _, n := range names {
			data, _ := readFile(t, c, n)
			fmt.Fprintf(&b, "%s:%d ", n, len(data))
		}
		return b.String()
	}
	for seed := range uint64(20) {
		if a, b := dump(fs.CrashClone(newRNG(seed))), dump(fs.CrashClone(newRNG(seed))); a != b {
			t.Fatalf("seed %d: %s != %s", seed, a, b)
		}
	}
}

// (7) InjectError fails exactly the chosen operation and nothing is written.
func TestInjectError(t *testing.T) {
	fs := NewMem()
	must(t, fs.MkdirAll("/d"))
	f, err := fs.Create("/d/f")
	must(t, err)
	_, err = f.Write([]byte("abc"))
	must(t, err)

	var seen []string
	fs.InjectError(func(op Op, path string) error {
		seen = append(seen, op.String()+" "+path)
		if op == OpWrite && path == "/d/f" {
			return ErrInjected
		}
		return nil
	})
	if n, err := f.Write([]byte("xyz")); n != 0 || !errors.Is(err, ErrInjected) {
		t.Fatalf("injected Write = %d, %v", n, err)
	}
	if size, _ := f.Size(); size != 3 {
		t.Fatalf("size after failed write %d", size)
	}
	must(t, f.Sync()) // other ops pass
	buf := make([]byte, 3)
	_, err = f.ReadAt(buf, 0)
	must(t, err)
	if !slices.Equal(seen, []string{"write /d/f", "sync /d/f", "read /d/f"}) {
		t.Fatalf("hook saw %v", seen)
	}

	// Every op reaches the hook with its path.
	for _, tc := range []struct {
		op  Op
		run func() error
	}{
		{OpCreate, func() error { _, err := fs.Create("/d/g"); return err }},
		{OpOpen, func() error { _, err := fs.Open("/d/f"); return err }},
		{OpOpen, func() error { _, err := fs.OpenRW("/d/f"); return err }},
		{OpWrite, func() error { _, err := f.Write([]byte("x")); return err }},
		{OpRead, func() error { _, err := f.ReadAt(buf, 0); return err }},
		{OpSync, f.Sync},
		{OpTruncate, func() error { return f.Truncate(0) }},
		{OpRemove, func() error { return fs.Remove("/d/f") }},
		{OpRemove, func() error { return fs.RemoveAll("/d") }},
		{OpRename, func() error { return fs.Rename("/d/f", "/d/h") }},
		{OpMkdir, func() error { return fs.MkdirAll("/d/sub") }},
		{OpList, func() error { _, err := fs.List("/d"); return err }},
		{OpSyncDir, func() error { return fs.SyncDir("/d") }},
		{OpClose, f.Close},
	} {
		fs.InjectError(func(op Op, path string) error {
			if op == tc.op {
				return ErrInjected
			}
			return nil
		})
		if err := tc.run(); !errors.Is(err, ErrInjected) {
			t.Fatalf("%v: err = %v", tc.op, err)
		}
	}
	fs.InjectError(nil)

	// Nothing happened.
	if got, _ := readFile(t, fs, "/d/f"); string(got) != "abc" {
		t.Fatalf("content %q", got)
	}
	if names, _ := fs.List("/d"); !slices.Equal(names, []string{"f"}) {
		t.Fatalf("List = %v", names)
	}
	if n, _ := fs.SyncedSize("/d/f"); n != 3 {
		t.Fatalf("SyncedSize = %d", n)
	}
	// The file is still open (Close failed) and usable.
	_, err = f.Write([]byte("d"))
	must(t, err)
	must(t, f.Close())
}

// A failed Sync leaves the data undurable.
func TestInjectErrorSync(t *testing.T) {
	fs := NewMem()
	f, err := fs.Create("f")
	must(t, err)
	_, err = f.Write([]byte("abc"))
	must(t, err)
	fs.InjectError(func(op Op, _ string) error {
		if op == OpSync {
			return ErrInjected
		}
		return nil
	})
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatal(err)
	}
	if n, _ := fs.SyncedSize("f"); n != 0 {
		t.Fatalf("SyncedSize after failed Sync = %d", n)
	}
}

// (8) ReadAt runs concurrently with Write on the same and other handles (run with -race).
func TestMemConcurrentReadWrite(t *testing.T) {
	fs := NewMem()
	w, err := fs.Create("f")
	must(t, err)
	r, err := fs.Open("f")
	must(t, err)
	const chunk, chunks = 64, 200
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range chunks {
			if _, err := w.Write(bytes.Repeat([]byte{byte(i)}, chunk)); err != nil {
				t.Error(err)
				return
			}
			if i%50 == 0 {
				if err := w.Sync(); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	for _, h := range []File{w, r} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, chunk)
			for i := 0; i < chunks; {
				n, err := h.ReadAt(buf, int64(i*chunk))
				if err == io.EOF {
					continue // not written yet
				}
				if err != nil || n != chunk {
					t.Errorf("ReadAt = %d, %v", n, err)
					return
				}
				if !bytes.Equal(buf, bytes.Repeat([]byte{byte(i)}, chunk)) {
					t.Errorf("chunk %d corrupt", i)
					return
				}
				i++
			}
		}()
	}
	wg.Add(1)
	go func() { // crash clones and namespace operations in parallel
		defer wg.Done()
		for i := range 20 {
			fs.CrashClone(newRNG(uint64(i)))
			if _, _, err := fs.Stat("f"); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	must(t, w.Close())
	must(t, r.Close())
}

// Unsynced directory renames that would form a cycle in a crash state do not hang
// CrashClone, and every durable file stays reachable under some name.
func TestCrashRenameDirCycle(t *testing.T) {
	fs := NewMem()
	must(t, fs.MkdirAll("/x/y"))
	writeFile(t, fs, "/x/y/f", []byte("F"), true)
	must(t, fs.SyncDir("/x/y"))
	must(t, fs.SyncDir("/x"))
	must(t, fs.SyncDir("/"))
	must(t, fs.Rename("/x/y", "/y"))
	must(t, fs.Rename("/x", "/y/x"))
	for seed := range uint64(seeds) {
		c := fs.CrashClone(newRNG(seed))
		if !exists(t, c, "/x/y/f") && !exists(t, c, "/y/f") {
			t.Fatalf("seed %d: f lost", seed)
		}
	}
}

func TestKillCloneKeepsEverythingWritten(t *testing.T) {
	m := NewMem()
	must(t, m.MkdirAll("/d/e"))
	f, err := m.Create("/d/e/f")
	must(t, err)
	_, err = f.Write([]byte("synced"))
	must(t, err)
	must(t, f.Sync())
	_, err = f.Write([]byte(" and not"))
	must(t, err)
	must(t, m.Rename("/d/e/f", "/d/g")) // never made durable by SyncDir
	c := m.KillClone()
	b, err := ReadFile(c, "/d/g")
	if err != nil || string(b) != "synced and not" {
		t.Fatalf("/d/g = %q, %v", b, err)
	}
	if _, _, err := c.Stat("/d/e/f"); !IsNotExist(err) {
		t.Fatalf("old name after the rename: %v", err)
	}
	// The clone is durable and independent of m.
	again := c.CrashClone(rand.New(rand.NewPCG(1, 2)))
	if b, _ := ReadFile(again, "/d/g"); string(b) != "synced and not" {
		t.Fatalf("after a crash of the clone: %q", b)
	}
	_, err = f.Write([]byte("!"))
	must(t, err)
	if b, _ := ReadFile(c, "/d/g"); string(b) != "synced and not" {
		t.Fatalf("the clone changed with m: %q", b)
	}
}
