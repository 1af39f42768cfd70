package main

// Cluster plumbing of cmqd: the --peers list, the node id and admin token files, and the
// admin endpoints (/cluster/status, /cluster/digest, /cluster/add, /cluster/remove) served
// beside the CMQ API.

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/opencmq/opencmq/httpapi/client"
	"github.com/opencmq/opencmq/replication"
	"github.com/valyala/fasthttp"
)

// More of the data directory layout (see datadir.go):
//
//	<data>/raft/         the raft node: raft/ (its log), members.json
//	<data>/node-id       the node id this directory belongs to (refuses a restart with another)
//	<data>/admin-token   the generated admin token (mode 0600), unless --admin-token is given
const (
	raftDirName        = "raft"
	nodeIDFileName     = "node-id"
	adminTokenFileName = "admin-token"
)

// minAdminTokenLen bounds how short an --admin-token may be.
const minAdminTokenLen = 16

// parsePeers parses --peers: "id=host:port,id=host:port,…".
func parsePeers(s string) ([]replication.Peer, error) {
	var peers []replication.Peer
	ids := map[uint64]bool{}
	addrs := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		idStr, addr, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("peer %q: want id=host:port", item)
		}
		id, err := strconv.ParseUint(strings.TrimSpace(idStr), 10, 64)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("peer %q: the id must be a number > 0", item)
		}
		addr = strings.TrimSpace(addr)
		if err := checkRaftAddr(addr); err != nil {
			return nil, fmt.Errorf("peer %q: %v", item, err)
		}
		if ids[id] {
			return nil, fmt.Errorf("peer id %d appears twice", id)
		}
		if addrs[addr] {
			return nil, fmt.Errorf("peer address %s appears twice", addr)
		}
		ids[id], addrs[addr] = true, true
		peers = append(peers, replication.Peer{ID: id, Addr: addr})
	}
	if len(peers) == 0 {
		return nil, errors.New("no peers")
	}
	sort.Slice(peers, func(i, j int) bool { return peers[i].ID < peers[j].ID })
	return peers, nil
}

// checkRaftAddr checks a peer's raft address: host:port with a numeric port > 0.
func checkRaftAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: want host:port", addr)
	}
	if host == "" {
		return fmt.Errorf("address %q has no host", addr)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return fmt.Errorf("address %q: the port must be 1-65535", addr)
	}
	return nil
}

// checkNodeID makes sure a data directory is only ever run under one node id: raft state
// written as one member and reused as another could vote twice in one term.
func checkNodeID(dataDir string, id uint64) error {
	path := filepath.Join(dataDir, nodeIDFileName)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		had, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if perr != nil {
			return fmt.Errorf("%s: %q is not a node id", path, strings.TrimSpace(string(b)))
		}
		if had != id {
			return fmt.Errorf("data directory %s belongs to node %d, not --node-id %d (a node id is never reused, and a node keeps its id)", dataDir, had, id)
		}
		return nil
	case errors.Is(err, os.ErrNotExist):
		return writeFileAtomic(path, []byte(strconv.FormatUint(id, 10)+"\n"), 0o644)
	default:
		return err
	}
}

// checkLayout refuses a data directory written by the standalone cmqd of before raft (the
// engine's own journal, no raft log): its applied index counts journal records, not raft
// entries, so opening it under raft would skip commands.
func checkLayout(dataDir string) error {
	_, jerr := os.Stat(filepath.Join(dataDir, engineDirName, "journal"))
	_, rerr := os.Stat(filepath.Join(dataDir, raftDirName))
	if jerr == nil && errors.Is(rerr, os.ErrNotExist) {
		return fmt.Errorf("data directory %s was written by a standalone cmqd (it has %s/journal and no %s/): "+
			"this cmqd always runs on raft and cannot take it over; drain it with the cmqd that wrote it, "+
			"or move it aside and start with an empty --data", dataDir, engineDirName, raftDirName)
	}
	return nil
}

// tokenSource says where the admin token came from.
type tokenSource int

const (
	tokenFromFlag    tokenSource = iota // --admin-token
	tokenFromDataDir                    // <data>/admin-token of an earlier start
	tokenCreated                        // generated now
)

