package main

import (
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// recorder collects latency samples of one worker. Workers own their recorder (no locking on
// the hot path); the run merges them at the end.
type recorder struct {
	samples []time.Duration
}

func (r *recorder) add(d time.Duration) { r.samples = append(r.samples, d) }

// latencies is a merged, sorted set of samples.
type latencies []time.Duration

// merge sorts the samples of all recorders into one set.
func merge(rs []*recorder) latencies {
	n := 0
	for _, r := range rs {
		n += len(r.samples)
	}
	all := make([]time.Duration, 0, n)
	for _, r := range rs {
		all = append(all, r.samples...)
	}
	slices.Sort(all)
	return all
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of the sorted samples:
// the smallest sample such that at least p% of the samples are <= it. 0 if there are none.
func (l latencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	if p <= 0 {
		return l[0]
	}
	if p >= 100 {
		return l[len(l)-1]
	}
	rank := int(math.Ceil(p*float64(len(l))/100 - 1e-9)) // the epsilon absorbs float error (99.9% of 1000 is 999, not 999.0000001)
	if rank < 1 {
		rank = 1
	}
	return l[rank-1]
}

// median returns the median of xs (the mean of the two middle values for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// errorLog counts errors and keeps the first few distinct messages.
type errorLog struct {
	mu    sync.Mutex
	count int64
	first []string
}

func (e *errorLog) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.count++
	if len(e.first) < 5 {
		msg := err.Error()
		if !slices.Contains(e.first, msg) {
			e.first = append(e.first, msg)
		}
	}
}

func (e *errorLog) snapshot() (int64, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.count, slices.Clone(e.first)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
