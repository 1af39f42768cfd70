package raftlog

import (
	"fmt"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

// BenchmarkAppendSync measures one Ready's persistence: Append of a batch of 1 KiB
// entries, a Commit-only SetHardState, and Sync (one fdatasync of the segment file), with
// real fsyncs in b.TempDir(). entries/s is the throughput one Ready loop gets; ns/op is
// the cost per Ready. The nosync variants show the CPU part (encoding, checksum, write).
func BenchmarkAppendSync(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		for _, n := range []int{1, 16, 64} {
			name := fmt.Sprintf("batch=%d", n)
			if noSync {
				name += "/nosync"
			}
			b.Run(name, func(b *testing.B) {
				s := mustOpen(b, b.TempDir(), Options{NoSync: noSync, Logger: quietLogger})
				defer s.Close()
				data := make([]byte, 1024)
				for i := range data {
					data[i] = byte(i)
				}
				batch := make([]*raftpb.Entry, n)
				next := uint64(1)
				b.SetBytes(int64(n * len(data)))
				b.ReportAllocs()
				for b.Loop() {
					for k := range batch {
						batch[k] = ent(next, 1, data)
						next++
					}
					if err := s.Append(batch); err != nil {
						b.Fatal(err)
					}
					if err := s.SetHardState(hardState(1, 1, next-1)); err != nil {
						b.Fatal(err)
					}
					if err := s.Sync(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(next-1)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}

// BenchmarkEntries measures raft's reads: recent entries from the tail cache and older
// ones from the segment files (decoded and verified).
func BenchmarkEntries(b *testing.B) {
	s := mustOpen(b, b.TempDir(), Options{NoSync: true, CacheBytes: 1 << 20, Logger: quietLogger})
	defer s.Close()
	data := make([]byte, 1024)
	const total = 20000
	for i := uint64(1); i <= total; i += 100 {
		batch := make([]*raftpb.Entry, 100)
		for k := range batch {
			batch[k] = ent(i+uint64(k), 1, data)
		}
		if err := s.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		lo   uint64
	}{{"cached", total - 63}, {"files", 1000}} {
		b.Run(tc.name+"/64", func(b *testing.B) {
			for b.Loop() {
				ents, err := s.Entries(tc.lo, tc.lo+64, 1<<30)
				if err != nil || len(ents) != 64 {
					b.Fatal(err, len(ents))
				}
			}
			b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
