package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencmq/opencmq/httpapi/client"
	"github.com/opencmq/opencmq/replication"
	"github.com/valyala/fasthttp"
)

func TestParsePeers(t *testing.T) {
	ps, err := parsePeers(" 3=10.0.0.3:7946, 1=10.0.0.1:7946,2=[::1]:7000 ,")
	if err != nil {
		t.Fatal(err)
	}
	if got := formatPeers(ps); got != "1=10.0.0.1:7946,2=[::1]:7000,3=10.0.0.3:7946" {
		t.Fatalf("parsed %s", got)
	}
	for _, bad := range []string{"", ",", "1", "0=a:1", "x=a:1", "1=a", "1=:1", "1=a:0", "1=a:99999", "1=a:1,1=b:2", "1=a:1,2=a:1"} {
		if _, err := parsePeers(bad); err == nil {
			t.Errorf("parsePeers(%q) accepted", bad)
		}
	}
}

func TestParseFlagsCluster(t *testing.T) {
	c, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.nodeID != 1 || c.raftListen != "127.0.0.1:7946" || c.peers != nil || c.join || c.tick != 100*time.Millisecond || c.adminToken != "" {
		t.Fatalf("cluster defaults: %+v", c)
	}
	c, err = parseFlags([]string{"--node-id", "2", "--raft-listen", "127.0.0.1:7002", "--peers", "1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003", "--tick", "20ms"}, &bytes.Buffer{})
	if err != nil || c.nodeID != 2 || len(c.peers) != 3 || c.tick != 20*time.Millisecond {
		t.Fatalf("%+v %v", c, err)
	}
	if c, err = parseFlags([]string{"--node-id", "4", "--join", "--peers", "1=127.0.0.1:7001,2=127.0.0.1:7002"}, &bytes.Buffer{}); err != nil || !c.join || len(c.peers) != 2 {
		t.Fatalf("join: %+v %v", c, err)
	}
	for _, args := range [][]string{
		{"--node-id", "0"},
		{"--tick", "0s"},
		{"--raft-listen", "nope"},
		{"--peers", "2=a:1,3=b:2"}, // without this node (1)
		{"--join"},                 // without the members to reach
		{"--peers", "1=a"},
		{"--admin-token", "short"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

func TestHelpDocumentsCluster(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--help"}, &out, &errOut, nil); code != exitOK {
		t.Fatalf("--help: %d", code)
	}
	for _, want := range []string{"-node-id", "-raft-listen", "-peers", "-join", "-tick", "-admin-token",
		"/cluster/status", "/cluster/add", "X-Opencmq-Admin-Token", "<data>/raft/", "<data>/admin-token", "/readyz"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("--help does not document %s", want)
		}
	}
}

func TestCheckNodeID(t *testing.T) {
	dir := t.TempDir()
	if err := checkNodeID(dir, 3); err != nil {
		t.Fatal(err)
	}
	if err := checkNodeID(dir, 3); err != nil {
		t.Fatalf("same id again: %v", err)
	}
	if err := checkNodeID(dir, 4); err == nil || !strings.Contains(err.Error(), "belongs to node 3") {
		t.Fatalf("another id: %v", err)
	}
}

func TestCheckLayoutRefusesStandaloneData(t *testing.T) {
	dir := t.TempDir()
	if err := checkLayout(dir); err != nil {
		t.Fatalf("empty: %v", err)
	}
	os.MkdirAll(filepath.Join(dir, engineDirName, "journal"), 0o755)
	if err := checkLayout(dir); err == nil || !strings.Contains(err.Error(), "standalone") {
		t.Fatalf("standalone layout: %v", err)
	}
	os.MkdirAll(filepath.Join(dir, raftDirName), 0o755)
	if err := checkLayout(dir); err != nil {
		t.Fatalf("with a raft dir: %v", err)
	}
}

func TestAdminTokenCreatedOnceThenReused(t *testing.T) {
	dir := t.TempDir()
	tok, src, path, err := loadOrCreateAdminToken("", dir)
	if err != nil || src != tokenCreated || len(tok) != 40 || !secretKeyRE.MatchString(tok[:32]) {
		t.Fatalf("first: %q %v %v", tok, src, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 || path != filepath.Join(dir, adminTokenFileName) {
		t.Fatalf("file %s: %v %v", path, st, err)
	}
	again, src, _, err := loadOrCreateAdminToken("", dir)
	if err != nil || src != tokenFromDataDir || again != tok {
		t.Fatalf("second: %q %v %v", again, src, err)
	}
	flagTok, src, _, err := loadOrCreateAdminToken("from-the-flag-0123456789", dir)
	if err != nil || src != tokenFromFlag || flagTok != "from-the-flag-0123456789" {
		t.Fatalf("flag: %q %v %v", flagTok, src, err)
	}
	os.WriteFile(path, []byte("\n"), 0o600)
	if _, _, _, err := loadOrCreateAdminToken("", dir); err == nil {
		t.Fatal("an empty token file accepted")
	}
	var out bytes.Buffer
	printAdminToken(&out, tok, path, "http://127.0.0.1:8080")
	if !strings.Contains(out.String(), "CMQ_ADMIN_TOKEN="+tok) || !strings.Contains(out.String(), "cmqctl cluster status") {
		t.Fatalf("printed:\n%s", out.String())
	}
}

// fakeNode is a clusterNode for the admin endpoint tests.
type fakeNode struct {
	mu      sync.Mutex
	st      replication.Status
	removed map[uint64]bool
	addErr  error
}

func (f *fakeNode) Status() replication.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.st
	s.Peers = append([]replication.Peer(nil), f.st.Peers...)
	return s
}
func (f *fakeNode) Ready() bool    { return f.Status().Leader != 0 }
func (f *fakeNode) IsLeader() bool { return f.Status().Role == "leader" }
func (f *fakeNode) AddNode(ctx context.Context, p replication.Peer) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.addErr != nil {
		return f.addErr
	}
	if f.removed[p.ID] {
		return replication.ErrIDReused
	}
	f.st.Peers = append(f.st.Peers, p)
	return nil
}
func (f *fakeNode) RemoveNode(ctx context.Context, id uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, p := range f.st.Peers {
		if p.ID == id {
			f.st.Peers = append(f.st.Peers[:i], f.st.Peers[i+1:]...)
			f.removed[id] = true
			return nil
		}
	}
	return replication.ErrNotMember
}

const testAdminToken = "admin-token-for-tests-0123456789"

// serveAdmin serves the admin endpoints in front of a stand-in CMQ handler on a free port.
func serveAdmin(t *testing.T, a *adminAPI) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: a.wrap(func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"code":4100,"message":"cmq api"}`)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

func TestAdminEndpoints(t *testing.T) {
	node := &fakeNode{removed: map[uint64]bool{}, st: replication.Status{ID: 1, Role: "leader", Term: 4, Leader: 1, Commit: 10, Applied: 10,
		Peers: []replication.Peer{{ID: 1, Addr: "127.0.0.1:7001"}, {ID: 2, Addr: "127.0.0.1:7002"}, {ID: 3, Addr: "127.0.0.1:7003"}}}}
	a := &adminAPI{token: testAdminToken, openStatus: true, log: slog.New(slog.NewTextHandler(io.Discard, nil)), changeTimeout: time.Second}
	endpoint := serveAdmin(t, a)
	ctx := context.Background()
	admin := func(tok string) *client.Client {
		c, err := client.NewAdmin(endpoint, tok)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	open, authed := admin(""), admin(testAdminToken)

	// Before the node runs: 503 "starting".
	if _, err := authed.ClusterStatus(ctx); client.AdminCodeOf(err) != client.AdminStarting {
		t.Fatalf("status before start: %v", err)
	}
	a.setNode(node)
	// The digest needs the engine too.
	if _, err := open.ClusterDigest(ctx); client.AdminCodeOf(err) != client.AdminStarting {
		t.Fatalf("digest without an engine: %v", err)
	}
	a.setEngine(fakeDigester{applied: 10, digest: 0xabc})
	if d, err := open.ClusterDigest(ctx); err != nil || d.ID != 1 || d.Applied != 10 || d.Digest != "0000000000000abc" {
		t.Fatalf("digest: %+v %v", d, err)
	}
	a.setEngine(fakeDigester{err: errors.New("read failed")})
	if _, err := open.ClusterDigest(ctx); client.AdminCodeOf(err) != client.AdminInternal {
		t.Fatalf("digest error: %v", err)
	}
	// Status: open on loopback, JSON of the node's Status plus ready.
	st, err := open.ClusterStatus(ctx)
	if err != nil || st.ID != 1 || st.Role != "leader" || st.Term != 4 || st.Commit != 10 || len(st.Peers) != 3 || !st.Ready || st.PeerAddr(2) != "127.0.0.1:7002" {
		t.Fatalf("status: %+v %v", st, err)
	}
	// Changes need the token.
	if err := open.ClusterAdd(ctx, 4, "127.0.0.1:7004"); client.AdminCodeOf(err) != client.AdminUnauthorized {
		t.Fatalf("add without token: %v", err)
	}
	if err := admin("wrong-token-wrong-token").ClusterRemove(ctx, 2); client.AdminCodeOf(err) != client.AdminUnauthorized {
		t.Fatalf("remove with a wrong token: %v", err)
	}
	// Add, remove, refusals.
	if err := authed.ClusterAdd(ctx, 4, "127.0.0.1:7004"); err != nil {
		t.Fatal(err)
	}
	if err := authed.ClusterAdd(ctx, 4, "127.0.0.1:7005"); client.AdminCodeOf(err) != client.AdminAlreadyMember {
		t.Fatalf("add a member again: %v", err)
	}
	if err := authed.ClusterAdd(ctx, 5, "127.0.0.1:7004"); client.AdminCodeOf(err) != client.AdminAlreadyMember {
		t.Fatalf("add a member's address: %v", err)
	}
	if err := authed.ClusterAdd(ctx, 5, "nope"); client.AdminCodeOf(err) != client.AdminBadRequest {
		t.Fatalf("bad address: %v", err)
	}
	if err := authed.ClusterRemove(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := authed.ClusterAdd(ctx, 2, "127.0.0.1:7012"); client.AdminCodeOf(err) != client.AdminIDReused {
		t.Fatalf("re-add a removed id: %v", err)
	}
	if err := authed.ClusterRemove(ctx, 9); client.AdminCodeOf(err) != client.AdminNotMember {
		t.Fatalf("remove a stranger: %v", err)
	}
	if err := authed.ClusterRemove(ctx, 1); client.AdminCodeOf(err) != client.AdminRemoveLeader {
		t.Fatalf("remove the leader: %v", err)
	}
	node.mu.Lock()
	node.addErr = context.DeadlineExceeded
	node.mu.Unlock()
	if err := authed.ClusterAdd(ctx, 6, "127.0.0.1:7006"); client.AdminCodeOf(err) != client.AdminTimeout {
		t.Fatalf("timeout: %v", err)
	}
	node.mu.Lock()
	node.addErr = errors.New("raft: proposal dropped")
	node.mu.Unlock()
	if err := authed.ClusterAdd(ctx, 6, "127.0.0.1:7006"); client.AdminCodeOf(err) != client.AdminInternal {
		t.Fatalf("dropped: %v", err)
	}
	if st, _ := open.ClusterStatus(ctx); len(st.Peers) != 3 || st.PeerAddr(4) == "" || st.PeerAddr(2) != "" {
		t.Fatalf("members after the changes: %+v", st.Peers)
	}
	// A follower refuses changes and names the leader.
	node.mu.Lock()
	node.st.Role, node.st.Leader = "follower", 3
	node.mu.Unlock()
	err = authed.ClusterAdd(ctx, 7, "127.0.0.1:7007")
	if leader, addr, ok := client.NotLeader(err); !ok || leader != 3 || addr != "127.0.0.1:7003" {
		t.Fatalf("follower add: %v", err)
	}
	var ae *client.AdminError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusConflict {
		t.Fatalf("follower add status: %v", err)
	}
	if _, _, ok := client.NotLeader(authed.ClusterRemove(ctx, 3)); !ok {
		t.Fatal("follower remove accepted")
	}

	// Raw HTTP: methods, unknown paths, and the CMQ API still answering other paths.
	for _, c := range []struct {
		method, path string
		status       int
		contains     string
	}{
		{"POST", "/cluster/status", 405, "method_not_allowed"},
		{"POST", "/cluster/digest", 405, "method_not_allowed"},
		{"GET", "/cluster/add?id=9&addr=a:1", 405, "method_not_allowed"},
		{"GET", "/cluster/nope", 404, "not_found"},
		{"GET", "/cluster", 404, "not_found"},
		{"GET", "/clusterx", 200, "cmq api"},
		{"POST", "/v2/index.php", 200, "cmq api"},
	} {
		req, _ := http.NewRequest(c.method, endpoint+c.path, nil)
		req.Header.Set(client.AdminTokenHeader, testAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.contains) {
			t.Errorf("%s %s: %d %s", c.method, c.path, resp.StatusCode, b)
		}
	}
	// Parameters from a form body work too; a missing id is a bad request.
	resp, err := http.Post(endpoint+"/cluster/remove", "application/x-www-form-urlencoded", strings.NewReader("id=abc"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("remove without token: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", endpoint+"/cluster/remove", strings.NewReader("id=abc"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(client.AdminTokenHeader, testAdminToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `parameter id \"abc\"`) {
		t.Fatalf("bad id in a form: %d %s", resp.StatusCode, b)
	}
}

