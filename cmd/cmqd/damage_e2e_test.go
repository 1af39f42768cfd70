package main

// A cmqd whose data is damaged refuses to start, with an error that names the damaged file
// (docs/cluster.md tells the operator what to do next).

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestE2EDamagedDataRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dataDir string) string // returns the damaged file
	}{
		{"bit flip in the raft log", func(t *testing.T, dataDir string) string {
			segs, err := filepath.Glob(filepath.Join(dataDir, "raft", "raft", "wal-*", "*"))
			if err != nil || len(segs) == 0 {
				t.Fatalf("no raft log segment: %v", err)
			}
			b, err := os.ReadFile(segs[0])
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 0x01
			if err := os.WriteFile(segs[0], b, 0o640); err != nil {
				t.Fatal(err)
			}
			return segs[0]
		}},
		{"0-byte engine checkpoint", func(t *testing.T, dataDir string) string {
			path := filepath.Join(dataDir, "engine", "checkpoint")
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			return path
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dataDir := filepath.Join(t.TempDir(), "data")
			args := []string{"--data", dataDir, "--accounts", writeAccounts(t, e2eAccounts), "--tick", "10ms"}
			p := startCmqd(t, args...)
			p.waitReady(t)
			c := newClient(t, p.endpoint, e2eAccounts[0])
			ctx := context.Background()
			if _, err := c.CreateQueue(ctx, "q", nil); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 20; i++ {
				if _, err := c.SendMessage(ctx, "q", strings.Repeat("m", 100), 0); err != nil {
					t.Fatal(err)
				}
			}
			if code := p.stop(t); code != 0 {
				t.Fatalf("cmqd exited with %d", code)
			}
			file := tc.damage(t, dataDir)
			again := startCmqd(t, args...)
			if code := again.wait(t, readyTimeout); code != exitFail {
				t.Fatalf("cmqd on damaged data exited with %d, want %d", code, exitFail)
			}
			if out := again.stderr.String(); !strings.Contains(out, file) {
				t.Fatalf("the error does not name %s:\n%s", file, out)
			}
		})
	}
}
