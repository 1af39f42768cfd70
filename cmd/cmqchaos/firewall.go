package main

// iptables rules inside the run's namespace (the inner process runs there, so plain
// iptables commands act on the namespace's own tables). Every rule added is remembered and
// deleted by spec when the fault heals; deleting the namespace would drop them anyway.

import (
	"fmt"
	"strconv"
	"sync"
	"time"
)

type firewall struct {
	mu    sync.Mutex
	rules [][]string // chain and match of each rule added, in order
}

// iptables runs one iptables command; -w waits for the xtables lock, which is shared with
// other namespaces on the machine.
func iptables(args ...string) error {
	return run(10*time.Second, "iptables", append([]string{"-w", "5"}, args...)...)
}

// add appends a DROP rule with the given chain and match.
func (f *firewall) add(chain string, match ...string) error {
	spec := append(append([]string{chain}, match...), "-m", "comment", "--comment", "cmqchaos", "-j", "DROP")
	if err := iptables(append([]string{"-A"}, spec...)...); err != nil {
		return err
	}
	f.mu.Lock()
	f.rules = append(f.rules, spec)
	f.mu.Unlock()
	return nil
}

// cutLink drops every packet between node a and node b, both ways: on loopback a packet
// passes OUTPUT and then INPUT, so OUTPUT rules suffice.
func (f *firewall) cutLink(a, b int) error {
	if err := f.add("OUTPUT", "-s", nodeIP(a), "-d", nodeIP(b)); err != nil {
		return err
	}
	return f.add("OUTPUT", "-s", nodeIP(b), "-d", nodeIP(a))
}

// isolate cuts node id off from every other node (clients still reach it).
func (f *firewall) isolate(id int) error {
	for other := 1; other <= numNodes; other++ {
		if other != id {
			if err := f.cutLink(id, other); err != nil {
				return err
			}
		}
	}
	return nil
}

// blockDial makes "a cannot dial b": a's connection attempts to b's raft port are dropped
// (--syn). The transport sends a's messages only on connections a dialled, so this stops
// a→b traffic while b→a keeps working. A stream a dialled before the fault would survive a
// SYN rule, so a's established stream to b's raft port is dropped too (its packets carry
// b's raft port as destination; b's own stream to a has it as source and is untouched).
func (f *firewall) blockDial(a, b int) error {
	port := strconv.Itoa(raftPort)
	if err := f.add("OUTPUT", "-s", nodeIP(a), "-d", nodeIP(b), "-p", "tcp", "--dport", port, "--syn"); err != nil {
		return err
	}
	return f.add("OUTPUT", "-s", nodeIP(a), "-d", nodeIP(b), "-p", "tcp", "--dport", port)
}

// heal deletes every rule added, newest first.
func (f *firewall) heal() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var first error
	for i := len(f.rules) - 1; i >= 0; i-- {
		if err := iptables(append([]string{"-D"}, f.rules[i]...)...); err != nil && first == nil {
			first = fmt.Errorf("removing rule %v: %w", f.rules[i], err)
		}
	}
	f.rules = nil
	return first
}
