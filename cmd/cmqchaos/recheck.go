package main

// --recheck: run the history checks again on a kept run directory, without a cluster (after
// a change to the checker, or to look at a failure again).

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// readHistory reads a history.jsonl.
func readHistory(path string) ([]Op, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ops []Op
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var op Op
		if err := json.Unmarshal(sc.Bytes(), &op); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		ops = append(ops, op)
	}
	return ops, sc.Err()
}

// recheck checks the history of run directory dir with the queue settings its summary.json
// recorded, prints the report, and returns the exit status.
func recheck(dir string) int {
	ops, err := readHistory(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "cmqchaos: %v\n", err)
		return exitError
	}
	cfg := checkConfig()
	if b, err := os.ReadFile(filepath.Join(dir, "summary.json")); err == nil {
		var s Summary
		if json.Unmarshal(b, &s) == nil && len(s.Queues.Queues) > 0 {
			cfg = s.Queues
		}
	}
	r := Check(ops, cfg)
	out, _ := json.MarshalIndent(r, "", "  ")
	fmt.Printf("%s\n", out)
	if !r.OK() {
		return exitViolation
	}
	return exitPass
}
