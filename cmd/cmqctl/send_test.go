package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

func TestSend(t *testing.T) {
	s := startServer(t)
	s.cmqctl(t, "", "queue", "create", "q").mustOK(t)

	r := s.cmqctl(t, "", "send", "q", "hello world").mustOK(t)
	if !strings.HasPrefix(r.stdout, "sent msgId ") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("send: %q", r.stdout)
	}
	// 20 bodies: one batch of 16, one of 4.
	args := []string{"send", "q"}
	for i := 0; i < 20; i++ {
		args = append(args, "b"+strconv.Itoa(i))
	}
	r = s.cmqctl(t, "", args...).mustOK(t)
	if strings.Count(r.stdout, "sent msgId ") != 20 {
		t.Fatalf("batch send: %q", r.stdout)
	}
	// stdin: whole input as one message, or one per line.
	s.cmqctl(t, "line one\nline two\n", "send", "q").mustOK(t)
	r = s.cmqctl(t, "l1\n\nl2\r\nl3", "send", "q", "--lines").mustOK(t)
	if strings.Count(r.stdout, "sent msgId ") != 3 {
		t.Fatalf("--lines: %q", r.stdout)
	}
	s.cmqctl(t, "", "send", "q").mustFail(t, exitUsage, "no message")
	// A body starting with '-' after "--".
	s.cmqctl(t, "", "send", "q", "--", "-dash").mustOK(t)
	// delayed: not visible now.
	s.cmqctl(t, "", "send", "q", "later", "--delay", "60").mustOK(t)

	r = s.cmqctl(t, "", "--json", "queue", "get", "q").mustOK(t)
	var info struct{ ActiveMsgNum, DelayMsgNum int }
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || info.ActiveMsgNum != 1+20+1+3+1 || info.DelayMsgNum != 1 {
		t.Fatalf("counts: %s (%v)", r.stdout, err)
	}
	r = s.cmqctl(t, "", "send", "q", "x", "--json").mustOK(t)
	var resp struct {
		Code  int    `json:"code"`
		MsgID string `json:"msgId"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil || resp.Code != 0 || resp.MsgID == "" {
		t.Fatalf("--json: %q %v", r.stdout, err)
	}
	s.cmqctl(t, "", "send", "nope", "x").mustFail(t, exitFail, "SendMessage failed: CMQ error code 4440")
	s.cmqctl(t, "", "send", "nope", "x", "y").mustFail(t, exitFail, "BatchSendMessage failed: CMQ error code 4440")
}
