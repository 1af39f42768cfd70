package crashcheck

import (
	"sync"
	"time"
)

// Clock is a manual clock: time moves only when the workload says so.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at a fixed start time.
func NewClock() *Clock { return &Clock{t: time.UnixMilli(1_700_000_000_000)} }

// ClockAt returns a clock at t.
func ClockAt(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time; pass it as engine.Options.Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
