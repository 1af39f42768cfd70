package main

// The Debian packages the checker needs, installed with apt-get when a command is missing,
// so that it runs on a fresh machine (and in CI) without setup steps.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"time"
)

// requiredCommands maps each command the checker runs to the Debian package that has it.
var requiredCommands = map[string]string{
	"ip":        "iproute2",
	"iptables":  "iptables",
	"mkfs.ext4": "e2fsprogs",
	"mount":     "mount",
	"umount":    "mount",
}

// missingPackages returns the packages of the commands not on PATH.
func missingPackages(diskFaults bool) []string {
	seen := map[string]bool{}
	var pkgs []string
	for cmd, pkg := range requiredCommands {
		if !diskFaults && (cmd == "mkfs.ext4" || cmd == "mount" || cmd == "umount") {
			continue
		}
		if _, err := exec.LookPath(cmd); err != nil && !seen[pkg] {
			seen[pkg] = true
			pkgs = append(pkgs, pkg)
		}
	}
	sort.Strings(pkgs)
	return pkgs
}

// ensurePackages installs what is missing (apt-get update, then install), bounded in time.
func ensurePackages(install, diskFaults bool) error {
	pkgs := missingPackages(diskFaults)
	if len(pkgs) == 0 {
		return nil
	}
	if !install {
		return fmt.Errorf("missing packages %v (run without --install=false to install them)", pkgs)
	}
	logf("installing %v with apt-get", pkgs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, args := range [][]string{{"update"}, append([]string{"install", "-y", "--no-install-recommends"}, pkgs...)} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %v\n%s", args[0], err, tail(out, 2000))
		}
	}
	if still := missingPackages(diskFaults); len(still) > 0 {
		return fmt.Errorf("still missing after apt-get install: %v", still)
	}
	return nil
}
