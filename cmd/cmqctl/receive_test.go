package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestReceive(t *testing.T) {
	s := startServer(t)
	s.cmqctl(t, "", "queue", "create", "q", "--visibility-timeout", "1").mustOK(t)

	r := s.cmqctl(t, "", "receive", "q").mustOK(t)
	if r.stdout != "" || !strings.Contains(r.stderr, "no message") {
		t.Fatalf("empty receive: %+v", r)
	}
	start := time.Now()
	s.cmqctl(t, "", "receive", "q", "--wait", "1").mustOK(t)
	if d := time.Since(start); d < 900*time.Millisecond || d > 5*time.Second {
		t.Fatalf("--wait 1 took %v", d)
	}

	s.cmqctl(t, "", "send", "q", "first message").mustOK(t)
	r = s.cmqctl(t, "", "receive", "q").mustOK(t)
	for _, want := range []string{"msgId", "receiptHandle", "enqueueTime", "dequeueCount      1", "msgBody:\nfirst message\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Fatalf("receive: no %q in\n%s", want, r.stdout)
		}
	}
	if len(handles(r.stdout)) != 1 {
		t.Fatalf("handles in %s", r.stdout)
	}
	// Not deleted: it comes back after the 1 s visibility timeout (long poll waits for it).
	r = s.cmqctl(t, "", "receive", "q", "--wait", "5", "--delete").mustOK(t)
	if !strings.Contains(r.stdout, "dequeueCount      2") || !strings.Contains(r.stderr, "deleted 1 message") {
		t.Fatalf("redelivery: %+v", r)
	}
	// Deleted: gone for good.
	time.Sleep(1100 * time.Millisecond)
	if r = s.cmqctl(t, "", "receive", "q").mustOK(t); r.stdout != "" {
		t.Fatalf("deleted message came back: %s", r.stdout)
	}

	s.cmqctl(t, "", "send", "q", "a", "b", "c").mustOK(t)
	r = s.cmqctl(t, "", "receive", "q", "--num", "16", "--wait", "0", "--delete").mustOK(t)
	if got := len(handles(r.stdout)); got != 3 || !strings.Contains(r.stderr, "deleted 3 messages") {
		t.Fatalf("batch receive got %d: %+v", got, r)
	}
	s.cmqctl(t, "", "send", "q", "j1", "j2").mustOK(t)
	r = s.cmqctl(t, "", "--json", "receive", "q", "--num", "2", "--wait", "0").mustOK(t)
	var resp struct {
		Code        int `json:"code"`
		MsgInfoList []struct {
			MsgBody string `json:"msgBody"`
		} `json:"msgInfoList"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil || resp.Code != 0 || len(resp.MsgInfoList) != 2 {
		t.Fatalf("--json: %q %v", r.stdout, err)
	}

	s.cmqctl(t, "", "receive", "q", "--num", "17").mustFail(t, exitUsage, "--num")
	s.cmqctl(t, "", "receive", "q", "--wait", "31").mustFail(t, exitUsage, "--wait")
	s.cmqctl(t, "", "receive", "missing").mustFail(t, exitFail, "ReceiveMessage failed: CMQ error code 4440")
}
