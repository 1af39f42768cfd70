package main

// Running the external commands the checker needs (ip, iptables, mkfs, mount), each bounded
// in time.

import (
	"context"
	"fmt"
	"os/exec"
	"time"
)

// tail returns at most the last n bytes of b.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// run runs a command (bounded by timeout) and returns its error with its output.
func run(timeout time.Duration, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %v: %s", name, args, err, tail(out, 1000))
	}
	return nil
}
