package segment

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencmq/opencmq/segment/vfs"
)

// Benchmarks run on the real file system (b.TempDir()), with fsync. Run with
//
//	go test -run xxx -bench . -benchtime 2s ./segment/
//
// BenchmarkAppendDurable and BenchmarkRawFileFsync report records/s for the same record
// size and group size: the first as the log sees it (n appenders, each appending one
// record and waiting for it to be durable), the second as the best a program can do with
// a plain file (n records written with one write, then one fdatasync).

const benchRecord = 1024

// syncCountFS counts File.Sync calls, to report records per fsync: how well group commit
// groups, independently of how fast the disk is today.
type syncCountFS struct {
	vfs.FS
	syncs *atomic.Int64
}

type syncCountFile struct {
	vfs.File
	syncs *atomic.Int64
}

func (f syncCountFile) Sync() error { f.syncs.Add(1); return f.File.Sync() }

func (fs syncCountFS) Create(name string) (vfs.File, error) {
	f, err := fs.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return syncCountFile{f, fs.syncs}, nil
}

func (fs syncCountFS) OpenRW(name string) (vfs.File, error) {
	f, err := fs.FS.OpenRW(name)
	if err != nil {
		return nil, err
	}
	return syncCountFile{f, fs.syncs}, nil
}

var benchConcurrency = []int{1, 16, 64, 256}

func BenchmarkAppendDurable(b *testing.B) {
	for _, n := range benchConcurrency {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) {
			var syncs atomic.Int64
			l, err := Open(b.TempDir(), Options{FS: syncCountFS{vfs.Default, &syncs}})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			payload := make([]byte, benchRecord)
			syncs.Store(0)
			b.SetBytes(benchRecord)
			b.ResetTimer()
			appendDurably(b, l, n, b.N, payload)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(b.N)/float64(max(syncs.Load(), 1)), "records/fsync")
		})
	}
}

// appendDurably appends count records with n goroutines, each appending one record and
// waiting until it is durable before the next.
func appendDurably(b *testing.B, l *Log, n, count int, payload []byte) {
	var left atomic.Int64
	left.Store(int64(count))
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				seq, err := l.Append(1, payload)
				if err == nil {
					err = l.WaitDurable(seq)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkRawFileFsync(b *testing.B) {
	for _, n := range benchConcurrency {
		b.Run(fmt.Sprintf("group=%d", n), func(b *testing.B) {
			fs := vfs.Default
			f, err := fs.Create(filepath.Join(b.TempDir(), "raw"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := make([]byte, n*benchRecord)
			b.SetBytes(benchRecord)
			b.ResetTimer()
			for done := 0; done < b.N; done += n {
				k := min(n, b.N-done)
				if _, err := f.Write(buf[:k*benchRecord]); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// benchLog returns a log of records 1KiB records (in the page cache, as a log being
// consumed shortly after it was written usually is).
func benchLog(b *testing.B, records int) *Log {
	b.Helper()
	dir := b.TempDir()
	l, err := Open(dir, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, benchRecord)
	for i := range records {
		payload[0] = byte(i)
		if _, err := l.Append(1, payload); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	if l, err = Open(dir, Options{}); err != nil {
		b.Fatal(err)
	}
	return l
}

const benchLogRecords = 256 << 10 // 256 MiB of 1 KiB records: four segments

func BenchmarkSequentialRead(b *testing.B) {
	l := benchLog(b, benchLogRecords)
	defer l.Close()
	b.SetBytes(benchRecord)
	b.ResetTimer()
	it := l.NewIterator(0)
	for range b.N {
		if !it.Next() {
			if err := it.Err(); err != nil {
				b.Fatal(err)
			}
			it.Close()
			it = l.NewIterator(0)
			if !it.Next() {
				b.Fatal(it.Err())
			}
		}
		if len(it.Data()) != benchRecord {
			b.Fatal("short record")
		}
	}
	b.StopTimer()
	it.Close()
}

func BenchmarkRandomRead(b *testing.B) {
	l := benchLog(b, benchLogRecords)
	defer l.Close()
	r := newRand(1)
	buf := make([]byte, 0, benchRecord)
	b.SetBytes(benchRecord)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		seq := 1 + r.Uint64N(benchLogRecords)
		if _, data, err := l.Read(seq, buf); err != nil || len(data) != benchRecord {
			b.Fatal(err)
		}
	}
}

// BenchmarkGroupCommitVsRaw measures AppendDurable and RawFileFsync in alternating rounds,
// so that both see the same disk: on a shared machine the disk's fsync rate drifts by
// tens of percent within a minute, which makes two benchmarks run one after the other a
// poor basis for a ratio. It reports both rates and ours/raw.
func BenchmarkGroupCommitVsRaw(b *testing.B) {
	const rounds = 6
	for _, n := range benchConcurrency {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			l, err := Open(filepath.Join(dir, "log"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			raw, err := vfs.Default.Create(filepath.Join(dir, "raw"))
			if err != nil {
				b.Fatal(err)
			}
			defer raw.Close()
			payload := make([]byte, benchRecord)
			buf := make([]byte, n*benchRecord)
			per := max(b.N/rounds, n)
			var ours, base time.Duration
			b.ResetTimer()
			for range rounds {
				start := time.Now()
				appendDurably(b, l, n, per, payload)
				ours += time.Since(start)
				start = time.Now()
				for done := 0; done < per; done += n {
					k := min(n, per-done)
					if _, err := raw.Write(buf[:k*benchRecord]); err != nil {
						b.Fatal(err)
					}
					if err := raw.Sync(); err != nil {
						b.Fatal(err)
					}
				}
				base += time.Since(start)
			}
			b.StopTimer()
			total := float64(per * rounds)
			b.ReportMetric(total/ours.Seconds(), "records/s")
			b.ReportMetric(total/base.Seconds(), "raw-records/s")
			b.ReportMetric(base.Seconds()/ours.Seconds(), "ours/raw")
		})
	}
}
