package vfs

import (
	"math/rand/v2"
	"testing"
)

func TestWriteFileAtomicSurvivesCrashes(t *testing.T) {
	fs := NewMem()
	if err := fs.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	if err := fs.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(fs, "/d", "f", []byte("old")); err != nil {
		t.Fatal(err)
	}
	// Crash at every file-system operation of the second write: the file reads either the
	// old content or the new one.
	for step := 1; step <= 8; step++ {
		n := 0
		var clone *MemFS
		fs.InjectError(func(op Op, path string) error {
			n++
			if n == step {
				clone = fs.CrashClone(rand.New(rand.NewPCG(uint64(step), 3)))
			}
			return nil
		})
		if err := WriteFileAtomic(fs, "/d", "f", []byte("new content")); err != nil {
			t.Fatal(err)
		}
		fs.InjectError(nil)
		if clone == nil {
			clone = fs.CrashClone(rand.New(rand.NewPCG(uint64(step), 4)))
		}
		f, err := clone.Open("/d/f")
		if err != nil {
			t.Fatalf("step %d: the file is gone: %v", step, err)
		}
		size, _ := f.Size()
		b := make([]byte, size)
		f.ReadAt(b, 0)
		f.Close()
		if got := string(b); got != "old" && got != "new content" {
			t.Fatalf("step %d: content %q", step, got)
		}
		if err := WriteFileAtomic(fs, "/d", "f", []byte("old")); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMkdirAllSyncMakesEveryLevelDurable(t *testing.T) {
	fs := NewMem()
	if err := MkdirAllSync(fs, "/a/b/c", 0o750); err != nil {
		t.Fatal(err)
	}
	for seed := uint64(0); seed < 20; seed++ {
		clone := fs.CrashClone(rand.New(rand.NewPCG(seed, 1)))
		if _, isDir, err := clone.Stat("/a/b/c"); err != nil || !isDir {
			t.Fatalf("seed %d: /a/b/c after a crash: %v", seed, err)
		}
	}
	if err := MkdirAllSync(fs, "/a/b/c", 0o750); err != nil { // exists: nothing to do
		t.Fatal(err)
	}
	if err := fs.MkdirAll("/f"); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Create("/f/file"); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAllSync(fs, "/f/file/x", 0o750); err == nil {
		t.Fatal("MkdirAllSync under a file succeeded")
	}
}
