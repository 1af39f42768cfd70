package httpapi

import (
	"hash/maphash"

	"github.com/cespare/xxhash/v2"
	"github.com/opencmq/opencmq/engine"
	"sync"
	"time"
)

// replayCache remembers the signatures of accepted state-changing requests until their
// Timestamp leaves the window, so a byte-identical replay inside the window is refused.
//
// Entries live in a map keyed by a 64-bit keyed hash of (account, signature) — the signature
// is already an HMAC, the hash only makes the key small; a collision would refuse one honest
// request, with probability about n²/2⁶⁵ — and in a ring of one bucket per expiry second, so
// expiry costs O(1) per entry. At most max entries are kept: when full, the entries that
// expire first are evicted early and floor remembers up to when, and requests whose entries
// would expire by floor are refused (their twin may have been forgotten), so the protection
// never silently weakens; under a load above max/window requests per second the accepted
// Timestamp window therefore shrinks on the old side (see errReplayFull).
//
// The cache is this node's and lives in memory: it is a cheap first filter. What makes a
// replay fail on another node or after a restart is the key (replayKey) that the request's
// command carries into the replicated state machine (engine.WithReplayKey).
type replayCache struct {
	mu        sync.Mutex
	seed      maphash.Seed
	m         map[uint64]int64 // key → expiry, unix seconds
	ring      [][]uint64       // keys by expiry second modulo len(ring)
	swept     int64            // every entry expiring at or before swept is gone
	floor     int64            // entries expiring at or before floor may have been evicted early
	max       int
	retention int64 // seconds
}

func newReplayCache(retention time.Duration, max int) *replayCache {
	sec := int64((retention + time.Second - 1) / time.Second)
	if sec < 1 {
		sec = 1
	}
	if sec > 2*86400 { // bound the ring; longer windows keep entries 2 days
		sec = 2 * 86400
	}
	return &replayCache{
		seed:      maphash.MakeSeed(),
		m:         make(map[uint64]int64),
		ring:      make([][]uint64, 2*sec+3),
		max:       max,
		retention: sec,
	}
}

// expiry is the unix second until which a request stamped ts (0 if unknown) must be
// remembered: a request stamped ts is accepted until ts+window; without a Timestamp (check
// disabled), for the window from now.
func (c *replayCache) expiry(ts, now int64) int64 {
	if ts != 0 {
		return ts + c.retention + 1
	}
	return now + c.retention
}

// check records the signature of a request stamped ts (unix seconds; 0 if unknown) and
// returns errReplay if it was recorded before and is still remembered.
func (c *replayCache) check(acct uint32, sig []byte, ts int64, now time.Time) error {
	h := maphash.Bytes(c.seed, sig) ^ (uint64(acct)+1)*0x9e3779b97f4a7c15
	n := now.Unix()
	exp := c.expiry(ts, n)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(n)
	exp = max(exp, n+1, c.swept+1)
	exp = min(exp, n+int64(len(c.ring))-1)
	if exp <= c.floor {
		return errReplayFull
	}
	if _, ok := c.m[h]; ok {
		return errReplay
	}
	if len(c.m) >= c.max {
		c.evict()
		if exp <= c.floor {
			return errReplayFull
		}
	}
	c.m[h] = exp
	b := &c.ring[exp%int64(len(c.ring))]
	*b = append(*b, h)
	return nil
}

// sweep forgets every entry that expired by now.
func (c *replayCache) sweep(now int64) {
	if now <= c.swept {
		return
	}
	r := int64(len(c.ring))
	if now-c.swept >= r {
		// Everything in the ring expired (entries expire less than len(ring) seconds after
		// the sweep that preceded their insertion).
		clear(c.m)
		for i := range c.ring {
			c.ring[i] = c.ring[i][:0]
		}
		c.swept = now
		return
	}
	for s := c.swept + 1; s <= now; s++ {
		c.dropBucket(s)
	}
	c.swept = now
}

// dropBucket forgets the entries expiring at second s.
func (c *replayCache) dropBucket(s int64) {
	b := &c.ring[s%int64(len(c.ring))]
	for _, h := range *b {
		if c.m[h] == s {
			delete(c.m, h)
		}
	}
	if cap(*b) > 1<<16 {
		*b = nil // do not pin the memory of a burst
	} else {
		*b = (*b)[:0]
	}
}

// evict forgets the entries that expire first until there is room, raising floor.
func (c *replayCache) evict() {
	r := int64(len(c.ring))
	for s := max(c.swept, c.floor) + 1; s < c.swept+r && len(c.m) >= c.max; s++ {
		c.dropBucket(s)
		c.floor = s
	}
}

// len returns the number of entries (for tests).
func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// replayClockSkew is how much longer than this node the replicated record keeps a key (in
// seconds). The record expires keys by the state machine's time, the latest any node has
// stamped, and refuses a request whose key would already have expired there; the margin
// lets the nodes' clocks differ by this much before requests at the old edge of the
// Timestamp window are refused for it.
const replayClockSkew = 60

// replayKey is the cluster-wide identity of a signed request: a hash of the account's
// SecretId and the signature, the same on every node and across restarts (unlike the
// cache's seeded hash). The signature is an HMAC under the account's key, so nobody without
// that key can aim a collision at someone's request; a chance collision refuses one honest
// request, with probability about n²/2⁶⁵.
func replayKey(secretID string, sig []byte, expiry int64) engine.ReplayKey {
	h := xxhash.New()
	h.WriteString(secretID)
	h.Write([]byte{0})
	h.Write(sig)
	return engine.ReplayKey{Hash: max(h.Sum64(), 1), Expiry: expiry}
}
