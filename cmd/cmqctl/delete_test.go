package main

import (
	"strings"
	"testing"
)

func TestDeleteByHandle(t *testing.T) {
	s := startServer(t)
	s.cmqctl(t, "", "queue", "create", "q").mustOK(t)
	s.cmqctl(t, "", "send", "q", "one", "two", "three").mustOK(t)

	r := s.cmqctl(t, "", "receive", "q", "--num", "3", "--wait", "0").mustOK(t)
	hs := handles(r.stdout)
	if len(hs) != 3 {
		t.Fatalf("handles: %q", hs)
	}
	r = s.cmqctl(t, "", "delete", "q", hs[0]).mustOK(t)
	if r.stdout != "deleted "+hs[0]+"\n" {
		t.Fatalf("delete: %q", r.stdout)
	}
	// Again: the handle is spent.
	s.cmqctl(t, "", "delete", "q", hs[0]).mustFail(t, exitFail, "DeleteMessage failed: CMQ error code 4430")
	// Batch: one good, one spent, one good → partial failure, exit 1, the good ones deleted.
	r = s.cmqctl(t, "", "delete", "q", hs[1], hs[0], hs[2]).mustFail(t, exitFail, "code 4430", "1 of 3 message(s) not deleted")
	if !strings.Contains(r.stdout, "deleted "+hs[1]) || !strings.Contains(r.stdout, "deleted "+hs[2]) {
		t.Fatalf("batch delete stdout: %s", r.stdout)
	}
	r = s.cmqctl(t, "", "--json", "queue", "get", "q").mustOK(t)
	if !strings.Contains(r.stdout, `"activeMsgNum":0`) || !strings.Contains(r.stdout, `"inactiveMsgNum":0`) {
		t.Fatalf("messages left: %s", r.stdout)
	}
	s.cmqctl(t, "", "delete", "q").mustFail(t, exitUsage, "wrong number of arguments")
	s.cmqctl(t, "", "delete", "q", "not-a-handle").mustFail(t, exitFail, "code 4430")
}
