package main

// The inner process, inside the namespace: the cluster, the workload and the nemesis, the
// final heal, the drain, the checks and the summary, under a watchdog that kills every node
// it started (by pid) if any phase hangs.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

func runInner(cfg *config) int {
	if err := checkIsolated(cfg.outerNetns); err != nil {
		logf("refusing to run: %v", err)
		return exitError
	}
	in := &inner{cfg: cfg, fw: &firewall{}}
	// The watchdog: if the run overruns its budget, kill every node and exit.
	wd := time.AfterFunc(cfg.innerBudget(), func() {
		logf("watchdog: the run overran %v; killing the nodes", cfg.innerBudget())
		in.abort()
		os.Exit(exitError)
	})
	defer wd.Stop()
	code := in.run()
	in.shutdown()
	return code
}

type inner struct {
	cfg  *config
	fw   *firewall
	c    *cluster
	pids *os.File
	nem  *nemesis

	abortOnce sync.Once
}

// abort kills every node and removes the firewall rules: the watchdog's way out.
func (in *inner) abort() {
	in.abortOnce.Do(func() {
		if in.c != nil {
			for _, n := range in.c.nodes {
				n.signal(syscall.SIGKILL)
			}
		}
		in.fw.heal()
	})
}

// shutdown stops the nodes gracefully (bounded) and removes the firewall rules.
func (in *inner) shutdown() {
	if in.c != nil {
		var wg sync.WaitGroup
		for _, n := range in.c.nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := n.stop(stopBudget / 2); err != nil {
					logf("stopping node %d: %v", n.id, err)
				}
			}()
		}
		wg.Wait()
	}
	if err := in.fw.heal(); err != nil {
		logf("removing firewall rules: %v", err)
	}
	if in.pids != nil {
		in.pids.Close()
	}
}

func (in *inner) run() int {
	cfg := in.cfg
	runDir := cfg.runDir
	sum := &Summary{Seed: cfg.seed, Run: filepath.Base(runDir), DurationSec: cfg.duration.Seconds(), Producers: cfg.producers,
		Consumers: cfg.consumers, DiskFaults: cfg.diskFaults, Queues: checkConfig()}
	fail := func(check, format string, args ...any) int {
		msg := fmt.Sprintf(format, args...)
		logf("%s", msg)
		sum.problem(check, msg)
		if in.nem != nil {
			sum.Faults = in.nem.faults()
			sum.FaultCounts = faultCounts(sum.Faults)
		}
		writeSummary(filepath.Join(runDir, "summary.json"), sum)
		printSummary(os.Stdout, sum)
		if check == checkHarness {
			return exitError
		}
		return exitViolation
	}
	var err error
	if in.pids, err = os.OpenFile(filepath.Join(runDir, pidsFileName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return fail(checkHarness, "%v", err)
	}
	if in.c, err = newCluster(runDir, cfg.cmqdBin, in.pids); err != nil {
		return fail(checkHarness, "%v", err)
	}
	h, err := newHistory(filepath.Join(runDir, "history.jsonl"))
	if err != nil {
		return fail(checkHarness, "%v", err)
	}
	nemLog, err := os.Create(filepath.Join(runDir, "nemesis.jsonl"))
	if err != nil {
		return fail(checkHarness, "%v", err)
	}
	defer nemLog.Close()

	// Setup: start the nodes, wait until they are settled, create the queues.
	setupEnd := time.Now().Add(setupBudget)
	if err := in.c.startAll(); err != nil {
		return fail(checkHarness, "starting the nodes: %v", err)
	}
	for ok, why := in.c.settled(); !ok; ok, why = in.c.settled() {
		if time.Now().After(setupEnd) {
			return fail(checkHarness, "the cluster did not come up within %v: %s", setupBudget, why)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := createQueues(in.c, setupEnd); err != nil {
		return fail(checkHarness, "%v", err)
	}
	logf("cluster up: leader node %d; queues created", in.c.leader())

	// Load and faults.
	kinds, _ := parseFaultKinds(cfg.faults, cfg.diskFaults)
	r := rand.New(rand.NewPCG(cfg.seed, 0x6e656d65736973))
	in.nem = &nemesis{c: in.c, fw: in.fw, r: r, kinds: kinds, victim: 1 + r.IntN(numNodes), disks: cfg.diskFaults,
		recovery: cfg.recovery, log: nemLog}
	if cfg.diskFaults {
		sum.StorageNode = in.nem.victim
	}
	loadEnd := time.Now().Add(cfg.duration)
	ctx, cancel := context.WithDeadline(context.Background(), loadEnd)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		in.nem.run(ctx, loadEnd)
	}()
	w := &workload{c: in.c, h: h, seed: cfg.seed}
	w.run(ctx, cfg.producers, cfg.consumers)
	wg.Wait()
	logf("load over: %d operations", len(h.snapshot()))

	// Final heal and recovery, with the load stopped.
	if err := in.nem.healAll(); err != nil {
		sum.problem(checkHarness, "final heal: "+err.Error())
	}
	took, err := in.c.awaitRecovery(cfg.recovery)
	sum.FinalRecoveryMs = took.Milliseconds()
	if err != nil {
		return fail(checkRecovery, "final recovery: %v", err)
	}
	logf("recovered in %v; draining", took.Round(time.Millisecond))

	// Drain, replicas, checks.
	sum.Drained, err = w.drain(drainBudget)
	if err != nil {
		sum.problem(checkDrain, err.Error())
	}
	sum.Replicas = compareReplicas(in.c, replicasBudget)
	for _, p := range sum.Replicas.Problems {
		sum.problem(checkReplicas, p)
	}
	if err := h.close(); err != nil {
		sum.problem(checkHarness, err.Error())
	}
	sum.Faults = in.nem.faults()
	sum.FaultCounts = faultCounts(sum.Faults)
	sum.RecoveryMax, sum.RecoveryMed = recoveryStats(sum.Faults)
	for _, f := range sum.Faults {
		switch {
		case !f.Recovered:
			sum.problem(checkRecovery, fmt.Sprintf("fault %s on %v: %s", f.Kind, f.Nodes, f.Err))
		case f.Err != "":
			sum.problem(checkHarness, fmt.Sprintf("fault %s on %v: %s", f.Kind, f.Nodes, f.Err))
		}
	}
	sum.Check = Check(h.snapshot(), sum.Queues)
	sum.Pass = sum.Check.OK() && len(sum.Problems) == 0
	if err := writeSummary(filepath.Join(runDir, "summary.json"), sum); err != nil {
		logf("writing summary.json: %v", err)
		return exitError
	}
	printSummary(os.Stdout, sum)
	if !sum.Pass {
		return exitViolation
	}
	return exitPass
}
