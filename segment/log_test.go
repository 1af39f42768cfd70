package segment

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/opencmq/opencmq/segment/vfs"
)

func TestNewLogIsEmpty(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{})
	defer l.Close()
	st := l.Stats()
	want := Stats{Segments: 1, Bytes: headerSize, FirstSeq: 1, LastSeq: 0, DurableSeq: 0}
	if st != want {
		t.Fatalf("Stats = %+v, want %+v", st, want)
	}
	if got := segFiles(t, fs, testDir); !slices.Equal(got, []string{"00000000000000000001.seg"}) {
		t.Fatalf("files = %v", got)
	}
	if _, _, err := l.Read(1, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Read(1) on empty log: %v, want ErrNotFound", err)
	}
	if _, _, err := l.Read(0, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Read(0): %v, want ErrNotFound", err)
	}
	// The directory was created durably: a crash now keeps it (and the segment).
	clone := fs.CrashClone(newRand(1))
	if got := segFiles(t, clone, testDir); len(got) != 1 {
		t.Fatalf("after crash, files = %v", got)
	}
}

func TestOnDiskLayout(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{})
	mustAppend(t, l, 7, []byte("hello"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b := readFile(t, fs, segPath(testDir, 1))
	if len(b) != headerSize+frameHeaderSize+5 {
		t.Fatalf("file is %d bytes", len(b))
	}
	if string(b[:8]) != "OCMQSEG\x00" || b[8] != 1 || b[9] != 0 || b[10] != 1 {
		t.Fatalf("header = %x", b[:headerSize])
	}
	f := b[headerSize:]
	if f[0] != 5 || f[1] != 0 || f[4] != 7 || string(f[13:]) != "hello" {
		t.Fatalf("frame = %x", f)
	}
	if sum := recordChecksum(1, 5, 7, []byte("hello")); sum != parseFrameHeader(f).sum {
		t.Fatalf("checksum %x, want %x", parseFrameHeader(f).sum, sum)
	}
	// The same frame at seq 2 does not verify: the checksum covers the seq.
	if _, _, _, err := decodeRecord(f, 2, 100); !errors.Is(err, errChecksum) {
		t.Fatalf("decode at wrong seq: %v", err)
	}
}

func TestAppendRead(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{IndexInterval: 64})
	defer l.Close()
	var want [][]byte
	for i := range 300 {
		p := payloadFor(uint64(i+1), 0, i%97)
		if seq := mustAppend(t, l, byte(i), p); seq != uint64(i+1) {
			t.Fatalf("Append #%d got seq %d", i, seq)
		}
		want = append(want, p)
	}
	for i, p := range want {
		checkRecord(t, l, uint64(i+1), byte(i), p)
	}
	// Read stores into buf when it fits, allocates otherwise.
	buf := make([]byte, 0, 100)
	_, got, err := l.Read(100, buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > 0 && &got[:1][0] != &buf[:1][0] {
		t.Fatal("Read did not use the buffer that fits")
	}
	small := make([]byte, 0, 1)
	_, got, err = l.Read(60, small)
	if err != nil || !bytes.Equal(got, want[59]) {
		t.Fatalf("Read(60) with small buf: %v", err)
	}
	if _, _, err := l.Read(301, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Read past end: %v", err)
	}
}

func TestReopenKeepsDenseSeqs(t *testing.T) {
	fs := vfs.NewMem()
	o := Options{MaxSegmentBytes: 512}
	for round := range 5 {
		l := mustOpen(t, fs, testDir, o)
		if got, want := l.LastSeq(), uint64(round*20); got != want {
			t.Fatalf("round %d: LastSeq %d, want %d", round, got, want)
		}
		if l.DurableSeq() != l.LastSeq() {
			t.Fatalf("after Open DurableSeq %d != LastSeq %d", l.DurableSeq(), l.LastSeq())
		}
		for i := range 20 {
			seq := uint64(round*20 + i + 1)
			if got := mustAppend(t, l, 1, payloadFor(seq, 0, 30)); got != seq {
				t.Fatalf("Append got %d, want %d", got, seq)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	l := mustOpen(t, fs, testDir, o)
	defer l.Close()
	seqs, datas := collect(t, l, 0)
	if len(seqs) != 100 {
		t.Fatalf("%d records", len(seqs))
	}
	for i, s := range seqs {
		if s != uint64(i+1) || !bytes.Equal(datas[i], payloadFor(s, 0, 30)) {
			t.Fatalf("record %d: seq %d", i, s)
		}
	}
}

func TestRollNamingAndSize(t *testing.T) {
	fs := vfs.NewMem()
	const max = 300
	l := mustOpen(t, fs, testDir, Options{MaxSegmentBytes: max})
	sizes := []int{50, 50, 50, 50, 50, 1000, 10, 10, 200, 200, 0, 0}
	for i, n := range sizes {
		mustAppend(t, l, 0, payloadFor(uint64(i+1), 0, n))
	}
	// A batch that does not fit in the active segment starts a new one, whole.
	first, err := l.AppendBatch(3, [][]byte{make([]byte, 120), make([]byte, 120), make([]byte, 120)})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files := segFiles(t, fs, testDir)
	// Expected: [1..4] (4*63+26 = 278), [5] (+1013 alone would exceed: 5 alone? 26+63=89, then
	// 1013 does not fit) ...; derive the expectation from the rule instead of by hand.
	var want []string
	size, count := int64(headerSize), 0
	add := func(seq uint64, n int64) {
		if count > 0 && size+n > max {
			size, count = headerSize, 0
		}
		if count == 0 {
			want = append(want, segmentName(seq))
		}
		size += n
		count++
	}
	for i, n := range sizes {
		add(uint64(i+1), int64(frameHeaderSize+n))
	}
	add(first, 3*(frameHeaderSize+120))
	if !slices.Equal(files, want) {
		t.Fatalf("files %v, want %v", files, want)
	}
	for i, name := range files {
		b := readFile(t, fs, filepath.Join(testDir, name))
		n, _ := parseName(name, segSuffix)
		if i < len(files)-1 {
			next, _ := parseName(files[i+1], segSuffix)
			if len(b) > max && next-n != 1 && name != segmentName(first) {
				t.Fatalf("%s is %d bytes > MaxSegmentBytes with %d records", name, len(b), next-n)
			}
		}
	}
	if files[len(files)-1] != segmentName(first) {
		t.Fatalf("batch at %d not alone in the last segment: %v", first, files)
	}
}

// TestAppendChecksumGuess: Append computes the checksum before it knows the seq, for the
// seq it guesses; a record that gets another seq (another append took the guessed one)
// is checksummed again for its own.
func TestAppendChecksumGuess(t *testing.T) {
	l := mustOpen(t, vfs.NewMem(), testDir, Options{})
	defer l.Close()
	data := []byte("guessed")
	l.mu.Lock()
	right := l.appendLocked(1, data, l.next, recordChecksum(l.next, uint32(len(data)), 1, data))
	wrong := l.appendLocked(1, data, l.next+1, recordChecksum(l.next+1, uint32(len(data)), 1, data))
	none := l.appendLocked(1, data, 0, 0)
	l.mu.Unlock()
	for _, seq := range []uint64{right, wrong, none} {
		checkRecord(t, l, seq, 1, data)
	}
}

func TestAppendBatch(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{MaxRecordBytes: 100})
	defer l.Close()
	mustAppend(t, l, 1, []byte("a"))
	first, err := l.AppendBatch(2, [][]byte{[]byte("b"), {}, []byte("d")})
	if err != nil || first != 2 {
		t.Fatalf("AppendBatch = %d, %v", first, err)
	}
	// All or nothing: one oversized record rejects the whole batch.
	if _, err := l.AppendBatch(2, [][]byte{[]byte("x"), make([]byte, 101)}); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("oversized batch: %v", err)
	}
	if l.LastSeq() != 4 {
		t.Fatalf("LastSeq %d after rejected batch", l.LastSeq())
	}
	if first, err := l.AppendBatch(2, nil); err != nil || first != 5 {
		t.Fatalf("empty batch = %d, %v", first, err)
	}
	if mustAppend(t, l, 1, []byte("e")) != 5 {
		t.Fatal("seq after batch")
	}
	for i, w := range []string{"a", "b", "", "d", "e"} {
		typ, got := mustRead(t, l, uint64(i+1))
		if string(got) != w || typ != map[bool]byte{true: 2, false: 1}[i >= 1 && i <= 3] {
			t.Fatalf("record %d = %d %q", i+1, typ, got)
		}
	}
}

func TestRecordTooLarge(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{MaxRecordBytes: 1000})
	if _, err := l.Append(0, make([]byte, 1001)); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("Append 1001: %v", err)
	}
	mustAppend(t, l, 0, make([]byte, 1000))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// The decoder refuses lengths above MaxRecordBytes too: reopening with a smaller
	// limit reports the record as corrupt instead of believing (or allocating) it.
	_, err := Open(testDir, Options{FS: fs, MaxRecordBytes: 999})
	ce := asCorrupt(err)
	if ce == nil || ce.Offset != headerSize {
		t.Fatalf("reopen with smaller MaxRecordBytes: %v", err)
	}
}

