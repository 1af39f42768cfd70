package benchmarks

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencmq/opencmq/segment/vfs"
)

// BenchmarkFsyncBaseline is the physical limit under the engine's numbers: how often this
// disk completes an append of records 1 KiB records followed by fdatasync (vfs.Default's
// File.Sync, the same call the segment log makes), appending to a growing file like a
// journal does. One op is one write+fdatasync; records/s = syncs/s * records.
//
// Run with -benchtime=2s (see README.md).
func BenchmarkFsyncBaseline(b *testing.B) {
	for _, records := range []int{1, 16, 64, 256, 1024} {
		b.Run(fmt.Sprintf("records=%d", records), func(b *testing.B) {
			f, err := vfs.Default.Create(filepath.Join(b.TempDir(), "fsync.bin"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := makeBodies(1, records*bodySize)[0]
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				if _, err := f.Write(buf); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "syncs/s")
			b.ReportMetric(float64(b.N*records)/elapsed.Seconds(), "records/s")
		})
	}
}
