// Package testkit holds small helpers that tests of several packages share: a manual clock,
// the seeds of randomized tests and their counters. It imports nothing of the project, so
// the internal tests of any package can use it.
package testkit

import (
	"sync"
	"time"
)

// Clock is a manual clock, safe for concurrent use: time moves only when a test says so.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time (pass it where a func() time.Time is wanted).
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