func TestReadAndIterateUnflushed(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{})
	defer l.Close()
	it := l.NewIterator(0)
	defer it.Close()
	if it.Next() {
		t.Fatal("Next on empty log")
	}
	mustAppend(t, l, 1, []byte("one"))
	mustAppend(t, l, 1, []byte("two"))
	if size, _, _ := fs.Stat(segPath(testDir, 1)); size != headerSize {
		t.Fatalf("appends were written before any read or sync (size %d)", size)
	}
	checkRecord(t, l, 2, 1, []byte("two"))
	if size, _, _ := fs.Stat(segPath(testDir, 1)); size != headerSize+2*(frameHeaderSize+3) {
		t.Fatalf("Read of a buffered record did not flush (size %d)", size)
	}
	if !it.Next() || it.Seq() != 1 || string(it.Data()) != "one" {
		t.Fatalf("Next: %v %d %q", it.Err(), it.Seq(), it.Data())
	}
	if !it.Next() || it.Seq() != 2 || string(it.Data()) != "two" {
		t.Fatal("Next 2")
	}
	if it.Next() {
		t.Fatal("Next past end")
	}
	// The iterator follows the log: a later append is returned by a later Next.
	mustAppend(t, l, 9, []byte("three"))
	if !it.Next() || it.Seq() != 3 || it.Type() != 9 || string(it.Data()) != "three" {
		t.Fatalf("Next after append: %v", it.Err())
	}
	if it.Next() || it.Err() != nil {
		t.Fatalf("end: %v", it.Err())
	}
}

