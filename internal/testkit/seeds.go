package testkit

import (
	"os"
	"slices"
	"strconv"
	"testing"
)

// Seeds returns the seeds a crash test runs: n of them (short in -short mode) from 1, or
// as the environment says for a long run: CMQ_CRASH_SEEDS=count, and optionally
// CMQ_CRASH_FIRST_SEED=first (to run further seeds, or one that failed).
func Seeds(t testing.TB, n, short int) (first, last uint64) {
	if testing.Short() {
		n = short
	}
	first = 1
	if v := os.Getenv("CMQ_CRASH_FIRST_SEED"); v != "" {
		x, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CMQ_CRASH_FIRST_SEED=%q: %v", v, err)
		}
		first = x
	}
	if v := os.Getenv("CMQ_CRASH_SEEDS"); v != "" {
		x, err := strconv.Atoi(v)
		if err != nil || x < 1 {
			t.Fatalf("CMQ_CRASH_SEEDS=%q: want a count >= 1", v)
		}
		n = x
	}
	return first, first + uint64(n) - 1
}

// LogStats logs counters (in -v mode), sorted by name.
func LogStats(t testing.TB, stats map[string]int) {
	if !testing.Verbose() {
		return
	}
	keys := make([]string, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		t.Logf("%6d  %s", stats[k], k)
	}
}
