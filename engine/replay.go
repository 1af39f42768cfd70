package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
)

// ReplayKey identifies a signed client request, so that the state machine can refuse to
// apply the same request twice: on another replica, after a restart, or when raft commits a
// re-proposed entry twice.
type ReplayKey struct {
	// Hash is a 64-bit hash of the request's account and signature (which is an HMAC, so
	// nobody without the account's key can aim a collision at a request); 0 means none.
	Hash uint64
	// Expiry is the unix second from which the request can no longer be accepted (its
	// Timestamp has left the window): until then it is remembered.
	Expiry int64
}

type replayKeyContext struct{}

// WithReplayKey marks a call as the signed client request k: the command it proposes
// carries k, and the state machine refuses it with ErrReplayed if a command with the same
// key was applied before and has not expired, or with ErrReplayTooOld if k has expired or
// its twin may have been forgotten. Only state-changing calls that propose one command use
// it; receives and reads ignore it.
func WithReplayKey(ctx context.Context, k ReplayKey) context.Context {
	return context.WithValue(ctx, replayKeyContext{}, k)
}

func replayKeyFrom(ctx context.Context) ReplayKey {
	k, _ := ctx.Value(replayKeyContext{}).(ReplayKey)
	return k
}

// replaySet is the state machine's record of the replay keys of applied commands, until
// their expiry by command time: part of the replicated state, so a request refused on one
// replica is refused on all, and of checkpoints and snapshots, so a restart or a new
// replica remembers it too.
//
// Keys live in a map (hash → expiry) and in buckets by expiry second, so expiring and
// evicting cost O(1) per key. At most max keys are kept: when full, the bucket that
// expires first is forgotten early and floor remembers up to when; a command whose key
// expires by floor is refused (ErrReplayTooOld), since its twin may be among the
// forgotten, so the protection never silently lapses. Under a load above max keys per
// window the accepted Timestamp window shrinks on the old side instead. Expiries are
// clamped to maxSeconds after the command's time, which bounds the buckets' span.
//
// Everything here is a function of the commands applied (their times and keys) and of the
// limits, which are the same on every replica.
type replaySet struct {
	max        int
	maxSeconds int64

	m       map[uint64]int64   // hash → expiry (unix seconds)
	buckets map[int64][]uint64 // expiry → hashes, in the order they were admitted
	swept   int64              // every key expiring at or before swept is gone
	floor   int64              // keys expiring at or before floor may have been forgotten early
	spare   [][]uint64         // emptied buckets, reused: no allocation in steady state
}

func newReplaySet(l Limits) replaySet {
	return replaySet{
		max: l.MaxReplayKeys, maxSeconds: l.MaxReplaySeconds,
		m: make(map[uint64]int64), buckets: make(map[int64][]uint64),
	}
}

// admit records k for a command applied at now (unix ms) and reports whether it may be
// applied.
func (s *replaySet) admit(k ReplayKey, now int64) error {
	sec := now / 1000
	s.sweep(sec)
	exp := min(k.Expiry, sec+s.maxSeconds)
	if exp <= sec || exp <= s.floor {
		return ErrReplayTooOld
	}
	if _, ok := s.m[k.Hash]; ok {
		return ErrReplayed
	}
	for len(s.m) >= s.max && s.evict() {
	}
	if exp <= s.floor {
		return ErrReplayTooOld
	}
	s.m[k.Hash] = exp
	b, ok := s.buckets[exp]
	if !ok && len(s.spare) > 0 {
		b, s.spare = s.spare[len(s.spare)-1], s.spare[:len(s.spare)-1]
	}
	s.buckets[exp] = append(b, k.Hash)
	return nil
}

// sweep forgets every key that expired by sec (unix seconds). Called for every command, so
// that what is kept depends only on the commands applied.
func (s *replaySet) sweep(sec int64) {
	if sec <= s.swept {
		return
	}
	if sec-s.swept > int64(len(s.buckets)) {
		// A long gap (an idle queue server): visit the buckets rather than the seconds.
		for exp := range s.buckets {
			if exp <= sec {
				s.drop(exp)
			}
		}
	} else {
		for exp := s.swept + 1; exp <= sec; exp++ {
			s.drop(exp)
		}
	}
	s.swept = sec
}

// evict forgets the bucket that expires first and raises floor to it; false if there is
// nothing to forget. It scans the buckets (one per expiry second, so about a window's
// worth), which is cheap next to the keys one eviction frees.
func (s *replaySet) evict() bool {
	if len(s.buckets) == 0 {
		return false
	}
	first, found := int64(0), false
	for exp := range s.buckets {
		if !found || exp < first {
			first, found = exp, true
		}
	}
	s.drop(first)
	s.floor = max(s.floor, first)
	return true
}

// drop forgets the keys expiring at exp.
func (s *replaySet) drop(exp int64) {
	b, ok := s.buckets[exp]
	if !ok {
		return
	}
	for _, h := range b {
		delete(s.m, h)
	}
	delete(s.buckets, exp)
	if cap(b) <= 1<<16 && len(s.spare) < 64 {
		s.spare = append(s.spare, b[:0]) // a burst's big bucket is not kept
	}
}

// appendState encodes the set for a checkpoint: swept, floor, then the buckets in expiry
// order, each with its hashes in admission order (so that a restored set evicts exactly as
// the original would).
func (s *replaySet) appendState(dst []byte) []byte {
	dst = binary.AppendVarint(dst, s.swept)
	dst = binary.AppendVarint(dst, s.floor)
	exps := make([]int64, 0, len(s.buckets))
	for exp := range s.buckets {
		exps = append(exps, exp)
	}
	slices.Sort(exps)
	dst = binary.AppendUvarint(dst, uint64(len(exps)))
	for _, exp := range exps {
		b := s.buckets[exp]
		dst = binary.AppendVarint(dst, exp)
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		for _, h := range b {
			dst = binary.LittleEndian.AppendUint64(dst, h)
		}
	}
	return dst
}

// replaySet decodes appendState's output, checking that it is one a set could be in.
func (d *decoder) replaySet(s *replaySet) error {
	s.swept, s.floor = d.varint(), d.varint()
	last := s.swept
	for n := d.count(); n > 0 && d.err == nil; n-- {
		exp, k := d.varint(), d.count()
		if d.err != nil {
			break
		}
		if exp <= last || k == 0 || k*8 > len(d.b) {
			return fmt.Errorf("replay keys out of order")
		}
		last = exp
		b := make([]uint64, k)
		for i := range b {
			b[i] = d.uint64()
			if _, dup := s.m[b[i]]; dup || b[i] == 0 {
				return fmt.Errorf("replay key repeated or zero")
			}
			s.m[b[i]] = exp
		}
		s.buckets[exp] = b
	}
	return d.err
}
