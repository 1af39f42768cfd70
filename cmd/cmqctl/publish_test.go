package main

import (
	"strconv"
	"strings"
	"testing"
)

// receiveAll receives (and deletes) everything in queue q through cmqctl and returns the
// bodies found in the output.
func receiveAll(t *testing.T, s *testServer, q string, bodies ...string) {
	t.Helper()
	r := s.cmqctl(t, "", "receive", q, "--num", "16", "--wait", "0", "--delete").mustOK(t)
	for _, b := range bodies {
		if !strings.Contains(r.stdout, b) {
			t.Fatalf("queue %s: no %q in\n%s", q, b, r.stdout)
		}
	}
	if got := len(handles(r.stdout)); got != len(bodies) {
		t.Fatalf("queue %s: %d messages, want %d:\n%s", q, got, len(bodies), r.stdout)
	}
}

func TestPublish(t *testing.T) {
	s := startServer(t)
	for _, q := range []string{"all", "red", "eu"} {
		s.cmqctl(t, "", "queue", "create", q).mustOK(t)
	}
	s.cmqctl(t, "", "topic", "create", "news").mustOK(t)
	s.cmqctl(t, "", "topic", "create", "orders", "--routing").mustOK(t)
	s.cmqctl(t, "", "sub", "create", "news", "all", "all").mustOK(t)
	s.cmqctl(t, "", "sub", "create", "news", "red", "red", "--tag", "red").mustOK(t)
	s.cmqctl(t, "", "sub", "create", "orders", "eu", "eu", "--binding-key", "order.eu.*").mustOK(t)

	r := s.cmqctl(t, "", "publish", "news", "plain").mustOK(t)
	if !strings.HasPrefix(r.stdout, "published msgId ") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("publish: %q", r.stdout)
	}
	s.cmqctl(t, "", "publish", "news", "tagged", "--tag", "red", "--tag", "blue").mustOK(t)
	s.cmqctl(t, "", "publish", "news", "--tag", "green,blue", "not red").mustOK(t)
	// 18 bodies with a tag: one batch of 16 and one of 2.
	args := []string{"publish", "news", "--tag", "red"}
	for i := 0; i < 18; i++ {
		args = append(args, "b"+strconv.Itoa(i))
	}
	if r = s.cmqctl(t, "", args...).mustOK(t); strings.Count(r.stdout, "published msgId ") != 18 {
		t.Fatalf("batch publish: %q", r.stdout)
	}
	s.cmqctl(t, "l1\nl2\n", "publish", "news", "--lines").mustOK(t)
	s.cmqctl(t, "", "publish", "orders", "eu order", "--routing-key", "order.eu.created").mustOK(t)
	s.cmqctl(t, "", "publish", "orders", "us order", "--routing-key", "order.us.created").mustOK(t)

	s.cmqctl(t, "", "publish", "news").mustFail(t, exitUsage, "no message")
	s.cmqctl(t, "", "publish", "news", "x", "--tag", "a,b,c,d,e,f").mustFail(t, exitFail, "PublishMessage failed: CMQ error code 4000", "too many msgTag")
	s.cmqctl(t, "", "publish", "orders", "x", "--routing-key", "a.*").mustFail(t, exitFail, "routingKey format error")
	s.cmqctl(t, "", "publish", "nosuch", "x").mustFail(t, exitFail, "code 4440")
	s.cmqctlAs(t, 1, "", "publish", "news", "x").mustFail(t, exitFail, "code 4440")

	receiveAll(t, s, "red", append([]string{"tagged"}, seq("b", 15)...)...)
	receiveAll(t, s, "red", "b15", "b16", "b17")
	receiveAll(t, s, "eu", "eu order")
	receiveAll(t, s, "all", "plain", "tagged", "not red", "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10", "b11", "b12")
	receiveAll(t, s, "all", "b13", "b14", "b15", "b16", "b17", "l1", "l2")
}

func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + strconv.Itoa(i)
	}
	return out
}
