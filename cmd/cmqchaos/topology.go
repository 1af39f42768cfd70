package main

// The topology: one private network namespace with only a loopback interface and no
// default route. The three nodes listen on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (HTTP on
// httpPort, raft on raftPort) and the checker's own requests come from clientIP, so
// iptables rules between node addresses cut node-to-node links without touching clients.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

const (
	numNodes = 3
	httpPort = 8080
	raftPort = 7946
	clientIP = "127.0.0.100"
)

// nodeIP is node id's address (ids are 1-based).
func nodeIP(id int) string { return fmt.Sprintf("127.0.0.%d", id) }

// netnsName is the namespace of a run.
func netnsName(runID string) string { return "cmqchaos-" + runID }

// createNetns creates the namespace and brings its loopback up.
func createNetns(name string) error {
	if err := run(10*time.Second, "ip", "netns", "add", name); err != nil {
		return err
	}
	if err := run(10*time.Second, "ip", "-n", name, "link", "set", "lo", "up"); err != nil {
		deleteNetns(name)
		return err
	}
	return nil
}

// deleteNetns deletes the namespace (and with it any iptables rule left in it).
func deleteNetns(name string) error {
	return run(10*time.Second, "ip", "netns", "del", name)
}

// currentNetns identifies this process's network namespace.
func currentNetns() (string, error) { return os.Readlink("/proc/self/ns/net") }

// checkIsolated refuses to run the cluster unless this process is in a network namespace
// other than the outer process's, with no interface but loopback and no default route: the
// guarantee that no request of the run can leave the machine.
func checkIsolated(outerNetns string) error {
	self, err := currentNetns()
	if err != nil {
		return err
	}
	if outerNetns == "" || self == outerNetns {
		return fmt.Errorf("not in a network namespace of its own (%s)", self)
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("the namespace has a non-loopback interface %s", i.Name)
		}
	}
	f, err := os.Open("/proc/self/net/route")
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 1 && fields[1] == "00000000" {
			return fmt.Errorf("the namespace has a default route: %s", sc.Text())
		}
	}
	return sc.Err()
}
