package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
)

// testDir is where MemFS-backed tests keep their log.
const testDir = "/data/log"

func mustOpen(t testing.TB, fs vfs.FS, dir string, o Options) *Log {
	t.Helper()
	o.FS = fs
	l, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return l
}

// payloadFor returns a deterministic payload for (seq, version) of length n: tests can
// tell which append produced the bytes they read back.
func payloadFor(seq uint64, version uint32, n int) []byte {
	b := make([]byte, n)
	var x uint64 = seq*0x9e3779b97f4a7c15 ^ uint64(version)<<32 ^ uint64(n)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	if n >= 12 {
		binary.LittleEndian.PutUint64(b, seq)
		binary.LittleEndian.PutUint32(b[8:], version)
	}
	return b
}

func mustAppend(t testing.TB, l *Log, typ byte, data []byte) uint64 {
	t.Helper()
	seq, err := l.Append(typ, data)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return seq
}

func mustRead(t testing.TB, l *Log, seq uint64) (byte, []byte) {
	t.Helper()
	typ, data, err := l.Read(seq, nil)
	if err != nil {
		t.Fatalf("Read(%d): %v", seq, err)
	}
	return typ, data
}

// checkRecord fails unless seq reads back as (typ, want).
func checkRecord(t testing.TB, l *Log, seq uint64, typ byte, want []byte) {
	t.Helper()
	gt, got := mustRead(t, l, seq)
	if gt != typ || !bytes.Equal(got, want) {
		t.Fatalf("Read(%d) = type %d, %d bytes; want type %d, %d bytes (equal=%v)", seq, gt, len(got), typ, len(want), bytes.Equal(got, want))
	}
}

// readFile returns the whole content of a file.
func readFile(t testing.TB, fs vfs.FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return b
}

// writeFile replaces the content of a file (creating it if needed).
func writeFile(t testing.TB, fs vfs.FS, path string, data []byte) {
	t.Helper()
	f, err := fs.OpenRW(path)
	if vfs.IsNotExist(err) {
		f, err = fs.Create(path)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// segFiles lists the segment file names of dir.
func segFiles(t testing.TB, fs vfs.FS, dir string) []string {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if _, ok := parseName(n, segSuffix); ok {
			out = append(out, n)
		}
	}
	return out
}

func segPath(dir string, first uint64) string { return filepath.Join(dir, segmentName(first)) }

// collect iterates from `from` to the end and returns seqs and payload copies.
func collect(t testing.TB, l *Log, from uint64) ([]uint64, [][]byte) {
	t.Helper()
	it := l.NewIterator(from)
	defer it.Close()
	var seqs []uint64
	var datas [][]byte
	for it.Next() {
		seqs = append(seqs, it.Seq())
		datas = append(datas, bytes.Clone(it.Data()))
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterator: %v", err)
	}
	return seqs, datas
}

func asCorrupt(err error) *CorruptError {
	var ce *CorruptError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x5eed)) }
