package main

// The outer process, in the root namespace: packages, the cmqd binary, the namespace and
// the loop-mounted disks; the inner process under a watchdog; then removal of everything it
// created (all of it on success, all but the run directory on failure).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildTimeout bounds building cmqd.
const buildTimeout = 5 * time.Minute

// pidsFileName is where the inner process lists the pid of every cmqd it starts, so that
// the outer one can kill them if the inner one dies or hangs.
const pidsFileName = "pids"

func runOuter(cfg *config, args []string) int {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "cmqchaos: needs root on Linux (network namespaces, iptables, loop mounts)")
		return exitError
	}
	if err := ensurePackages(cfg.install, cfg.diskFaults); err != nil {
		fmt.Fprintf(os.Stderr, "cmqchaos: %v\n", err)
		return exitError
	}
	runID := fmt.Sprintf("%d-%d", cfg.seed, os.Getpid())
	runDir, err := filepath.Abs(filepath.Join(cfg.dir, "cmqchaos-"+runID))
	if err != nil {
		fmt.Fprintf(os.Stderr, "cmqchaos: %v\n", err)
		return exitError
	}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "cmqchaos: %v\n", err)
		return exitError
	}
	logf("run %s: seed %d, %v of load and faults, run directory %s", runID, cfg.seed, cfg.duration, runDir)
	o := &outer{cfg: cfg, runDir: runDir, netns: netnsName(runID)}
	code := o.run(args)
	o.cleanup(code)
	return code
}

type outer struct {
	cfg     *config
	runDir  string
	netns   string
	bin     string
	mounted []string
	nsMade  bool
}

func (o *outer) run(args []string) int {
	if err := o.buildCmqd(); err != nil {
		logf("building cmqd: %v", err)
		return exitError
	}
	if o.cfg.diskFaults {
		for id := 1; id <= numNodes; id++ {
			dir := nodeDir(o.runDir, id)
			if err := mountDisk(filepath.Join(o.runDir, "disks", fmt.Sprintf("n%d.img", id)), dir); err != nil {
				logf("disk of node %d: %v", id, err)
				return exitError
			}
			o.mounted = append(o.mounted, dir)
		}
	}
	if err := createNetns(o.netns); err != nil {
		logf("network namespace: %v", err)
		return exitError
	}
	o.nsMade = true

	exe, err := os.Executable()
	if err != nil {
		logf("%v", err)
		return exitError
	}
	self, err := currentNetns()
	if err != nil {
		logf("%v", err)
		return exitError
	}
	innerArgs := append(append([]string(nil), args...), "--inner", "--run-dir", o.runDir, "--outer-netns", self,
		"--seed", strconv.FormatUint(o.cfg.seed, 10), "--cmqd", o.bin)
	cmd := exec.Command("ip", append([]string{"netns", "exec", o.netns, exe}, innerArgs...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf("starting the inner process: %v", err)
		return exitError
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	// The inner process has a watchdog of its own; this one catches it hanging anyway.
	watchdog := time.NewTimer(o.cfg.innerBudget() + time.Minute)
	defer watchdog.Stop()
	select {
	case err := <-done:
		var ee *exec.ExitError
		switch {
		case err == nil:
			return exitPass
		case errors.As(err, &ee) && ee.ExitCode() == exitViolation:
			return exitViolation
		default:
			logf("inner process: %v", err)
			return exitError
		}
	case <-watchdog.C:
		logf("watchdog: the inner process (pid %d) ran past %v; killing it and its nodes", cmd.Process.Pid, o.cfg.innerBudget()+time.Minute)
	case s := <-sigs:
		logf("%v: killing the inner process (pid %d) and its nodes", s, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	<-done
	return exitError
}

// buildCmqd builds cmqd into the run directory, or takes --cmqd.
func (o *outer) buildCmqd() error {
	if o.cfg.cmqdBin != "" {
		bin, err := filepath.Abs(o.cfg.cmqdBin)
		o.bin = bin
		return err
	}
	o.bin = filepath.Join(o.runDir, "bin", "cmqd")
	args := []string{"build", "-o", o.bin}
	if o.cfg.race {
		args = append(args, "-race")
	}
	args = append(args, "github.com/opencmq/opencmq/cmd/cmqd")
	logf("building cmqd: go %s", strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v\n%s", err, tail(out, 4000))
	}
	return nil
}

// cleanup kills any node the inner process left running, unmounts the disks, deletes the
// namespace, and removes the run directory when the run passed (and --keep is off).
func (o *outer) cleanup(code int) {
	killListed(filepath.Join(o.runDir, pidsFileName), o.bin)
	if o.cfg.summaryTo != "" {
		if b, err := os.ReadFile(filepath.Join(o.runDir, "summary.json")); err != nil {
			logf("no summary to copy: %v", err)
		} else if err := os.WriteFile(o.cfg.summaryTo, b, 0o644); err != nil {
			logf("copying the summary: %v", err)
		}
	}
	for _, dir := range o.mounted {
		if err := unmountDisk(dir); err != nil {
			logf("cleanup: %v", err)
		}
	}
	if o.nsMade {
		if err := deleteNetns(o.netns); err != nil {
			logf("cleanup: %v", err)
		}
	}
	if code == exitPass && !o.cfg.keep {
		if err := os.RemoveAll(o.runDir); err != nil {
			logf("cleanup: %v", err)
		}
		return
	}
	logf("kept the run directory %s (history.jsonl, nemesis.jsonl, summary.json, logs/, node data)", o.runDir)
}

// killListed SIGKILLs every pid listed in path that is still a process of bin: the check of
// /proc/<pid>/exe makes sure a recycled pid of someone else's process is never touched.
func killListed(path, bin string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 1 {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe != bin {
			continue
		}
		syscall.Kill(pid, syscall.SIGKILL)
		logf("cleanup: killed leftover cmqd pid %d", pid)
	}
}