func TestIteratorAcrossSegments(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{MaxSegmentBytes: 400, IndexInterval: 64})
	defer l.Close()
	for i := 1; i <= 200; i++ {
		mustAppend(t, l, byte(i), payloadFor(uint64(i), 0, i%40))
	}
	if l.Stats().Segments < 10 {
		t.Fatalf("only %d segments", l.Stats().Segments)
	}
	for _, from := range []uint64{0, 1, 2, 57, 199, 200, 201} {
		seqs, datas := collect(t, l, from)
		start := max(from, 1)
		if len(seqs) != int(201-start) {
			t.Fatalf("from %d: %d records", from, len(seqs))
		}
		for i, s := range seqs {
			if s != start+uint64(i) || !bytes.Equal(datas[i], payloadFor(s, 0, int(s%40))) {
				t.Fatalf("from %d: record %d is seq %d", from, i, s)
			}
		}
	}
}

func TestSparseIndex(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{IndexInterval: 1000})
	for i := 1; i <= 1000; i++ {
		mustAppend(t, l, 0, make([]byte, 87)) // 100-byte frames
	}
	l.mu.Lock()
	n := len(l.active().index)
	l.mu.Unlock()
	if n != 100 {
		t.Fatalf("%d index entries for 100 KB at interval 1000, want 100", n)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Open rebuilds the same index.
	l = mustOpen(t, fs, testDir, Options{IndexInterval: 1000})
	defer l.Close()
	l.mu.Lock()
	n = len(l.active().index)
	l.mu.Unlock()
	if n != 100 {
		t.Fatalf("%d index entries after Open", n)
	}
	for _, s := range []uint64{1, 9, 10, 11, 500, 999, 1000} {
		if _, d := mustRead(t, l, s); len(d) != 87 {
			t.Fatal(s)
		}
	}
}

