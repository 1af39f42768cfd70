package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeAdmin is a stand-in for cmqd's admin endpoints: it records requests and answers with
// canned responses.
type fakeAdmin struct {
	mu   sync.Mutex
	seen []*http.Request
	srv  *httptest.Server
}

func newFakeAdmin(t *testing.T, answer func(r *http.Request) (status int, contentType, body string)) *fakeAdmin {
	f := &fakeAdmin{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, r.Clone(context.Background()))
		f.mu.Unlock()
		status, ct, body := answer(r)
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAdmin) last() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[len(f.seen)-1]
}

const statusJSON = `{"id":2,"role":"follower","term":7,"leader":1,"commit":120,"applied":119,"peers":[{"id":1,"addr":"10.0.0.1:7946"},{"id":2,"addr":"10.0.0.2:7946"},{"id":3,"addr":"10.0.0.3:7946"}],"ready":false}`

func TestClusterStatus(t *testing.T) {
	f := newFakeAdmin(t, func(r *http.Request) (int, string, string) {
		return 200, "application/json", statusJSON + "\n"
	})
	c, err := NewAdmin(f.srv.URL+"/v2/index.php", "tok-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var hooked []string
	ctx := WithResponseHook(context.Background(), func(action string, body []byte) { hooked = append(hooked, action+" "+string(body)) })
	st, err := c.ClusterStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := ClusterStatus{ID: 2, Role: "follower", Term: 7, Leader: 1, Commit: 120, Applied: 119, Ready: false,
		Peers: []ClusterPeer{{1, "10.0.0.1:7946"}, {2, "10.0.0.2:7946"}, {3, "10.0.0.3:7946"}}}
	if st.ID != want.ID || st.Role != want.Role || st.Term != want.Term || st.Leader != want.Leader || st.Commit != want.Commit ||
		st.Applied != want.Applied || st.Ready || len(st.Peers) != 3 || st.Peers[2] != want.Peers[2] {
		t.Fatalf("status %+v", st)
	}
	if st.PeerAddr(1) != "10.0.0.1:7946" || st.PeerAddr(9) != "" {
		t.Fatal("PeerAddr")
	}
	r := f.last()
	// The admin path ignores the endpoint's CMQ path; the token travels in its header.
	if r.Method != http.MethodGet || r.URL.Path != "/cluster/status" || r.Header.Get(AdminTokenHeader) != "tok-0123456789abcdef" {
		t.Fatalf("request %s %s %v", r.Method, r.URL, r.Header)
	}
	if len(hooked) != 1 || hooked[0] != "ClusterStatus "+statusJSON {
		t.Fatalf("hook saw %q", hooked)
	}
	// An admin client has no CMQ credentials: CMQ actions fail before sending anything.
	if _, err := c.ListQueue(context.Background(), ListOptions{}); err == nil || !strings.Contains(err.Error(), "NewAdmin") {
		t.Fatalf("CMQ action on an admin client: %v", err)
	}
	// No token: no header.
	c2, _ := NewAdmin(f.srv.URL, "")
	defer c2.Close()
	if _, err := c2.ClusterStatus(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.last().Header[http.CanonicalHeaderKey(AdminTokenHeader)]; ok {
		t.Fatal("empty token sent")
	}
}

func TestClusterAddRemoveAndErrors(t *testing.T) {
	f := newFakeAdmin(t, func(r *http.Request) (int, string, string) {
		q := r.URL.Query()
		switch {
		case r.URL.Path == "/cluster/add" && q.Get("id") == "4" && q.Get("addr") == "10.0.0.4:7946":
			return 200, "application/json", `{"ok":true,"id":4,"addr":"10.0.0.4:7946"}`
		case r.URL.Path == "/cluster/add" && q.Get("id") == "2":
			return 409, "application/json", `{"error":"id_reused","message":"node id 2 belonged to a removed node"}`
		case r.URL.Path == "/cluster/remove" && q.Get("id") == "3":
			return 200, "application/json", `{"ok":true,"id":3}`
		case r.URL.Path == "/cluster/remove" && q.Get("id") == "5":
			return 409, "application/json", `{"error":"not_leader","message":"node 2 is not the leader","leader":1,"leaderAddr":"10.0.0.1:7946"}`
		case r.URL.Path == "/cluster/remove" && q.Get("id") == "6":
			return 502, "text/html", "<html>bad gateway</html>"
		}
		return 400, "application/json", `{"error":"bad_request","message":"unexpected"}`
	})
	c, err := NewAdmin(f.srv.URL, "tok-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.ClusterAdd(ctx, 4, "10.0.0.4:7946"); err != nil {
		t.Fatal(err)
	}
	if r := f.last(); r.Method != http.MethodPost || r.Header.Get(AdminTokenHeader) != "tok-0123456789abcdef" {
		t.Fatalf("add request %s %v", r.Method, r.Header)
	}
	err = c.ClusterAdd(ctx, 2, "10.0.0.9:7946")
	var ae *AdminError
	if !errors.As(err, &ae) || ae.StatusCode != 409 || ae.Code != AdminIDReused || AdminCodeOf(err) != AdminIDReused ||
		!strings.Contains(err.Error(), "HTTP 409 id_reused: node id 2") {
		t.Fatalf("re-add: %v", err)
	}
	if _, _, ok := NotLeader(err); ok {
		t.Fatal("id_reused taken for not_leader")
	}
	if err := c.ClusterRemove(ctx, 3); err != nil {
		t.Fatal(err)
	}
	err = c.ClusterRemove(ctx, 5)
	if leader, addr, ok := NotLeader(err); !ok || leader != 1 || addr != "10.0.0.1:7946" {
		t.Fatalf("not leader: %v", err)
	}
	// Not cmqd's JSON (a proxy's page): the status and the start of the body.
	err = c.ClusterRemove(ctx, 6)
	if !errors.As(err, &ae) || ae.StatusCode != 502 || ae.Code != "" || !strings.Contains(err.Error(), "bad gateway") {
		t.Fatalf("proxy error: %v", err)
	}
	if AdminCodeOf(errors.New("x")) != "" {
		t.Fatal("AdminCodeOf of a plain error")
	}
}

func TestClusterStatusFromAServerWithoutAdminEndpoints(t *testing.T) {
	// A cmqd without the admin endpoints answers every path as a CMQ action.
	f := newFakeAdmin(t, func(r *http.Request) (int, string, string) {
		return 200, "application/json", `{"code":4000,"message":"(10000)invalid parameters","requestId":"r"}`
	})
	c, _ := NewAdmin(f.srv.URL, "")
	defer c.Close()
	if _, err := c.ClusterStatus(context.Background()); err == nil || !strings.Contains(err.Error(), "not a cluster status") {
		t.Fatalf("got %v", err)
	}
}

func TestWithAdminTokenOnACMQClient(t *testing.T) {
	f := newFakeAdmin(t, func(r *http.Request) (int, string, string) { return 200, "application/json", statusJSON })
	c, err := New(f.srv.URL, testID, testKey, WithAdminToken("tok-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ClusterStatus(context.Background()); err != nil || f.last().Header.Get(AdminTokenHeader) != "tok-0123456789abcdef" {
		t.Fatalf("%v %v", err, f.last().Header)
	}
	// The credential check of New stays.
	if _, err := New(f.srv.URL, "", "k"); err == nil {
		t.Fatal("New without a secret id accepted")
	}
}
