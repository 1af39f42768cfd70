package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/opencmq/opencmq/segment/vfs"
)

// selfDescribing returns a payload that names its writer: the first 8 bytes hold id, and
// the rest follows from id and the length, so a reader can verify any record on its own.
func selfDescribing(id uint64, n int) []byte { return payloadFor(id, 7, max(n, 12)) }

func verifySelfDescribing(data []byte) (id uint64, ok bool) {
	if len(data) < 12 {
		return 0, false
	}
	id = binary.LittleEndian.Uint64(data)
	return id, string(data) == string(payloadFor(id, 7, len(data)))
}

// TestConcurrentAppendWaitRead runs appenders that wait for durability and read their
// records back, random readers of confirmed records, a tailing iterator and a retention
// loop (DropBefore), all at once, on the in-memory and the real file system. Run with
// -race. Every confirmed record must read back with its payload, or ErrNotFound once
// retention removed it; the iterator must see dense seqs and valid payloads.
func TestConcurrentAppendWaitRead(t *testing.T) {
	for _, kind := range []string{"mem", "disk"} {
		t.Run(kind, func(t *testing.T) {
			var fs vfs.FS = vfs.NewMem()
			dir, perG := testDir, 150
			if kind == "disk" {
				fs, dir, perG = vfs.Default, t.TempDir(), 40
			}
			concurrentWorkload(t, fs, dir, Options{MaxSegmentBytes: 16 << 10, IndexInterval: 256}, 8, perG, 700)
		})
	}
	// Groups of hundreds of KiB on a real disk, whose fsyncs take long enough for the
	// syncer to gather them while reads, the iterator, retention and rolls go on.
	t.Run("disk-large-groups", func(t *testing.T) {
		concurrentWorkload(t, vfs.Default, t.TempDir(), Options{MaxSegmentBytes: 4 << 20}, 48, 12, 12<<10)
	})
}

// concurrentWorkload runs appenders goroutines, each appending perG batches of 1-3
// records of up to maxRec bytes and waiting for them, with readers, an iterator and
// retention alongside (see TestConcurrentAppendWaitRead).
func concurrentWorkload(t *testing.T, fs vfs.FS, dir string, o Options, appenders, perG, maxRec int) {
	l := mustOpen(t, fs, dir, o)
	var (
		mu        sync.Mutex
		confirmed = map[uint64]uint64{} // seq -> id
		seqs      []uint64
		stop      atomic.Bool
		wg, bg    sync.WaitGroup
	)
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		stop.Store(true)
	}
	readCheck := func(seq, id uint64) {
		_, data, err := l.Read(seq, nil)
		if errors.Is(err, ErrNotFound) && seq < l.FirstSeq() {
			return // removed by retention meanwhile
		}
		if err != nil {
			fail("Read(%d): %v", seq, err)
			return
		}
		if got, ok := verifySelfDescribing(data); !ok || got != id {
			fail("Read(%d) returned record %x (valid %v), want %x", seq, got, ok, id)
		}
	}
	for g := range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := newRand(uint64(g))
			for i := 0; i < perG && !stop.Load(); i++ {
				n := 1 + r.IntN(3)*r.IntN(2)
				ids := make([]uint64, n)
				recs := make([][]byte, n)
				for k := range recs {
					ids[k] = uint64(g)<<40 | uint64(i)<<8 | uint64(k)
					recs[k] = selfDescribing(ids[k], r.IntN(maxRec))
				}
				first, err := l.AppendBatch(byte(g), recs)
				if err != nil {
					fail("AppendBatch: %v", err)
					return
				}
				last := first + uint64(n) - 1
				if err := l.WaitDurable(last); err != nil {
					fail("WaitDurable(%d): %v", last, err)
					return
				}
				if d := l.DurableSeq(); d < last {
					fail("DurableSeq %d < %d after WaitDurable", d, last)
				}
				mu.Lock()
				for k, id := range ids {
					confirmed[first+uint64(k)] = id
					seqs = append(seqs, first+uint64(k))
				}
				mu.Unlock()
				for k, id := range ids {
					readCheck(first+uint64(k), id)
				}
				if g == 0 && i%25 == 24 {
					if err := l.DropBefore(l.DurableSeq() / 2); err != nil {
						fail("DropBefore: %v", err)
					}
				}
			}
		}()
	}
	for rd := range 2 {
		bg.Add(1)
		go func() {
			defer bg.Done()
			r := newRand(100 + uint64(rd))
			for !stop.Load() {
				mu.Lock()
				if len(seqs) == 0 {
					mu.Unlock()
					runtime.Gosched()
					continue
				}
				seq := seqs[r.IntN(len(seqs))]
				id := confirmed[seq]
				mu.Unlock()
				readCheck(seq, id)
			}
		}()
	}
	var iterated atomic.Int64
	bg.Add(1)
	go func() {
		defer bg.Done()
		it := l.NewIterator(0)
		defer func() { it.Close() }()
		next := uint64(0)
		for !stop.Load() {
			for it.Next() {
				if next != 0 && it.Seq() != next {
					fail("iterator: seq %d after %d", it.Seq(), next-1)
					return
				}
				if _, ok := verifySelfDescribing(it.Data()); !ok {
					fail("iterator: record %d invalid", it.Seq())
					return
				}
				next = it.Seq() + 1
				iterated.Add(1)
			}
			if err := it.Err(); errors.Is(err, ErrNotFound) {
				it.Close() // fell behind retention: start over at the front
				it, next = l.NewIterator(0), 0
			} else if err != nil {
				fail("iterator: %v", err)
				return
			}
			runtime.Gosched()
		}
	}()
	wg.Wait()
	stop.Store(true)
	bg.Wait()
	if t.Failed() {
		return
	}
	check := func(l *Log) {
		first := l.FirstSeq()
		for seq, id := range confirmed {
			if seq >= first {
				readCheck(seq, id)
			}
		}
		got, _ := collect(t, l, 0)
		if want := int(l.LastSeq() - first + 1); len(got) != want {
			t.Fatalf("%d records from %d to %d", len(got), first, l.LastSeq())
		}
	}
	check(l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, fs, dir, o)
	defer l.Close()
	check(l)
	if total := len(confirmed); l.LastSeq() != uint64(total) {
		t.Fatalf("LastSeq %d, %d records appended", l.LastSeq(), total)
	}
	t.Log(fmt.Sprintf("%d records, %d segments, iterator saw %d", len(confirmed), l.Stats().Segments, iterated.Load()))
}