func TestDropBefore(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{MaxSegmentBytes: 200})
	for i := 1; i <= 30; i++ {
		mustAppend(t, l, 0, payloadFor(uint64(i), 0, 37)) // 50-byte frames: 3 per segment
	}
	// Segments: 1-3, 4-6, ..., 28-30.
	if err := l.DropBefore(1); err != nil || l.FirstSeq() != 1 {
		t.Fatalf("DropBefore(1): %v, FirstSeq %d", err, l.FirstSeq())
	}
	if err := l.DropBefore(6); err != nil || l.FirstSeq() != 4 {
		t.Fatalf("DropBefore(6): %v, FirstSeq %d", err, l.FirstSeq())
	}
	if err := l.DropBefore(7); err != nil || l.FirstSeq() != 7 {
		t.Fatalf("DropBefore(7): %v, FirstSeq %d", err, l.FirstSeq())
	}
	if _, _, err := l.Read(6, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Read dropped: %v", err)
	}
	checkRecord(t, l, 7, 0, payloadFor(7, 0, 37))
	// Never the active segment.
	if err := l.DropBefore(1000); err != nil {
		t.Fatal(err)
	}
	if l.FirstSeq() != 28 || l.LastSeq() != 30 || l.Stats().Segments != 1 {
		t.Fatalf("after DropBefore(1000): %+v", l.Stats())
	}
	if got := segFiles(t, fs, testDir); !slices.Equal(got, []string{segmentName(28)}) {
		t.Fatalf("files %v", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, fs, testDir, Options{MaxSegmentBytes: 200})
	defer l.Close()
	if l.FirstSeq() != 28 || l.LastSeq() != 30 {
		t.Fatalf("reopened: %+v", l.Stats())
	}
	if seqs, _ := collect(t, l, 0); !slices.Equal(seqs, []uint64{28, 29, 30}) {
		t.Fatalf("records %v", seqs)
	}
}

func TestTruncateFrom(t *testing.T) {
	o := Options{MaxSegmentBytes: 200}
	setup := func(t *testing.T) (*vfs.MemFS, *Log) {
		fs := vfs.NewMem()
		l := mustOpen(t, fs, testDir, o)
		for i := 1; i <= 30; i++ {
			mustAppend(t, l, 0, payloadFor(uint64(i), 0, 37)) // 3 per segment
		}
		return fs, l
	}
	for _, seq := range []uint64{30, 29, 28, 27, 26, 14, 13, 4, 2, 1} {
		t.Run(fmt.Sprint(seq), func(t *testing.T) {
			fs, l := setup(t)
			if err := l.TruncateFrom(seq); err != nil {
				t.Fatal(err)
			}
			if l.LastSeq() != seq-1 || l.DurableSeq() != seq-1 {
				t.Fatalf("LastSeq %d DurableSeq %d", l.LastSeq(), l.DurableSeq())
			}
			if _, _, err := l.Read(seq, nil); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Read truncated: %v", err)
			}
			if got := mustAppend(t, l, 5, []byte("new")); got != seq {
				t.Fatalf("next Append got %d", got)
			}
			checkRecord(t, l, seq, 5, []byte("new"))
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, fs, testDir, o)
			defer l.Close()
			seqs, datas := collect(t, l, 0)
			if len(seqs) != int(seq) {
				t.Fatalf("%d records after reopen", len(seqs))
			}
			for i := range seq - 1 {
				if !bytes.Equal(datas[i], payloadFor(i+1, 0, 37)) {
					t.Fatalf("record %d changed", i+1)
				}
			}
			if string(datas[seq-1]) != "new" {
				t.Fatal("new record lost")
			}
		})
	}
	t.Run("range", func(t *testing.T) {
		_, l := setup(t)
		defer l.Close()
		if err := l.TruncateFrom(31); err != nil {
			t.Fatalf("TruncateFrom(LastSeq+1): %v", err)
		}
		if err := l.TruncateFrom(32); !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("TruncateFrom(LastSeq+2): %v", err)
		}
		if err := l.DropBefore(10); err != nil {
			t.Fatal(err)
		}
		if err := l.TruncateFrom(9); !errors.Is(err, ErrOutOfRange) {
			t.Fatalf("TruncateFrom below FirstSeq: %v", err)
		}
		if err := l.TruncateFrom(10); err != nil || l.LastSeq() != 9 || l.FirstSeq() != 10 {
			t.Fatalf("TruncateFrom(FirstSeq): %v %+v", err, l.Stats())
		}
	})
}

