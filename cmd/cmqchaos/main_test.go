package main

import (
	"io"
	"slices"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"--short", "--seed", "9"}, io.Discard)
	if err != nil || c.seed != 9 || c.duration != 40*time.Second || c.producers != 3 || c.consumers != 3 {
		t.Fatalf("--short: %+v %v", c, err)
	}
	// Flags given explicitly win over --short.
	if c, err = parseFlags([]string{"--short", "--duration", "20s", "--producers", "5"}, io.Discard); err != nil || c.duration != 20*time.Second || c.producers != 5 || c.consumers != 3 {
		t.Fatalf("--short with overrides: %+v %v", c, err)
	}
	for _, bad := range [][]string{
		{"--duration", "1s"},
		{"--producers", "0"},
		{"--faults", "kill,meteor"},
		{"--faults", "disk-full", "--disk-faults=false"},
		{"--inner"},
		{"extra"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", bad)
		}
	}
	if c.innerBudget() <= c.duration+c.recovery {
		t.Errorf("the watchdog budget %v leaves no room beyond the load", c.innerBudget())
	}
}

func TestParseFaultKinds(t *testing.T) {
	all, err := parseFaultKinds("", true)
	if err != nil || !slices.Equal(all, faultKinds) {
		t.Fatalf("all kinds: %v %v", all, err)
	}
	noDisk, _ := parseFaultKinds("", false)
	if slices.Contains(noDisk, faultDiskFull) || len(noDisk) != len(faultKinds)-1 {
		t.Fatalf("without disk faults: %v", noDisk)
	}
	if some, err := parseFaultKinds(" kill , one-way", false); err != nil || !slices.Equal(some, []string{faultKill, faultOneWay}) {
		t.Fatalf("a list: %v %v", some, err)
	}
}

func TestRecoveryStats(t *testing.T) {
	recs := []FaultRecord{{Recovered: true, RecoveryMs: 300}, {Recovered: false, RecoveryMs: 30000}, {Recovered: true, RecoveryMs: 100}, {Recovered: true, RecoveryMs: 200}}
	if mx, med := recoveryStats(recs); mx != 300 || med != 200 {
		t.Fatalf("max %d, median %d", mx, med)
	}
	if got := faultCounts([]FaultRecord{{Kind: faultKill}, {Kind: faultKill}, {Kind: faultRestart}}); got[faultKill] != 2 || got[faultRestart] != 1 {
		t.Fatalf("counts %v", got)
	}
}