// loadOrCreateAdminToken returns the admin token: --admin-token if given, else
// <data>/admin-token, else a new token saved there (mode 0600).
func loadOrCreateAdminToken(flagToken, dataDir string) (string, tokenSource, string, error) {
	if flagToken != "" {
		return flagToken, tokenFromFlag, "", nil
	}
	path := filepath.Join(dataDir, adminTokenFileName)
	b, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(b))
		if len(tok) < minAdminTokenLen {
			return "", 0, path, fmt.Errorf("%s holds no token of at least %d characters", path, minAdminTokenLen)
		}
		return tok, tokenFromDataDir, path, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", 0, path, err
	}
	tok, err := randomAlnum(40)
	if err != nil {
		return "", 0, path, fmt.Errorf("generating the admin token: %w", err)
	}
	if err := writeFileAtomic(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", 0, path, fmt.Errorf("saving the admin token to %s: %w", path, err)
	}
	return tok, tokenCreated, path, nil
}

// printAdminToken prints the generated admin token once, with how to use it.
func printAdminToken(w interface{ Write([]byte) (int, error) }, token, path, endpoint string) {
	rule := strings.Repeat("=", 78)
	fmt.Fprintf(w, `%[1]s
cmqd created an admin token for the cluster endpoints (/cluster/...). It is printed
only this once (it is stored in %[2]s, mode 0600).

  admin token:  %[3]s

  export CMQ_ENDPOINT=%[4]s
  export CMQ_ADMIN_TOKEN=%[3]s
  cmqctl cluster status
%[1]s
`, rule, path, token, endpoint)
}

// clusterNode is what the admin endpoints need of the raft node (a *replication.Node).
type clusterNode interface {
	Status() replication.Status
	Ready() bool
	IsLeader() bool
	AddNode(ctx context.Context, p replication.Peer) error
	RemoveNode(ctx context.Context, id uint64) error
}

type nodeBox struct{ n clusterNode }

// stateDigester is what GET /cluster/digest needs of the queue engine (an *engine.Engine).
type stateDigester interface {
	StateDigest() (applied, digest uint64, err error)
}

type digesterBox struct{ d stateDigester }

// nodeReady is what /readyz answers: the node is a member of the group as far as it knows
// (a joining node is not until it has received the entry that added it; a removed node is
// not any more), knows a leader, and has applied everything it knows to be committed.
// Node.Ready alone says yes on a joining node that has heard the leader's heartbeat but has
// no log yet.
func nodeReady(n clusterNode) bool {
	if !n.Ready() {
		return false
	}
	st := n.Status()
	for _, p := range st.Peers {
		if p.ID == st.ID {
			return true
		}
	}
	return false
}

// adminAPI serves /cluster/*. Every request but the GETs (status, digest) on a loopback-bound
// server needs the admin token in the X-Opencmq-Admin-Token header.
type adminAPI struct {
	node       atomic.Pointer[nodeBox]
	engine     atomic.Pointer[digesterBox]
	token      string
	openStatus bool // GET /cluster/status without the token
	log        *slog.Logger
	// changeTimeout bounds how long a membership change is waited for.
	changeTimeout time.Duration
}

func (a *adminAPI) setNode(n clusterNode) {
	if n == nil {
		a.node.Store(nil)
		return
	}
	a.node.Store(&nodeBox{n})
}

// setEngine sets (nil: clears) the engine whose state GET /cluster/digest hashes; it is
// cleared before the engine closes.
func (a *adminAPI) setEngine(d stateDigester) {
	if d == nil {
		a.engine.Store(nil)
		return
	}
	a.engine.Store(&digesterBox{d})
}

func (a *adminAPI) getNode() clusterNode {
	if b := a.node.Load(); b != nil {
		return b.n
	}
	return nil
}

var clusterPrefix = []byte("/cluster")

// isAdminPath reports whether path is /cluster or under /cluster/.
func isAdminPath(path []byte) bool {
	return bytes.HasPrefix(path, clusterPrefix) && (len(path) == len(clusterPrefix) || path[len(clusterPrefix)] == '/')
}

// wrap routes /cluster/* to the admin endpoints and everything else to next (the CMQ API).
func (a *adminAPI) wrap(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if isAdminPath(ctx.Path()) {
			a.serve(ctx)
			return
		}
		next(ctx)
	}
}

// adminStatus is the /cluster/status answer: the node's Status and what /readyz says.
type adminStatus struct {
	replication.Status
	Ready bool `json:"ready"`
}

