package main

// The cmqd node processes: start, kill -9, graceful stop, pause and resume. Every process
// is signalled by its own pid, which is also listed in the run directory's pids file so
// that the outer process can kill what a dead inner process left behind.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// nodeDir is the directory of node id in the run directory (the mount point of its disk
// when disk faults are on); cmqd's --data is its "data" subdirectory.
func nodeDir(runDir string, id int) string { return filepath.Join(runDir, fmt.Sprintf("n%d", id)) }

// node is one cmqd process slot: the same flags and data directory across restarts.
type node struct {
	id      int
	dir     string // nodeDir: the disk
	args    []string
	bin     string
	logPath string
	pids    *os.File // the run's pids file, shared

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when the current process has exited
	paused bool
	starts int
}

func (n *node) httpAddr() string { return fmt.Sprintf("%s:%d", nodeIP(n.id), httpPort) }
func (n *node) raftAddr() string { return fmt.Sprintf("%s:%d", nodeIP(n.id), raftPort) }

// start starts the node's process if it is not running.
func (n *node) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.runningLocked() {
		return nil
	}
	logFile, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logFile, "==== cmqchaos: start %d of node %d at %s\n", n.starts+1, n.id, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(n.bin, n.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Pdeathsig: if this process dies, the kernel kills the node too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("node %d: %w", n.id, err)
	}
	fmt.Fprintf(n.pids, "%d\n", cmd.Process.Pid)
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logFile.Close()
		close(done)
	}()
	n.cmd, n.done, n.paused = cmd, done, false
	n.starts++
	return nil
}

func (n *node) runningLocked() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// running reports whether the node's process is alive (paused or not).
func (n *node) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.runningLocked()
}

// isPaused reports whether the node is stopped with SIGSTOP.
func (n *node) isPaused() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.paused && n.runningLocked()
}

// signal sends sig to the current process, if it runs.
func (n *node) signal(sig syscall.Signal) (pid int, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.runningLocked() {
		return 0, false
	}
	pid = n.cmd.Process.Pid
	if err := syscall.Kill(pid, sig); err != nil {
		return pid, false
	}
	switch sig {
	case syscall.SIGSTOP:
		n.paused = true
	case syscall.SIGCONT, syscall.SIGKILL:
		n.paused = false
	}
	return pid, true
}

// wait waits up to d for the current process to exit.
func (n *node) wait(d time.Duration) bool {
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// kill sends SIGKILL and waits for the exit.
func (n *node) kill() error {
	n.signal(syscall.SIGKILL)
	if !n.wait(10 * time.Second) {
		return fmt.Errorf("node %d did not exit within 10s of SIGKILL", n.id)
	}
	return nil
}

// stop stops the node gracefully (SIGTERM; SIGKILL after d).
func (n *node) stop(d time.Duration) error {
	n.signal(syscall.SIGCONT) // a paused process cannot handle SIGTERM
	n.signal(syscall.SIGTERM)
	if n.wait(d) {
		return nil
	}
	return n.kill()
}

// pause stops the process with SIGSTOP; resume continues it.
func (n *node) pause() bool  { _, ok := n.signal(syscall.SIGSTOP); return ok }
func (n *node) resume() bool { _, ok := n.signal(syscall.SIGCONT); return ok }

// nodeFlags are node id's cmqd flags.
func nodeFlags(id int, runDir, accounts, token string) []string {
	peers := ""
	for i := 1; i <= numNodes; i++ {
		if i > 1 {
			peers += ","
		}
		peers += strconv.Itoa(i) + "=" + fmt.Sprintf("%s:%d", nodeIP(i), raftPort)
	}
	return []string{
		"--node-id", strconv.Itoa(id),
		"--listen", fmt.Sprintf("%s:%d", nodeIP(id), httpPort),
		"--raft-listen", fmt.Sprintf("%s:%d", nodeIP(id), raftPort),
		"--peers", peers,
		"--data", filepath.Join(nodeDir(runDir, id), "data"),
		"--accounts", accounts,
		"--admin-token", token,
		"--shutdown-timeout", "5s",
		// Frequent checkpoints compact the raft log often, so that a node that was down
		// catches up from a snapshot rather than from the log.
		"--checkpoint-bytes", strconv.Itoa(4 << 20),
	}
}
