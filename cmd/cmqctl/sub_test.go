package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSubscriptionLifecycle(t *testing.T) {
	s := startServer(t)
	s.cmqctl(t, "", "queue", "create", "inbox").mustOK(t)
	s.cmqctl(t, "", "topic", "create", "news").mustOK(t)
	s.cmqctl(t, "", "topic", "create", "keys", "--routing").mustOK(t)

	r := s.cmqctl(t, "", "sub", "create", "news", "toq", "inbox", "--tag", "a", "--tag", "b").mustOK(t)
	if !strings.HasPrefix(r.stdout, "created subscription toq on topic news (subscriptionId subsc-") || !strings.HasSuffix(r.stdout, "queue inbox\n") {
		t.Fatalf("create queue sub: %q", r.stdout)
	}
	r = s.cmqctl(t, "", "sub", "create", "news", "web", "https://example.com/hook", "--strategy", "BACKOFF_RETRY", "--format", "SIMPLIFIED").mustOK(t)
	if !strings.HasSuffix(r.stdout, "http https://example.com/hook\n") {
		t.Fatalf("create http sub: %q", r.stdout)
	}
	s.cmqctl(t, "", "sub", "create", "keys", "k", "--protocol", "queue", "inbox", "--binding-key", "a.*", "--binding-key", "#.z").mustOK(t)
	s.cmqctl(t, "", "sub", "create", "news", "toq", "inbox").mustFail(t, exitFail, "Subscribe failed: CMQ error code 4490")
	s.cmqctl(t, "", "sub", "create", "news", "x").mustFail(t, exitUsage, "wrong number of arguments", "ENDPOINT")
	s.cmqctl(t, "", "sub", "create", "news", "x", "inbox", "--format", "JSON").mustFail(t, exitFail, "SIMPLIFIED")
	s.cmqctl(t, "", "sub", "create", "news", "x", "--protocol", "smtp", "inbox").mustFail(t, exitFail, "undefined protocol")
	s.cmqctl(t, "", "sub", "create", "news").mustFail(t, exitUsage, "wrong number of arguments")

	r = s.cmqctl(t, "", "sub", "list", "news").mustOK(t)
	for _, want := range []string{"toq", "web", "https://example.com/hook", "queue", "http", "2 of 2 subscription(s)"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("list: no %q in\n%s", want, r.stdout)
		}
	}
	r = s.cmqctl(t, "", "sub", "list", "news", "--search", "we", "--limit", "10").mustOK(t)
	if strings.Contains(r.stdout, "toq") || !strings.Contains(r.stdout, "1 of 1") {
		t.Fatalf("list --search: %s", r.stdout)
	}
	s.cmqctl(t, "", "sub", "list", "news", "--limit", "101").mustFail(t, exitFail, "must be 0-100")
	s.cmqctl(t, "", "sub", "list", "nosuch").mustFail(t, exitFail, "code 4440")

	r = s.cmqctl(t, "", "sub", "get", "news", "toq").mustOK(t)
	for _, want := range []string{"protocol             queue", "endpoint             inbox", "filterTag            a, b", "bindingKey           (none)",
		"notifyStrategy       EXPONENTIAL_DECAY_RETRY", "notifyContentFormat  SIMPLIFIED", "topicOwner           ns-a", "undeliverableCount   0"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("get: no %q in\n%s", want, r.stdout)
		}
	}
	r = s.cmqctl(t, "", "sub", "set", "news", "toq", "--strategy", "BACKOFF_RETRY", "--tag", "c").mustOK(t)
	if r.stdout != "updated subscription toq on topic news\n" {
		t.Fatalf("set: %q", r.stdout)
	}
	s.cmqctl(t, "", "sub", "set", "news", "toq").mustFail(t, exitUsage, "at least one of")
	s.cmqctl(t, "", "sub", "set", "keys", "k", "--binding-key", "#").mustOK(t)
	r = s.cmqctl(t, "", "--json", "sub", "get", "news", "toq").mustOK(t)
	var info map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || info["notifyStrategy"] != "BACKOFF_RETRY" || len(info["filterTag"].([]any)) != 1 {
		t.Fatalf("get --json after set: %s %v", r.stdout, err)
	}
	if r = s.cmqctl(t, "", "sub", "get", "keys", "k").mustOK(t); !strings.Contains(r.stdout, "bindingKey           #\n") {
		t.Fatalf("get keys: %s", r.stdout)
	}

	r = s.cmqctl(t, "", "sub", "clear-tags", "news", "toq").mustOK(t)
	if r.stdout != "cleared the filter tags of subscription toq on topic news\n" {
		t.Fatalf("clear-tags: %q", r.stdout)
	}
	if r = s.cmqctl(t, "", "sub", "get", "news", "toq").mustOK(t); !strings.Contains(r.stdout, "filterTag            (none)") {
		t.Fatalf("get after clear-tags: %s", r.stdout)
	}
	r = s.cmqctl(t, "", "sub", "delete", "news", "web").mustOK(t)
	if r.stdout != "deleted subscription web on topic news\n" {
		t.Fatalf("delete: %q", r.stdout)
	}
	s.cmqctl(t, "", "sub", "delete", "news", "web").mustFail(t, exitFail, "Unsubscribe failed: CMQ error code 4440")
	s.cmqctl(t, "", "sub", "get", "news", "web").mustFail(t, exitFail, "code 4440")
	s.cmqctlAs(t, 1, "", "sub", "list", "news").mustFail(t, exitFail, "code 4440")
	s.cmqctl(t, "", "sub", "frob").mustFail(t, exitUsage, "unknown sub subcommand")
	s.cmqctl(t, "", "sub").mustFail(t, exitUsage, "sub <create|list")
}