func (a *adminAPI) serve(ctx *fasthttp.RequestCtx) {
	path := string(ctx.Path())
	var wantMethod string
	switch path {
	case "/cluster/status", "/cluster/digest":
		wantMethod = fasthttp.MethodGet
	case "/cluster/add", "/cluster/remove":
		wantMethod = fasthttp.MethodPost
	default:
		a.fail(ctx, fasthttp.StatusNotFound, &client.AdminError{Code: client.AdminNotFound, Message: "no such admin endpoint: " + path + " (GET /cluster/status, GET /cluster/digest, POST /cluster/add, POST /cluster/remove)"})
		return
	}
	if string(ctx.Method()) != wantMethod && !(wantMethod == fasthttp.MethodGet && ctx.IsHead()) {
		ctx.Response.Header.Set("Allow", wantMethod)
		a.fail(ctx, fasthttp.StatusMethodNotAllowed, &client.AdminError{Code: client.AdminBadMethod, Message: path + " wants " + wantMethod})
		return
	}
	if !(wantMethod == fasthttp.MethodGet && a.openStatus) && !a.authorized(ctx) {
		a.log.Warn("admin request refused: no or wrong admin token", "path", path, "remote", ctx.RemoteAddr().String())
		a.fail(ctx, fasthttp.StatusUnauthorized, &client.AdminError{Code: client.AdminUnauthorized, Message: "missing or wrong " + client.AdminTokenHeader + " header (the token is --admin-token or <data>/admin-token)"})
		return
	}
	n := a.getNode()
	if n == nil {
		a.fail(ctx, fasthttp.StatusServiceUnavailable, &client.AdminError{Code: client.AdminStarting, Message: "the raft node is not running (starting or stopping)"})
		return
	}
	switch path {
	case "/cluster/status":
		a.reply(ctx, fasthttp.StatusOK, adminStatus{Status: n.Status(), Ready: nodeReady(n)})
	case "/cluster/digest":
		a.digest(ctx, n)
	case "/cluster/add":
		a.add(ctx, n)
	case "/cluster/remove":
		a.remove(ctx, n)
	}
}

// digest answers the node's digest of its replicated state (engine.StateDigest): replicas
// that report the same applied index must report the same digest.
func (a *adminAPI) digest(ctx *fasthttp.RequestCtx, n clusterNode) {
	b := a.engine.Load()
	if b == nil {
		a.fail(ctx, fasthttp.StatusServiceUnavailable, &client.AdminError{Code: client.AdminStarting, Message: "the queue engine is not open (starting or stopping)"})
		return
	}
	applied, digest, err := b.d.StateDigest()
	if err != nil {
		a.log.Error("state digest failed", "err", err)
		a.fail(ctx, fasthttp.StatusInternalServerError, &client.AdminError{Code: client.AdminInternal, Message: "state digest: " + err.Error()})
		return
	}
	a.reply(ctx, fasthttp.StatusOK, client.ClusterDigest{ID: n.Status().ID, Applied: applied, Digest: fmt.Sprintf("%016x", digest)})
}

func (a *adminAPI) authorized(ctx *fasthttp.RequestCtx) bool {
	got := ctx.Request.Header.Peek(client.AdminTokenHeader)
	return a.token != "" && subtle.ConstantTimeCompare(got, []byte(a.token)) == 1
}

// arg returns a parameter from the query string or a form body.
func arg(ctx *fasthttp.RequestCtx, name string) string {
	if v := ctx.QueryArgs().Peek(name); v != nil {
		return string(v)
	}
	return string(ctx.PostArgs().Peek(name))
}

func idArg(ctx *fasthttp.RequestCtx) (uint64, error) {
	s := arg(ctx, "id")
	if s == "" {
		return 0, errors.New("parameter id is missing")
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("parameter id %q: want a number > 0", s)
	}
	return id, nil
}

// leaderCheck answers 409 with the leader's id and address unless n leads.
func (a *adminAPI) leaderCheck(ctx *fasthttp.RequestCtx, n clusterNode) bool {
	if n.IsLeader() {
		return true
	}
	st := n.Status()
	e := &client.AdminError{Code: client.AdminNotLeader, Leader: st.Leader}
	for _, p := range st.Peers {
		if p.ID == st.Leader {
			e.LeaderAddr = p.Addr
		}
	}
	if st.Leader == 0 {
		e.Message = fmt.Sprintf("node %d is not the leader, and no leader is known right now; retry shortly", st.ID)
	} else {
		e.Message = fmt.Sprintf("node %d is not the leader; send membership changes to the leader, node %d (raft address %s)", st.ID, st.Leader, e.LeaderAddr)
	}
	a.fail(ctx, fasthttp.StatusConflict, e)
	return false
}

