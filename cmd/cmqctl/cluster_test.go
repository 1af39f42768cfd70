package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/opencmq/opencmq/httpapi/client"
)

const ctlTestToken = "admin-token-0123456789abcdef"

// fakeCluster answers cmqd's admin endpoints like a follower (node 2) or the leader (node 1).
type fakeCluster struct {
	mu      sync.Mutex
	leader  bool
	members map[uint64]string
	removed map[uint64]bool
	srv     *httptest.Server
}

func newFakeCluster(t *testing.T) *fakeCluster {
	f := &fakeCluster{leader: true, members: map[uint64]string{1: "127.0.0.1:7001", 2: "127.0.0.1:7002", 3: "127.0.0.1:7003"}, removed: map[uint64]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeCluster) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	reply := func(status int, body string) { w.WriteHeader(status); w.Write([]byte(body)) }
	if r.Method == http.MethodPost && r.Header.Get(client.AdminTokenHeader) != ctlTestToken {
		reply(401, `{"error":"unauthorized","message":"missing or wrong X-Opencmq-Admin-Token header"}`)
		return
	}
	id := r.URL.Query().Get("id")
	switch r.URL.Path {
	case "/cluster/status":
		role, self := "follower", "2"
		if f.leader {
			role, self = "leader", "1"
		}
		var peers []string
		for _, pid := range []uint64{1, 2, 3, 4, 5} {
			if addr, ok := f.members[pid]; ok {
				peers = append(peers, `{"id":`+itoa(pid)+`,"addr":"`+addr+`"}`)
			}
		}
		reply(200, `{"id":`+self+`,"role":"`+role+`","term":3,"leader":1,"commit":42,"applied":42,"peers":[`+strings.Join(peers, ",")+`],"ready":true}`)
	case "/cluster/add", "/cluster/remove":
		if !f.leader {
			reply(409, `{"error":"not_leader","message":"node 2 is not the leader","leader":1,"leaderAddr":"127.0.0.1:7001"}`)
			return
		}
		n := uint64(0)
		for _, c := range id {
			n = n*10 + uint64(c-'0')
		}
		if r.URL.Path == "/cluster/add" {
			if f.removed[n] {
				reply(409, `{"error":"id_reused","message":"node id `+id+` belonged to a removed node; ids are never reused: pick a new id"}`)
				return
			}
			f.members[n] = r.URL.Query().Get("addr")
		} else {
			delete(f.members, n)
			f.removed[n] = true
		}
		reply(200, `{"ok":true}`)
	default:
		reply(404, `{"error":"not_found","message":"no"}`)
	}
}

func itoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func TestClusterCommands(t *testing.T) {
	f := newFakeCluster(t)
	vars := map[string]string{"CMQ_ENDPOINT": f.srv.URL, "CMQ_ADMIN_TOKEN": ctlTestToken}
	getenv := func(k string) string { return vars[k] }

	r := runWith(t, "", getenv, "cluster", "status").mustOK(t)
	for _, want := range []string{"node 1: leader, term 3, ready", "leader   1 (127.0.0.1:7001)", "commit   42", "applied  42",
		"ID  RAFT ADDRESS", "1   127.0.0.1:7001  leader, this node", "3   127.0.0.1:7003"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runWith(t, "", getenv, "--json", "cluster", "status").mustOK(t)
	if !strings.HasPrefix(r.stdout, `{"id":1,"role":"leader"`) || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("--json status: %q", r.stdout)
	}
	r = runWith(t, "", getenv, "cluster", "add", "--id", "4", "--addr", "127.0.0.1:7004").mustOK(t)
	if !strings.Contains(r.stdout, "added node 4") ||
		!strings.Contains(r.stdout, "cmqd --node-id 4 --raft-listen 127.0.0.1:7004 --join --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003,4=127.0.0.1:7004 --data") {
		t.Fatalf("add: %q", r.stdout)
	}
	r = runWith(t, "", getenv, "cluster", "remove", "--id", "2").mustOK(t)
	if !strings.Contains(r.stdout, "removed node 2") {
		t.Fatalf("remove: %q", r.stdout)
	}
	runWith(t, "", getenv, "cluster", "add", "--id", "2", "--addr", "127.0.0.1:7012").mustFail(t, exitFail, "id_reused", "ids are never reused")
	// The token: from the flag, which wins over the environment; a wrong one is refused.
	runWith(t, "", getenv, "cluster", "remove", "--id", "3", "--admin-token", "wrong-token-wrong").mustFail(t, exitFail, "HTTP 401 unauthorized")
	runWith(t, "", func(k string) string {
		if k == "CMQ_ADMIN_TOKEN" {
			return ""
		}
		return vars[k]
	}, "--admin-token", ctlTestToken, "cluster", "remove", "--id", "3").mustOK(t)
	// A follower names the leader.
	f.mu.Lock()
	f.leader = false
	f.mu.Unlock()
	runWith(t, "", getenv, "cluster", "add", "--id", "5", "--addr", "127.0.0.1:7005").mustFail(t, exitFail, "not_leader", "point --endpoint at node 1")
	r = runWith(t, "", getenv, "cluster", "status").mustOK(t)
	if !strings.Contains(r.stdout, "node 2: follower") || !strings.Contains(r.stdout, "1   127.0.0.1:7001  leader\n") {
		t.Fatalf("follower status:\n%s", r.stdout)
	}
	// Usage errors.
	runWith(t, "", getenv, "cluster").mustFail(t, exitUsage, "want a subcommand")
	runWith(t, "", getenv, "cluster", "frob").mustFail(t, exitUsage, `unknown subcommand "frob"`)
	runWith(t, "", getenv, "cluster", "add", "--id", "5").mustFail(t, exitUsage, "--id and --addr are required")
	runWith(t, "", getenv, "cluster", "remove").mustFail(t, exitUsage, "--id is required")
	runWith(t, "", getenv, "cluster", "status", "extra").mustFail(t, exitUsage, "wrong number of arguments")
	if r := runWith(t, "", getenv, "cluster", "--help").mustOK(t); !strings.Contains(r.stdout, "cluster add --id N --addr HOST:PORT") {
		t.Fatalf("cluster --help: %q", r.stdout)
	}
	if r := runWith(t, "", getenv, "cluster", "add", "--help").mustOK(t); !strings.Contains(r.stdout, "-addr") {
		t.Fatalf("cluster add --help: %q", r.stdout)
	}
	// No CMQ credentials needed.
	if r := runWith(t, "", noEnv, "--help"); !strings.Contains(r.stdout, "cluster") || !strings.Contains(r.stdout, "CMQ_ADMIN_TOKEN") {
		t.Fatalf("top usage: %s", r.stdout)
	}
}