func TestReset(t *testing.T) {
	fs := vfs.NewMem()
	o := Options{MaxSegmentBytes: 200}
	l := mustOpen(t, fs, testDir, o)
	for i := 1; i <= 20; i++ {
		mustAppend(t, l, 0, payloadFor(uint64(i), 0, 37))
	}
	if err := l.Reset(0); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Reset(0): %v", err)
	}
	if err := l.Reset(1000); err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	if st.FirstSeq != 1000 || st.LastSeq != 999 || st.DurableSeq != 999 || st.Segments != 1 {
		t.Fatalf("after Reset: %+v", st)
	}
	if got := segFiles(t, fs, testDir); !slices.Equal(got, []string{segmentName(1000)}) {
		t.Fatalf("files %v", got)
	}
	if _, _, err := l.Read(5, nil); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if seq := mustAppend(t, l, 1, []byte("x")); seq != 1000 {
		t.Fatalf("Append after Reset got %d", seq)
	}
	// Reset to a lower seq than ever stored, and reopen without appending.
	if err := l.Reset(3); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, fs, testDir, o)
	defer l.Close()
	if l.FirstSeq() != 3 || l.LastSeq() != 2 {
		t.Fatalf("reopened after Reset(3): %+v", l.Stats())
	}
	if seq := mustAppend(t, l, 1, []byte("y")); seq != 3 {
		t.Fatalf("Append got %d", seq)
	}
}

func TestStats(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{MaxSegmentBytes: 200})
	defer l.Close()
	for i := 1; i <= 7; i++ {
		mustAppend(t, l, 0, make([]byte, 37))
	}
	if err := l.WaitDurable(4); err != nil {
		t.Fatal(err)
	}
	st := l.Stats()
	// 7 records of 50 bytes, 3 per segment: 3 segments. Sealing segment 4..6 synced it,
	// so WaitDurable(4) had nothing to do and 7 is not durable.
	want := Stats{Segments: 3, Bytes: 3*headerSize + 7*50, FirstSeq: 1, LastSeq: 7, DurableSeq: 6}
	if st != want {
		t.Fatalf("Stats = %+v, want %+v", st, want)
	}
	if l.FirstSeq() != 1 || l.LastSeq() != 7 || l.DurableSeq() != 6 {
		t.Fatal("accessors disagree with Stats")
	}
}

func TestWaitDurable(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{})
	defer l.Close()
	if err := l.WaitDurable(0); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := l.WaitDurable(1); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("WaitDurable of unappended seq: %v", err)
	}
	s1 := mustAppend(t, l, 0, []byte("a"))
	mustAppend(t, l, 0, []byte("b"))
	if synced, _ := fs.SyncedSize(segPath(testDir, 1)); synced != headerSize {
		t.Fatalf("synced before WaitDurable: %d", synced)
	}
	if err := l.WaitDurable(s1); err != nil {
		t.Fatal(err)
	}
	// Group commit: the sync covers everything appended so far, not just s1.
	if l.DurableSeq() != 2 {
		t.Fatalf("DurableSeq %d", l.DurableSeq())
	}
	if synced, _ := fs.SyncedSize(segPath(testDir, 1)); synced != headerSize+2*14 {
		t.Fatalf("synced size %d", synced)
	}
}