type fakeDigester struct {
	applied, digest uint64
	err             error
}

func (f fakeDigester) StateDigest() (uint64, uint64, error) { return f.applied, f.digest, f.err }

func TestAdminStatusNeedsTokenOffLoopback(t *testing.T) {
	node := &fakeNode{removed: map[uint64]bool{}, st: replication.Status{ID: 1, Role: "leader", Leader: 1}}
	a := &adminAPI{token: testAdminToken, openStatus: false, log: slog.New(slog.NewTextHandler(io.Discard, nil)), changeTimeout: time.Second}
	a.setNode(node)
	endpoint := serveAdmin(t, a)
	c, _ := client.NewAdmin(endpoint, "")
	defer c.Close()
	if _, err := c.ClusterStatus(context.Background()); client.AdminCodeOf(err) != client.AdminUnauthorized {
		t.Fatalf("status without token off loopback: %v", err)
	}
	if _, err := c.ClusterDigest(context.Background()); client.AdminCodeOf(err) != client.AdminUnauthorized {
		t.Fatalf("digest without token off loopback: %v", err)
	}
	c2, _ := client.NewAdmin(endpoint, testAdminToken)
	defer c2.Close()
	if st, err := c2.ClusterStatus(context.Background()); err != nil || st.ID != 1 {
		t.Fatalf("status with token: %+v %v", st, err)
	}
	// Whether a listener is loopback.
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "127.9.9.9:1": true, "[::1]:1": true, "0.0.0.0:1": false, "[::]:1": false, "10.1.2.3:1": false} {
		ta, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := isLoopback(ta); got != want {
			t.Errorf("isLoopback(%s) = %v", addr, got)
		}
	}
}

