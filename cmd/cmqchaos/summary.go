package main

// summary.json: the run's parameters, the faults with their times, what the workload did,
// what the checks found, and the verdict; and the same in a few lines on stdout.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Summary is written to summary.json.
type Summary struct {
	Seed        uint64         `json:"seed"`
	Run         string         `json:"run"`
	DurationSec float64        `json:"loadSeconds"`
	Producers   int            `json:"producers"`
	Consumers   int            `json:"consumers"`
	DiskFaults  bool           `json:"diskFaults"`
	StorageNode int            `json:"storageVictim,omitempty"`
	Queues      CheckConfig    `json:"checkConfig"`
	Faults      []FaultRecord  `json:"faults"`
	FaultCounts map[string]int `json:"faultCounts"`
	RecoveryMax int64          `json:"recoveryMaxMs"`
	RecoveryMed int64          `json:"recoveryMedianMs"`
	// FinalRecoveryMs: after the last heal, with the load stopped.
	FinalRecoveryMs int64         `json:"finalRecoveryMs"`
	Drained         int           `json:"drainedMessages"`
	Check           Report        `json:"check"`
	Replicas        ReplicaReport `json:"replicas"`
	// Problems are failures outside the history checks.
	Problems []Problem `json:"problems,omitempty"`
	Pass     bool      `json:"pass"`
}

// Checks outside the history, and the harness itself (a run that could not do what it
// set out to do fails too).
const (
	checkRecovery = "recovery" // every heal recovered within the deadline, and the final one
	checkDrain    = "drain"    // every queue drained and stayed empty
	checkReplicas = "replicas" // every node reports the queues empty and the same state digest
	checkHarness  = "harness"
)

// Problem is a failed check outside the history checks.
type Problem struct {
	Check  string `json:"check"`
	Detail string `json:"detail"`
}

func (s *Summary) problem(check, detail string) {
	s.Problems = append(s.Problems, Problem{Check: check, Detail: detail})
}

// tally counts the checks that passed and failed: one per violation kind, recovery, drain,
// replicas and the harness.
func (s *Summary) tally() (passed, failed int) {
	bad := map[string]bool{}
	for k := range s.Check.ViolationCounts {
		bad[k] = true
	}
	for _, p := range s.Problems {
		bad[p.Check] = true
	}
	for _, k := range append(append([]string(nil), violationKinds...), checkRecovery, checkDrain, checkReplicas, checkHarness) {
		if bad[k] {
			failed++
		} else {
			passed++
		}
	}
	return passed, failed
}

func writeSummary(path string, s *Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// printSummary prints the verdict and the main numbers.
func printSummary(w io.Writer, s *Summary) {
	verdict := "PASS"
	if !s.Pass {
		verdict = "FAIL"
	}
	kinds := make([]string, 0, len(s.FaultCounts))
	for k, n := range s.FaultCounts {
		kinds = append(kinds, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(kinds)
	r := &s.Check
	fmt.Fprintf(w, "cmqchaos %s: seed %d, %.0fs of load, %d faults (%s)\n", verdict, s.Seed, s.DurationSec, len(s.Faults), strings.Join(kinds, " "))
	fmt.Fprintf(w, "  sends: %d acknowledged, %d indeterminate, %d refused; %d deliveries of %d messages; deletes: %d acknowledged, %d indeterminate, %d refused\n",
		r.SendsAcked, r.SendsIndeterminate, r.SendsFailed, r.Deliveries, r.MessagesDelivered, r.DeletesAcked, r.DeletesUnknown, r.DeletesFailed)
	fmt.Fprintf(w, "  lost %d; duplicates: %d after the visibility timeout, %d after a failed delete, %d enqueued twice, %d resurrected; %d dead-lettered\n",
		r.Lost, r.Duplicates.AfterTimeout, r.Duplicates.AfterFailedDelete, r.Duplicates.DuplicateEnqueue, r.Duplicates.Resurrected, r.DeadLettered)
	fmt.Fprintf(w, "  recovery: median %d ms, max %d ms, final %d ms; drained %d; replicas agree at index %d (digest %s)\n",
		s.RecoveryMed, s.RecoveryMax, s.FinalRecoveryMs, s.Drained, s.Replicas.Applied, s.Replicas.Digest)
	for k, n := range r.ViolationCounts {
		fmt.Fprintf(w, "  VIOLATION %s: %d\n", k, n)
	}
	for i, v := range r.Violations {
		if i == 20 {
			fmt.Fprintf(w, "  … (%d listed in summary.json)\n", len(r.Violations))
			break
		}
		fmt.Fprintf(w, "    %s %s id=%s msgId=%s: %s\n", v.Kind, v.Queue, v.ID, v.MsgID, v.Detail)
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "  FAILED %s: %s\n", p.Check, p.Detail)
	}
	passed, failed := s.tally()
	fmt.Fprintf(w, "cmqchaos: %d passed, %d failed\n", passed, failed)
}