func TestClose(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{})
	mustAppend(t, l, 0, []byte("a"))
	it := l.NewIterator(0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Close synced.
	if synced, _ := fs.SyncedSize(segPath(testDir, 1)); synced != headerSize+14 {
		t.Fatalf("Close did not sync: %d", synced)
	}
	if l.DurableSeq() != 1 {
		t.Fatal("DurableSeq after Close")
	}
	calls := map[string]error{}
	_, calls["Append"] = l.Append(0, nil)
	_, calls["AppendBatch"] = l.AppendBatch(0, [][]byte{nil})
	_, _, calls["Read"] = l.Read(1, nil)
	calls["Sync"] = l.Sync()
	calls["WaitDurable"] = l.WaitDurable(1)
	calls["DropBefore"] = l.DropBefore(1)
	calls["TruncateFrom"] = l.TruncateFrom(1)
	calls["Reset"] = l.Reset(1)
	calls["Close"] = l.Close()
	if it.Next() {
		t.Fatal("iterator Next after Close")
	}
	calls["Iterator"] = it.Err()
	it2 := l.NewIterator(0)
	it2.Next()
	calls["NewIterator"] = it2.Err()
	for name, err := range calls {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	it2.Close()
}

func TestHeaderValidation(t *testing.T) {
	build := func(t *testing.T) *vfs.MemFS {
		fs := vfs.NewMem()
		l := mustOpen(t, fs, testDir, Options{MaxSegmentBytes: 100})
		for i := range 4 {
			mustAppend(t, l, 0, make([]byte, 40)) // one per segment
			_ = i
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return fs
	}
	cases := []struct {
		name   string
		edit   func(b []byte) []byte
		offset int64
	}{
		{"magic", func(b []byte) []byte { b[0] ^= 1; return b }, 0},
		{"checksum", func(b []byte) []byte { b[20] ^= 0x80; return b }, 0},
		{"first seq", func(b []byte) []byte {
			h := encodeHeader(1) // valid header naming seq 1 in file 2
			return append(h, b[headerSize:]...)
		}, 10},
	}
	for _, c := range cases {
		for _, target := range []uint64{2, 4} { // a sealed and the last segment
			t.Run(fmt.Sprintf("%s/seg%d", c.name, target), func(t *testing.T) {
				fs := build(t)
				path := segPath(testDir, target)
				writeFile(t, fs, path, c.edit(readFile(t, fs, path)))
				_, err := Open(testDir, Options{FS: fs, MaxSegmentBytes: 100})
				ce := asCorrupt(err)
				if ce == nil || ce.File != path || ce.Offset != c.offset || !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Open: %v", err)
				}
			})
		}
	}
	t.Run("version with valid checksum", func(t *testing.T) {
		fs := build(t)
		path := segPath(testDir, 4)
		b := readFile(t, fs, path)
		hv := encodeHeader(4)
		hv[8] = 2 // version 2, with a checksum that matches it
		binary.LittleEndian.PutUint64(hv[18:], xxhash.Sum64(hv[:18]))
		writeFile(t, fs, path, append(hv, b[headerSize:]...))
		_, err := Open(testDir, Options{FS: fs})
		if ce := asCorrupt(err); ce == nil || ce.Offset != 0 {
			t.Fatalf("Open: %v", err)
		}
	})
}

func TestOptionsValidation(t *testing.T) {
	fs := vfs.NewMem()
	for _, o := range []Options{
		{MaxSegmentBytes: -1},
		{MaxSegmentBytes: 1 << 32},
		{IndexInterval: -5},
		{MaxRecordBytes: -1},
		{MaxRecordBytes: 1<<30 + 1},
	} {
		o.FS = fs
		if _, err := Open(testDir, o); err == nil {
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
	// A file where the directory should be.
	writeFile(t, fs, "/file", []byte("x"))
	if _, err := Open("/file", Options{FS: fs}); err == nil {
		t.Error("Open on a file succeeded")
	}
}

func TestIgnoresForeignFiles(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{})
	mustAppend(t, l, 0, []byte("a"))
	l.Close()
	writeFile(t, fs, filepath.Join(testDir, "LOCK"), nil)
	writeFile(t, fs, filepath.Join(testDir, "1.seg"), nil)
	l = mustOpen(t, fs, testDir, Options{})
	defer l.Close()
	checkRecord(t, l, 1, 0, []byte("a"))
}

// TestTruncateIntoCorruptLazySegment: TruncateFrom into a sealed segment that a LazyOpen
// has not verified yet, and that turns out corrupt, fails and changes nothing.
func TestTruncateIntoCorruptLazySegment(t *testing.T) {
	fs, files, starts := twoSegmentLog(t, Options{})
	data := bytes.Clone(files[0])
	data[starts[0][2]+frameHeaderSize] ^= 1 // payload of record 3
	writeFile(t, fs, segPath(testDir, 1), data)
	l := mustOpen(t, fs, testDir, Options{LazyOpen: true})
	defer l.Close()
	if err := l.TruncateFrom(2); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("TruncateFrom into corrupt segment: %v", err)
	}
	if st := l.Stats(); st.Segments != 2 || st.LastSeq != 6 {
		t.Fatalf("log changed: %+v", st)
	}
	checkRecord(t, l, 6, 6, payloadFor(6, 0, 20))
	if got := segFiles(t, fs, testDir); len(got) != 2 {
		t.Fatalf("files %v", got)
	}
	if seq := mustAppend(t, l, 7, nil); seq != 7 {
		t.Fatalf("Append got %d", seq)
	}
}

// TestIteratorStopsAtClose: an iterator in the middle of a segment stops at Log.Close.
func TestIteratorStopsAtClose(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{})
	for range 10 {
		mustAppend(t, l, 0, []byte("r"))
	}
	it := l.NewIterator(0)
	defer it.Close()
	if !it.Next() || !it.Next() {
		t.Fatal(it.Err())
	}
	l.Close()
	if it.Next() || !errors.Is(it.Err(), ErrClosed) {
		t.Fatalf("Next after Close: %v", it.Err())
	}
}

