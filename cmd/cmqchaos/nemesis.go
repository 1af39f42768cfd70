package main

// The nemesis: faults on a seeded schedule. Healthy for a while, one fault held for a
// while, heal, and check that the cluster recovers within the deadline, while the workload
// keeps running; repeat until the load phase ends. Every fault is logged with its times.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Fault kinds.
const (
	faultKill            = "kill"             // kill -9 a random node, restart it after the hold
	faultKillLeader      = "kill-leader"      // kill -9 the leader
	faultKillAll         = "kill-all"         // kill -9 every node at once
	faultPauseLeader     = "pause-leader"     // SIGSTOP the leader (longer than an election), SIGCONT
	faultPauseFollower   = "pause-follower"   // SIGSTOP a follower
	faultIsolateLeader   = "isolate-leader"   // cut the leader off from both peers
	faultIsolateFollower = "isolate-follower" // cut a follower off
	faultOneWay          = "one-way"          // one node cannot dial another (leader→follower or back)
	faultDiskFull        = "disk-full"        // fill the storage victim's disk; free it and restart the node
	faultRestart         = "restart"          // graceful stop (SIGTERM), down for the hold, start
)

var faultKinds = []string{faultKill, faultKillLeader, faultKillAll, faultPauseLeader, faultPauseFollower,
	faultIsolateLeader, faultIsolateFollower, faultOneWay, faultDiskFull, faultRestart}

func faultKindNames() []string { return faultKinds }

// parseFaultKinds parses --faults ("" is every kind; disk-full only with disk faults on).
func parseFaultKinds(s string, diskFaults bool) ([]string, error) {
	var kinds []string
	if s == "" {
		for _, k := range faultKinds {
			if k != faultDiskFull || diskFaults {
				kinds = append(kinds, k)
			}
		}
		return kinds, nil
	}
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		switch {
		case !slices.Contains(faultKinds, k):
			return nil, fmt.Errorf("--faults: unknown fault %q (known: %s)", k, strings.Join(faultKinds, ","))
		case k == faultDiskFull && !diskFaults:
			return nil, fmt.Errorf("--faults: disk-full needs --disk-faults")
		}
		kinds = append(kinds, k)
	}
	return kinds, nil
}

// Schedule bounds.
const (
	minHealthy = 4 * time.Second
	maxHealthy = 8 * time.Second
	minHold    = 5 * time.Second // longer than an election (1-2 s at cmqd's default tick)
	maxHold    = 12 * time.Second
)

// FaultRecord is one fault of the nemesis log. Times are unix milliseconds.
type FaultRecord struct {
	Kind       string `json:"kind"`
	Nodes      []int  `json:"nodes"`
	Detail     string `json:"detail,omitempty"`
	Start      int64  `json:"start"`
	Healed     int64  `json:"healed"`
	Recovered  bool   `json:"recovered"`
	RecoveryMs int64  `json:"recoveryMs"`
	Err        string `json:"err,omitempty"`
}

type nemesis struct {
	c        *cluster
	fw       *firewall
	r        *rand.Rand
	kinds    []string
	victim   int // the only node that gets storage faults
	disks    bool
	recovery time.Duration
	log      *os.File

	mu      sync.Mutex
	records []FaultRecord
}

// maxFaults bounds the faults of one run (time bounds them first: each takes seconds).
const maxFaults = 1000

// run injects faults until a whole healthy+fault+heal cycle no longer fits before end.
func (m *nemesis) run(ctx context.Context, end time.Time) {
	for i := 0; i < maxFaults; i++ {
		healthy := minHealthy + time.Duration(m.r.Int64N(int64(maxHealthy-minHealthy)))
		hold := minHold + time.Duration(m.r.Int64N(int64(maxHold-minHold)))
		kind := m.kinds[m.r.IntN(len(m.kinds))]
		if time.Until(end) < healthy+hold+time.Second {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(healthy):
		}
		m.one(kind, hold)
	}
}

// one injects a fault, holds it, heals it and waits for recovery.
func (m *nemesis) one(kind string, hold time.Duration) {
	rec := FaultRecord{Kind: kind, Start: unixMs(time.Now())}
	heal, err := m.inject(kind, &rec)
	if err != nil {
		rec.Err = "inject: " + err.Error()
	}
	logf("fault %s on %v %s", kind, rec.Nodes, rec.Detail)
	time.Sleep(hold)
	if heal != nil {
		if err := heal(); err != nil && rec.Err == "" {
			rec.Err = "heal: " + err.Error()
		}
	}
	healed := time.Now()
	rec.Healed = unixMs(healed)
	took, err := m.c.awaitRecovery(m.recovery)
	rec.RecoveryMs = took.Milliseconds()
	rec.Recovered = err == nil
	if err != nil {
		rec.Err = strings.TrimPrefix(rec.Err+"; ", "; ") + err.Error()
		logf("healed %s: %v", kind, err)
		// Leave nothing half-healed for the next fault.
		m.healAll()
	} else {
		logf("healed %s; recovered in %v", kind, took.Round(time.Millisecond))
	}
	m.record(rec)
}