func (a *adminAPI) add(ctx *fasthttp.RequestCtx, n clusterNode) {
	id, err := idArg(ctx)
	if err != nil {
		a.fail(ctx, fasthttp.StatusBadRequest, &client.AdminError{Code: client.AdminBadRequest, Message: err.Error()})
		return
	}
	addr := arg(ctx, "addr")
	if err := checkRaftAddr(addr); err != nil {
		a.fail(ctx, fasthttp.StatusBadRequest, &client.AdminError{Code: client.AdminBadRequest, Message: "parameter addr: " + err.Error()})
		return
	}
	if !a.leaderCheck(ctx, n) {
		return
	}
	for _, p := range n.Status().Peers {
		if p.ID == id {
			a.fail(ctx, fasthttp.StatusConflict, &client.AdminError{Code: client.AdminAlreadyMember, Message: fmt.Sprintf("node %d is a member already (raft address %s)", id, p.Addr)})
			return
		}
		if p.Addr == addr {
			a.fail(ctx, fasthttp.StatusConflict, &client.AdminError{Code: client.AdminAlreadyMember, Message: fmt.Sprintf("member %d has raft address %s already", p.ID, addr)})
			return
		}
	}
	cctx, cancel := context.WithTimeout(context.Background(), a.changeTimeout)
	defer cancel()
	err = n.AddNode(cctx, replication.Peer{ID: id, Addr: addr})
	if a.changeFailed(ctx, "add", id, err) {
		return
	}
	a.log.Info("cluster: node added", "id", id, "addr", addr)
	a.reply(ctx, fasthttp.StatusOK, map[string]any{"ok": true, "id": id, "addr": addr})
}

func (a *adminAPI) remove(ctx *fasthttp.RequestCtx, n clusterNode) {
	id, err := idArg(ctx)
	if err != nil {
		a.fail(ctx, fasthttp.StatusBadRequest, &client.AdminError{Code: client.AdminBadRequest, Message: err.Error()})
		return
	}
	if !a.leaderCheck(ctx, n) {
		return
	}
	if st := n.Status(); id == st.ID {
		a.fail(ctx, fasthttp.StatusConflict, &client.AdminError{Code: client.AdminRemoveLeader, Message: fmt.Sprintf(
			"node %d is the leader: removing the leader is not supported; stop it (the others elect a new leader), then remove it through the new leader", id)})
		return
	}
	cctx, cancel := context.WithTimeout(context.Background(), a.changeTimeout)
	defer cancel()
	err = n.RemoveNode(cctx, id)
	if a.changeFailed(ctx, "remove", id, err) {
		return
	}
	a.log.Info("cluster: node removed", "id", id)
	a.reply(ctx, fasthttp.StatusOK, map[string]any{"ok": true, "id": id})
}

// changeFailed answers a failed membership change; it reports whether err was one.
func (a *adminAPI) changeFailed(ctx *fasthttp.RequestCtx, op string, id uint64, err error) bool {
	if err == nil {
		return false
	}
	a.log.Warn("cluster: membership change failed", "op", op, "id", id, "err", err)
	switch {
	case errors.Is(err, replication.ErrIDReused):
		a.fail(ctx, fasthttp.StatusConflict, &client.AdminError{Code: client.AdminIDReused, Message: fmt.Sprintf("node id %d belonged to a removed node; ids are never reused: pick a new id", id)})
	case errors.Is(err, replication.ErrNotMember):
		a.fail(ctx, fasthttp.StatusNotFound, &client.AdminError{Code: client.AdminNotMember, Message: fmt.Sprintf("node %d is not a member", id)})
	case errors.Is(err, context.DeadlineExceeded):
		a.fail(ctx, fasthttp.StatusGatewayTimeout, &client.AdminError{Code: client.AdminTimeout, Message: fmt.Sprintf(
			"the change was not applied within %v; it may still be (check cmqctl cluster status): %v", a.changeTimeout, err)})
	case errors.Is(err, replication.ErrStopped):
		a.fail(ctx, fasthttp.StatusServiceUnavailable, &client.AdminError{Code: client.AdminStarting, Message: err.Error()})
	default:
		// raft refuses a change while another is pending (ErrProposalDropped), or lost
		// leadership meanwhile.
		a.fail(ctx, fasthttp.StatusConflict, &client.AdminError{Code: client.AdminInternal, Message: fmt.Sprintf("%s node %d: %v (retry shortly)", op, id, err)})
	}
	return true
}

func (a *adminAPI) reply(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = fasthttp.StatusInternalServerError, []byte(`{"error":"internal","message":"encoding the answer failed"}`)
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(append(b, '\n'))
}

func (a *adminAPI) fail(ctx *fasthttp.RequestCtx, status int, e *client.AdminError) {
	a.reply(ctx, status, e)
}

// isLoopback reports whether a bound listener address is a loopback one.
func isLoopback(addr net.Addr) bool {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.IP.IsLoopback()
	}
	return false
}