// TestConcurrentTruncateAndReaders: readers and iterators racing TruncateFrom, Reset,
// DropBefore and re-appends (which store new payloads under old seqs) never get a record
// of another seq, a mix of two records, or an error other than ErrNotFound. Payloads hold
// their seq and generation and are checked in full.
func TestConcurrentTruncateAndReaders(t *testing.T) {
	fs := vfs.NewMem()
	l := mustOpen(t, fs, testDir, Options{MaxSegmentBytes: 2048, IndexInterval: 64})
	defer l.Close()
	var stop atomic.Bool
	var bg sync.WaitGroup
	var errs atomic.Int64
	// Payloads: seq in bytes 0..7, generation in 8..11.
	for rd := range 2 {
		bg.Add(1)
		go func() {
			defer bg.Done()
			r := newRand(uint64(rd))
			buf := make([]byte, 0, 256)
			for !stop.Load() {
				last := l.LastSeq()
				if last == 0 {
					runtime.Gosched()
					continue
				}
				seq := 1 + r.Uint64N(last)
				_, data, err := l.Read(seq, buf)
				if errors.Is(err, ErrNotFound) {
					continue
				}
				if err != nil {
					t.Errorf("Read(%d): %v", seq, err)
					errs.Add(1)
					return
				}
				if len(data) < 12 || binary.LittleEndian.Uint64(data) != seq ||
					string(data) != string(payloadFor(seq, binary.LittleEndian.Uint32(data[8:]), len(data))) {
					t.Errorf("Read(%d) returned a record of another seq or a mix", seq)
					errs.Add(1)
					return
				}
			}
		}()
	}
	bg.Add(1)
	go func() {
		defer bg.Done()
		for !stop.Load() {
			it := l.NewIterator(0)
			prev := uint64(0)
			for it.Next() {
				seq := it.Seq()
				if prev != 0 && seq != prev+1 {
					t.Errorf("iterator: %d after %d", seq, prev)
					errs.Add(1)
				}
				d := it.Data()
				if len(d) < 12 || binary.LittleEndian.Uint64(d) != seq {
					t.Errorf("iterator: record %d holds seq %d", seq, binary.LittleEndian.Uint64(d))
					errs.Add(1)
				}
				prev = seq
			}
			if err := it.Err(); err != nil && !errors.Is(err, ErrNotFound) {
				t.Errorf("iterator: %v", err)
				errs.Add(1)
			}
			it.Close()
			runtime.Gosched()
		}
	}()
	r := newRand(42)
	for gen := uint32(1); gen <= 300 && errs.Load() == 0; gen++ {
		for range 1 + r.IntN(20) {
			seq := l.LastSeq() + 1
			mustAppend(t, l, 0, payloadFor(seq, gen, 12+r.IntN(100)))
		}
		switch r.IntN(10) {
		case 0:
			if err := l.Reset(1 + r.Uint64N(l.LastSeq()+1)); err != nil {
				t.Fatal(err)
			}
		case 1, 2:
			if err := l.DropBefore(l.LastSeq() / 2); err != nil {
				t.Fatal(err)
			}
		default:
			if last := l.LastSeq(); last >= l.FirstSeq() {
				s := l.FirstSeq() + r.Uint64N(last-l.FirstSeq()+1)
				if err := l.TruncateFrom(s); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	stop.Store(true)
	bg.Wait()
}
