package vfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDefault(t *testing.T) {
	dir := t.TempDir()
	fs := Default
	must(t, fs.MkdirAll(filepath.Join(dir, "sub")))
	name := filepath.Join(dir, "sub", "f")
	f, err := fs.Create(name)
	must(t, err)
	if _, err := fs.Create(name); !errors.Is(err, ErrExist) {
		t.Fatalf("Create existing: %v", err)
	}
	_, err = f.Write([]byte("hello"))
	must(t, err)
	must(t, f.Sync())
	buf := make([]byte, 8)
	if n, err := f.ReadAt(buf, 0); n != 5 || err != io.EOF || string(buf[:n]) != "hello" {
		t.Fatalf("ReadAt = %d, %v, %q", n, err, buf[:n])
	}
	if size, err := f.Size(); size != 5 || err != nil {
		t.Fatalf("Size = %d, %v", size, err)
	}
	must(t, f.Close())

	renamed := filepath.Join(dir, "sub", "g")
	must(t, fs.Rename(name, renamed))
	must(t, fs.SyncDir(filepath.Join(dir, "sub")))
	names, err := fs.List(filepath.Join(dir, "sub"))
	must(t, err)
	if !slices.Equal(names, []string{"g"}) {
		t.Fatalf("List = %v", names)
	}
	if size, isDir, err := fs.Stat(renamed); size != 5 || isDir || err != nil {
		t.Fatalf("Stat = %d, %v, %v", size, isDir, err)
	}
	if _, err := fs.Open(name); !IsNotExist(err) {
		t.Fatalf("Open old name: %v", err)
	}
	must(t, fs.RemoveAll(filepath.Join(dir, "sub")))
}

func TestWriteFileAtomicModeAndReadFile(t *testing.T) {
	dir := t.TempDir()
	must(t, WriteFileAtomicMode(Default, dir, "secret", []byte("s3cret"), 0o600))
	st, err := os.Stat(filepath.Join(dir, "secret"))
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	b, err := ReadFile(Default, filepath.Join(dir, "secret"))
	if err != nil || string(b) != "s3cret" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	must(t, WriteFileAtomicMode(Default, dir, "empty", nil, 0o600))
	if b, err := ReadFile(Default, filepath.Join(dir, "empty")); err != nil || len(b) != 0 {
		t.Fatalf("ReadFile of an empty file = %q, %v", b, err)
	}
	if _, err := ReadFile(Default, filepath.Join(dir, "missing")); !IsNotExist(err) {
		t.Fatalf("ReadFile of a missing file: %v", err)
	}
	mem := NewMem()
	must(t, mem.MkdirAll("/d"))
	must(t, WriteFileAtomicMode(mem, "/d", "f", []byte("x"), 0o600)) // no permissions: plain Create
	if b, err := ReadFile(mem, "/d/f"); err != nil || string(b) != "x" {
		t.Fatalf("ReadFile on memory = %q, %v", b, err)
	}
}
