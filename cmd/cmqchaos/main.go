// Command cmqchaos is opencmq's chaos checker for a 3-node cluster. It creates a network
// namespace of its own with only a loopback interface, starts three cmqd nodes in it on
// 127.0.0.1-3 (each with its own data directory, a loop-mounted ext4 when disk faults are
// on), drives producers and consumers through the CMQ HTTP API with self-checking bodies,
// injects faults on a seeded schedule (kill -9, SIGSTOP, iptables partitions, a full disk,
// restarts), heals and checks that the cluster recovers, drains every queue, and then checks
// the recorded history: no acknowledged send lost, no body corrupted, nothing unexpected,
// nothing delivered again after an acknowledged delete, no redelivery before the visibility
// timeout, no delayed message early, dead letters accounted for, and all replicas equal.
//
//	go run ./cmd/cmqchaos --seed 7            # one schedule of about 75 s of load and faults
//	go run ./cmd/cmqchaos --short --seed 1    # the CI schedule (about 2 minutes in all)
//	go run ./cmd/cmqchaos --recheck DIR       # check a kept run's history again
//
// It must run as root on Linux (network namespaces, iptables, loop mounts) and installs the
// Debian packages it needs if they are missing. Traffic stays inside its namespace, on
// 127.0.0.0/8. Exit status: 0 when every check passed (everything it created is removed), 1
// when a check failed and 2 when the run itself failed (the run directory with the history,
// the nemesis log, summary.json, the node logs and data directories is kept in both cases).
//
// The work is split in two processes: the outer one, in the root namespace, installs
// packages, builds cmqd, creates the namespace and the loop-mounted file systems, runs the
// inner one inside the namespace under a watchdog, and removes everything afterwards; the
// inner one (the same binary with --inner) runs the cluster, the workload, the faults and
// the checks.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Exit statuses.
const (
	exitPass      = 0
	exitViolation = 1
	exitError     = 2
)

// config is the command line.
type config struct {
	seed       uint64
	short      bool
	duration   time.Duration // load and faults
	producers  int
	consumers  int
	dir        string // where the run directory is made
	cmqdBin    string // a prebuilt cmqd instead of building one
	race       bool
	diskFaults bool
	faults     string // comma-separated fault kinds; "" is all
	keep       bool
	summaryTo  string // copy summary.json here (it survives the run directory's removal)
	install    bool
	recovery   time.Duration // how long a heal may take to recover

	recheck string // a kept run directory whose history to check again

	// set by the outer process for the inner one
	inner      bool
	runDir     string
	outerNetns string
}

// Phase bounds of the inner process. The watchdogs are derived from them.
const (
	setupBudget    = 60 * time.Second
	drainBudget    = 120 * time.Second
	replicasBudget = 30 * time.Second
	stopBudget     = 30 * time.Second
)

// innerBudget is how long the inner process may take in all; its watchdog fires then.
func (c *config) innerBudget() time.Duration {
	// The nemesis may still be holding and healing its last fault when the load ends.
	return setupBudget + c.duration + 2*c.recovery + maxHold + drainBudget + replicasBudget + stopBudget
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("cmqchaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Uint64Var(&c.seed, "seed", 0, "seed of the fault schedule and the workload (default: from the clock; printed)")
	fs.BoolVar(&c.short, "short", false, "the CI schedule: 40s of load and faults, 3 producers and 3 consumers (flags given explicitly still win)")
	fs.DurationVar(&c.duration, "duration", 75*time.Second, "how long load and faults run")
	fs.IntVar(&c.producers, "producers", 4, "producer workers")
	fs.IntVar(&c.consumers, "consumers", 4, "consumer workers")
	fs.StringVar(&c.dir, "dir", os.TempDir(), "directory to create the run directory in")
	fs.StringVar(&c.cmqdBin, "cmqd", "", "use this cmqd binary instead of building ./cmd/cmqd")
	fs.BoolVar(&c.race, "race", false, "build cmqd with the race detector")
	fs.BoolVar(&c.diskFaults, "disk-faults", true, "give every node a loop-mounted ext4 data directory and fill one node's disk as a fault")
	fs.StringVar(&c.faults, "faults", "", "comma-separated fault kinds to draw from (default all): "+strings.Join(faultKindNames(), ","))
	fs.BoolVar(&c.keep, "keep", false, "keep the run directory even when every check passed")
	fs.StringVar(&c.summaryTo, "summary", "", "also write summary.json to this file")
	fs.BoolVar(&c.install, "install", true, "install missing Debian packages (iproute2, iptables, e2fsprogs, mount) with apt-get")
	fs.DurationVar(&c.recovery, "recovery", 30*time.Second, "deadline for the cluster to recover after a heal")
	fs.StringVar(&c.recheck, "recheck", "", "check the history of a kept run directory again (no cluster is started)")
	fs.BoolVar(&c.inner, "inner", false, "internal: run inside the namespace")
	fs.StringVar(&c.runDir, "run-dir", "", "internal: the run directory the outer process made")
	fs.StringVar(&c.outerNetns, "outer-netns", "", "internal: the outer process's network namespace, which the inner one must not be in")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.short {
		if !set["duration"] {
			c.duration = 40 * time.Second
		}
		if !set["producers"] {
			c.producers = 3
		}
		if !set["consumers"] {
			c.consumers = 3
		}
	}
	if !set["seed"] {
		c.seed = uint64(time.Now().UnixNano()) % 1_000_000
	}
	switch {
	case c.duration < 10*time.Second || c.duration > time.Hour:
		return nil, fmt.Errorf("--duration must be 10s-1h")
	case c.producers < 1 || c.producers > 32 || c.consumers < 1 || c.consumers > 32:
		return nil, fmt.Errorf("--producers and --consumers must be 1-32")
	case c.recovery < 5*time.Second || c.recovery > 5*time.Minute:
		return nil, fmt.Errorf("--recovery must be 5s-5m")
	case c.inner && c.runDir == "":
		return nil, fmt.Errorf("--inner needs --run-dir")
	}
	if _, err := parseFaultKinds(c.faults, c.diskFaults); err != nil {
		return nil, err
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err == flag.ErrHelp {
		os.Exit(exitPass)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "cmqchaos: %v\n", err)
		os.Exit(exitError)
	}
	if cfg.recheck != "" {
		os.Exit(recheck(cfg.recheck))
	}
	if cfg.inner {
		os.Exit(runInner(cfg))
	}
	os.Exit(runOuter(cfg, os.Args[1:]))
}

// logf prints a progress line with the time since start.
var started = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}