// TestIteratorOnDroppedSegment: an iterator whose next record was removed by DropBefore
// or Reset reports ErrNotFound; one that is past the removed range carries on.
func TestIteratorOnDroppedSegment(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{MaxSegmentBytes: 200})
	defer l.Close()
	for i := 1; i <= 12; i++ {
		mustAppend(t, l, 0, payloadFor(uint64(i), 0, 37)) // 3 per segment
	}
	behind := l.NewIterator(0)
	defer behind.Close()
	ahead := l.NewIterator(7)
	defer ahead.Close()
	if !behind.Next() || !ahead.Next() {
		t.Fatal("Next")
	}
	if err := l.DropBefore(7); err != nil {
		t.Fatal(err)
	}
	// behind is on segment 1..3, which is gone (its file stays open for it until now).
	if behind.Next() || !errors.Is(behind.Err(), ErrNotFound) {
		t.Fatalf("iterator on a dropped segment: %v", behind.Err())
	}
	if !ahead.Next() || ahead.Seq() != 8 || !bytes.Equal(ahead.Data(), payloadFor(8, 0, 37)) {
		t.Fatalf("iterator past the dropped range: %v", ahead.Err())
	}
	if err := l.Reset(100); err != nil {
		t.Fatal(err)
	}
	if ahead.Next() || !errors.Is(ahead.Err(), ErrNotFound) {
		t.Fatalf("iterator after Reset: %v", ahead.Err())
	}
	if _, _, err := l.Read(8, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Read after Reset: %v", err)
	}
}

func TestFlushWritesWithoutSyncing(t *testing.T) {
	fs := vfs.NewMem()
	l, err := Open("/log", Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Append(1, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	name := "/log/" + segmentName(1)
	before, _, _ := fs.Stat(name)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	after, _, _ := fs.Stat(name)
	if after <= before {
		t.Fatalf("Flush wrote nothing: %d -> %d bytes", before, after)
	}
	if synced, _ := fs.SyncedSize(name); synced >= after {
		t.Fatalf("Flush synced: %d of %d bytes durable", synced, after)
	}
	if l.DurableSeq() != 0 {
		t.Fatalf("DurableSeq %d after Flush", l.DurableSeq())
	}
	if _, data, err := l.Read(1, nil); err != nil || string(data) != "hello" {
		t.Fatalf("read after Flush: %q %v", data, err)
	}
	l.Close()
	if err := l.Flush(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Flush after Close: %v", err)
	}
}
