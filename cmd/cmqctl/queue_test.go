package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestQueueLifecycle(t *testing.T) {
	s := startServer(t)
	r := s.cmqctl(t, "", "queue", "create", "orders", "--visibility-timeout", "45", "--rewind-seconds", "3600").mustOK(t)
	if !strings.HasPrefix(r.stdout, "created queue orders (queueId ") {
		t.Fatalf("create: %q", r.stdout)
	}
	s.cmqctl(t, "", "queue", "create", "orders").mustFail(t, exitFail, "CreateQueue failed: CMQ error code 4460")
	s.cmqctl(t, "", "queue", "create", "dlq").mustOK(t)
	s.cmqctl(t, "", "queue", "create", "other", "--max-receive-count", "3").mustFail(t, exitUsage, "need --dead-letter-queue")

	r = s.cmqctl(t, "", "queue", "list").mustOK(t)
	if !strings.Contains(r.stdout, "orders") || !strings.Contains(r.stdout, "dlq") || !strings.Contains(r.stdout, "2 of 2 queue(s)") {
		t.Fatalf("list: %s", r.stdout)
	}
	r = s.cmqctl(t, "", "queue", "list", "--search", "ord", "--limit", "5").mustOK(t)
	if !strings.Contains(r.stdout, "orders") || strings.Contains(r.stdout, "dlq") || !strings.Contains(r.stdout, "1 of 1") {
		t.Fatalf("list --search: %s", r.stdout)
	}
	r = s.cmqctl(t, "", "--json", "queue", "list").mustOK(t)
	var list struct {
		Code       int `json:"code"`
		TotalCount int `json:"totalCount"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || list.TotalCount != 2 {
		t.Fatalf("list --json: %q %v", r.stdout, err)
	}

	r = s.cmqctl(t, "", "queue", "get", "orders").mustOK(t)
	for _, want := range []string{"queueName", "orders", "visibilityTimeout    45", "rewindSeconds        3600", "activeMsgNum         0", "deadLetterPolicy     (none)"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("get: no %q in\n%s", want, r.stdout)
		}
	}
	r = s.cmqctl(t, "", "queue", "set", "orders", "--polling-wait-seconds", "2", "--dead-letter-queue", "dlq", "--max-receive-count", "5").mustOK(t)
	if !strings.Contains(r.stdout, "updated queue orders") || !strings.Contains(r.stdout, "pollingWaitSeconds   2") || !strings.Contains(r.stdout, `"deadLetterQueue":"dlq"`) {
		t.Fatalf("set: %s", r.stdout)
	}
	s.cmqctl(t, "", "queue", "set", "orders").mustFail(t, exitUsage, "at least one attribute")
	r = s.cmqctl(t, "", "--json", "queue", "get", "orders").mustOK(t)
	var info map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || info["pollingWaitSeconds"] != 2.0 || info["visibilityTimeout"] != 45.0 {
		t.Fatalf("get --json: %s %v", r.stdout, err)
	}

	// rewind: send, consume, rewind, receive again.
	s.cmqctl(t, "", "send", "orders", "m1").mustOK(t)
	r = s.cmqctl(t, "", "receive", "orders", "--wait", "0", "--delete").mustOK(t)
	if !strings.Contains(r.stdout, "m1") {
		t.Fatalf("receive: %s", r.stdout)
	}
	s.cmqctl(t, "", "queue", "rewind", "orders").mustFail(t, exitUsage, "--time")
	s.cmqctl(t, "", "queue", "rewind", "orders", "--time", "yesterday").mustFail(t, exitUsage, "RFC 3339")
	start := time.Now().Add(-time.Minute).Unix()
	r = s.cmqctl(t, "", "queue", "rewind", "orders", "--time", strconv.FormatInt(start, 10)).mustOK(t)
	if !strings.Contains(r.stdout, "rewound queue orders to ") {
		t.Fatalf("rewind: %s", r.stdout)
	}
	r = s.cmqctl(t, "", "receive", "orders", "--wait", "0").mustOK(t)
	if !strings.Contains(r.stdout, "m1") {
		t.Fatalf("receive after rewind: %s", r.stdout)
	}
	s.cmqctl(t, "", "queue", "rewind", "orders", "--ago", "30s").mustOK(t)
	s.cmqctl(t, "", "queue", "rewind", "dlq", "--ago", "30s").mustFail(t, exitFail, "RewindQueue failed: CMQ error code 6050")

	s.cmqctl(t, "", "queue", "delete", "dlq").mustFail(t, exitFail, "CMQ error code 4000", "dead letter")
	r = s.cmqctl(t, "", "queue", "delete", "orders").mustOK(t)
	if r.stdout != "deleted queue orders\n" {
		t.Fatalf("delete: %q", r.stdout)
	}
	s.cmqctl(t, "", "queue", "get", "orders").mustFail(t, exitFail, "GetQueueAttributes failed: CMQ error code 4440", "requestId")
	s.cmqctl(t, "", "queue", "frob").mustFail(t, exitUsage, "unknown queue subcommand")
	s.cmqctl(t, "", "queue").mustFail(t, exitUsage, "queue <create|list")
}

func TestQueueListPagesThroughEverything(t *testing.T) {
	s := startServer(t)
	const n = listPage + 5
	for i := 0; i < n; i++ {
		s.cmqctl(t, "", "queue", "create", "q"+strconv.Itoa(i)).mustOK(t)
	}
	r := s.cmqctl(t, "", "queue", "list").mustOK(t)
	if !strings.Contains(r.stdout, strconv.Itoa(n)+" of "+strconv.Itoa(n)+" queue(s)") {
		t.Fatalf("list: %s", r.stdout[max(0, len(r.stdout)-200):])
	}
	r = s.cmqctl(t, "", "queue", "list", "--offset", "100", "--limit", "3").mustOK(t)
	if !strings.Contains(r.stdout, "3 of "+strconv.Itoa(n)) || !strings.Contains(r.stdout, "q100") {
		t.Fatalf("list page: %s", r.stdout)
	}
}

func TestQueuesAreIsolatedBetweenAccounts(t *testing.T) {
	s := startServer(t)
	s.cmqctlAs(t, 0, "", "queue", "create", "shared-name").mustOK(t)
	s.cmqctlAs(t, 1, "", "queue", "get", "shared-name").mustFail(t, exitFail, "code 4440")
	r := s.cmqctlAs(t, 1, "", "queue", "list").mustOK(t)
	if !strings.Contains(r.stdout, "no queues") {
		t.Fatalf("account B sees: %s", r.stdout)
	}
}