func TestIsAdminPath(t *testing.T) {
	for p, want := range map[string]bool{"/cluster": true, "/cluster/": true, "/cluster/status": true, "/clusters": false, "/v2/index.php": false, "/": false, "/x/cluster/status": false} {
		if got := isAdminPath([]byte(p)); got != want {
			t.Errorf("isAdminPath(%q) = %v", p, got)
		}
	}
}

func TestNodeReadyNeedsMembership(t *testing.T) {
	n := &fakeNode{removed: map[uint64]bool{}, st: replication.Status{ID: 4, Role: "follower", Leader: 1}}
	if nodeReady(n) {
		t.Fatal("a joining node without the log is ready")
	}
	n.st.Peers = []replication.Peer{{ID: 1, Addr: "a:1"}, {ID: 4, Addr: "a:4"}}
	if !nodeReady(n) {
		t.Fatal("a member that knows the leader is not ready")
	}
	n.st.Leader = 0
	if nodeReady(n) {
		t.Fatal("ready without a leader")
	}
}

// TestStartedTransport checks that peers are connected only once the transport has its
// node, in the order they were added, and that a joining node's seeds are added for the
// ids the node did not add itself.
func TestStartedTransport(t *testing.T) {
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln
	}
	peer2, peer3 := listen(), listen()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	tcp, err := replication.NewTCPTransport("127.0.0.1:0", quiet)
	if err != nil {
		t.Fatal(err)
	}
	st := newStartedTransport(tcp, 1, []replication.Peer{{ID: 1, Addr: tcp.Addr()}, {ID: 2, Addr: peer2.Addr().String()}, {ID: 3, Addr: "127.0.0.1:1"}})
	t.Cleanup(st.Stop)
	// Node 3 is added by the node itself (its address from the log wins over the seed).
	st.AddPeer(3, peer3.Addr().String())
	accepted := func(ln net.Listener, within time.Duration) bool {
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(within))
		c, err := ln.Accept()
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	if accepted(peer3, 200*time.Millisecond) {
		t.Fatal("a peer was dialled before Start")
	}
	node, err := replication.New(replication.Config{ID: 1, Dir: t.TempDir(), Transport: st, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	st.Start(node) // as Node.Start does; the node itself is not started
	if !accepted(peer3, 5*time.Second) {
		t.Fatal("the peer added before Start was not dialled after it")
	}
	if !accepted(peer2, 5*time.Second) {
		t.Fatal("the seed was not dialled")
	}
}
