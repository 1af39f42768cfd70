package main

import (
	"encoding/json"
	"testing"
)

func TestCall(t *testing.T) {
	s := startServer(t)
	s.cmqctl(t, "", "call", "CreateQueue", "queueName=dlq").mustOK(t)
	s.cmqctl(t, "", "call", "CreateQueue", "queueName=src", `deadLetterPolicy={"deadLetterQueue":"dlq","policy":0,"maxReceiveCount":3}`).mustOK(t)
	r := s.cmqctl(t, "", "call", "ListDeadLetterSourceQueues", "deadLetterQueueName=dlq").mustOK(t)
	var resp struct {
		Code      int `json:"code"`
		QueueList []struct {
			QueueName string `json:"queueName"`
		} `json:"queueList"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil || len(resp.QueueList) != 1 || resp.QueueList[0].QueueName != "src" {
		t.Fatalf("call: %q %v", r.stdout, err)
	}
	// An API error still prints the JSON, and exits 1.
	r = s.cmqctl(t, "", "call", "GetQueueAttributes", "queueName=nope").mustFail(t, exitFail, "code 4440")
	if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil || resp.Code != 4440 {
		t.Fatalf("error JSON: %q", r.stdout)
	}
	s.cmqctl(t, "", "call", "ListQueue", "bogus").mustFail(t, exitUsage, "not name=value")
}