func (m *nemesis) record(rec FaultRecord) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records = append(m.records, rec)
	if b, err := json.Marshal(rec); err == nil {
		m.log.Write(append(b, '\n'))
	}
}

// faults returns the faults recorded so far.
func (m *nemesis) faults() []FaultRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]FaultRecord(nil), m.records...)
}

// followers returns the node ids other than leader.
func followers(leader int) []int {
	var ids []int
	for id := 1; id <= numNodes; id++ {
		if id != leader {
			ids = append(ids, id)
		}
	}
	return ids
}

// target picks the leader (or a follower) for a fault; with no leader known it picks any
// node and says so.
func (m *nemesis) target(leader bool, rec *FaultRecord) int {
	lead := m.c.leader()
	if lead == 0 {
		rec.Detail = "(no leader known: a random node)"
		return 1 + m.r.IntN(numNodes)
	}
	if leader {
		return lead
	}
	return pick(m.r, followers(lead))
}

// inject starts a fault and returns its heal.
func (m *nemesis) inject(kind string, rec *FaultRecord) (heal func() error, err error) {
	restart := func(ids ...int) func() error {
		return func() error {
			for _, id := range ids {
				if err := m.c.node(id).start(); err != nil {
					return err
				}
			}
			return nil
		}
	}
	switch kind {
	case faultKill, faultKillLeader:
		id := 1 + m.r.IntN(numNodes)
		if kind == faultKillLeader {
			id = m.target(true, rec)
		}
		rec.Nodes = []int{id}
		return restart(id), m.c.node(id).kill()
	case faultKillAll:
		rec.Nodes = []int{1, 2, 3}
		for _, n := range m.c.nodes {
			n.signal(syscall.SIGKILL)
		}
		for _, n := range m.c.nodes {
			if err := n.kill(); err != nil {
				return restart(1, 2, 3), err
			}
		}
		return restart(1, 2, 3), nil
	case faultRestart:
		id := 1 + m.r.IntN(numNodes)
		rec.Nodes = []int{id}
		return restart(id), m.c.node(id).stop(stopBudget / 2)
	case faultPauseLeader, faultPauseFollower:
		id := m.target(kind == faultPauseLeader, rec)
		rec.Nodes = []int{id}
		n := m.c.node(id)
		if !n.pause() {
			return nil, fmt.Errorf("node %d is not running", id)
		}
		return func() error { n.resume(); return nil }, nil
	case faultIsolateLeader, faultIsolateFollower:
		id := m.target(kind == faultIsolateLeader, rec)
		rec.Nodes = []int{id}
		return m.fw.heal, m.fw.isolate(id)
	case faultOneWay:
		lead := m.target(true, rec)
		f := pick(m.r, followers(lead))
		a, b := lead, f
		if m.r.IntN(2) == 0 {
			a, b = f, lead
		}
		rec.Nodes = []int{a, b}
		rec.Detail = strings.TrimSpace(fmt.Sprintf("node %d cannot dial node %d %s", a, b, rec.Detail))
		return m.fw.heal, m.fw.blockDial(a, b)
	case faultDiskFull:
		id := m.victim
		rec.Nodes = []int{id}
		size, err := fillDisk(m.c.node(id).dir)
		rec.Detail = fmt.Sprintf("ballast of %d MiB", size>>20)
		// A node that hit ENOSPC has fenced itself (storage errors latch): free the space
		// and restart it.
		return func() error {
			if err := freeDisk(m.c.node(id).dir); err != nil {
				return err
			}
			if err := m.c.node(id).kill(); err != nil {
				return err
			}
			return m.c.node(id).start()
		}, err
	}
	return nil, fmt.Errorf("unknown fault %q", kind)
}

// healAll undoes every fault: rules removed, paused nodes continued, the ballast freed,
// stopped nodes started.
func (m *nemesis) healAll() error {
	err := m.fw.heal()
	for _, n := range m.c.nodes {
		if n.isPaused() {
			n.resume()
		}
	}
	if m.disks {
		if ferr := freeDisk(m.c.node(m.victim).dir); ferr != nil && err == nil {
			err = ferr
		}
	}
	if serr := m.c.startAll(); serr != nil && err == nil {
		err = serr
	}
	return err
}

// faultCounts counts the faults by kind.
func faultCounts(recs []FaultRecord) map[string]int {
	out := map[string]int{}
	for _, r := range recs {
		out[r.Kind]++
	}
	return out
}

// recoveryStats returns the largest and the median recovery time of the faults that
// recovered, in milliseconds.
func recoveryStats(recs []FaultRecord) (maxMs, medianMs int64) {
	var ms []int64
	for _, r := range recs {
		if r.Recovered {
			ms = append(ms, r.RecoveryMs)
		}
	}
	if len(ms) == 0 {
		return 0, 0
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i] < ms[j] })
	return ms[len(ms)-1], ms[len(ms)/2]
}
