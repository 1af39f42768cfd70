package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

func TestTopicLifecycle(t *testing.T) {
	s := startServer(t)
	r := s.cmqctl(t, "", "topic", "create", "news").mustOK(t)
	if !strings.HasPrefix(r.stdout, "created topic news (topicId topic-") {
		t.Fatalf("create: %q", r.stdout)
	}
	s.cmqctl(t, "", "topic", "create", "news").mustFail(t, exitFail, "CreateTopic failed: CMQ error code 4460")
	s.cmqctl(t, "", "topic", "create", "keys", "--routing", "--max-msg-size", "2048").mustOK(t)
	s.cmqctl(t, "", "topic", "create", "x", "--routing", "--filter-type", "1").mustFail(t, exitUsage, "contradicts")
	s.cmqctl(t, "", "topic", "create", "x", "--filter-type", "3").mustFail(t, exitFail, "CMQ error code 4000", "filterType must be 1 or 2")

	r = s.cmqctl(t, "", "topic", "list").mustOK(t)
	if !strings.Contains(r.stdout, "news") || !strings.Contains(r.stdout, "keys") || !strings.Contains(r.stdout, "2 of 2 topic(s)") {
		t.Fatalf("list: %s", r.stdout)
	}
	r = s.cmqctl(t, "", "topic", "list", "--search", "ke", "--limit", "5").mustOK(t)
	if strings.Contains(r.stdout, "news") || !strings.Contains(r.stdout, "1 of 1") {
		t.Fatalf("list --search: %s", r.stdout)
	}
	r = s.cmqctl(t, "", "--json", "topic", "list").mustOK(t)
	var list struct {
		TotalCount int `json:"totalCount"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || list.TotalCount != 2 {
		t.Fatalf("list --json: %q %v", r.stdout, err)
	}

	r = s.cmqctl(t, "", "topic", "get", "keys").mustOK(t)
	for _, want := range []string{"topicName            keys", "filterType           2 (routing key)", "maxMsgSize           2048", "msgRetentionSeconds  86400", "msgCount             0"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("get: no %q in\n%s", want, r.stdout)
		}
	}
	r = s.cmqctl(t, "", "topic", "set", "news", "--max-msg-size", "4096").mustOK(t)
	if r.stdout != "updated topic news: maxMsgSize 4096\n" {
		t.Fatalf("set: %q", r.stdout)
	}
	s.cmqctl(t, "", "topic", "set", "news").mustFail(t, exitUsage, "--max-msg-size")
	s.cmqctl(t, "", "topic", "set", "news", "--max-msg-size", "10").mustFail(t, exitFail, "SetTopicAttributes failed: CMQ error code 4000")
	r = s.cmqctl(t, "", "--json", "topic", "get", "news").mustOK(t)
	var info map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || info["maxMsgSize"] != 4096.0 || info["filterType"] != 1.0 {
		t.Fatalf("get --json: %s %v", r.stdout, err)
	}

	// A topic with a subscription cannot be deleted.
	s.cmqctl(t, "", "queue", "create", "inbox").mustOK(t)
	s.cmqctl(t, "", "sub", "create", "news", "s", "inbox").mustOK(t)
	s.cmqctl(t, "", "topic", "delete", "news").mustFail(t, exitFail, "DeleteTopic failed: CMQ error code 4000", "subscriptions")
	s.cmqctl(t, "", "sub", "delete", "news", "s").mustOK(t)
	r = s.cmqctl(t, "", "topic", "delete", "news").mustOK(t)
	if r.stdout != "deleted topic news\n" {
		t.Fatalf("delete: %q", r.stdout)
	}
	s.cmqctl(t, "", "topic", "get", "news").mustFail(t, exitFail, "GetTopicAttributes failed: CMQ error code 4440", "requestId")
	s.cmqctl(t, "", "topic", "frob").mustFail(t, exitUsage, "unknown topic subcommand")
	s.cmqctl(t, "", "topic").mustFail(t, exitUsage, "topic <create|list")
	if r := s.cmqctl(t, "", "topic", "help").mustOK(t); !strings.Contains(r.stdout, "topic create NAME") {
		t.Fatalf("help: %q", r.stdout)
	}
}

func TestTopicListPagesAndIsolation(t *testing.T) {
	s := startServer(t)
	const n = listPage + 3
	for i := 0; i < n; i++ {
		s.cmqctl(t, "", "topic", "create", "t"+strconv.Itoa(i)).mustOK(t)
	}
	r := s.cmqctl(t, "", "topic", "list").mustOK(t)
	if !strings.Contains(r.stdout, strconv.Itoa(n)+" of "+strconv.Itoa(n)+" topic(s)") {
		t.Fatalf("list: %s", r.stdout[max(0, len(r.stdout)-200):])
	}
	r = s.cmqctlAs(t, 1, "", "topic", "list").mustOK(t)
	if !strings.Contains(r.stdout, "no topics") {
		t.Fatalf("account B sees: %s", r.stdout)
	}
	s.cmqctlAs(t, 1, "", "topic", "get", "t0").mustFail(t, exitFail, "code 4440")
}
