package client

// Cluster administration: cmqd's admin endpoints beside the CMQ API. They are plain HTTP with
// JSON answers, not signed CMQ actions; changes (and, on a server not bound to loopback, the
// status too) require the admin token in the X-Opencmq-Admin-Token header:
//
//	GET  /cluster/status                    → 200 {"id","role","term","leader","commit","applied","peers":[{"id","addr"}],"ready"}
//	GET  /cluster/digest                    → 200 {"id","applied","digest"}
//	POST /cluster/add?id=N&addr=host:port   → 200 {"ok":true}   (leader only)
//	POST /cluster/remove?id=N               → 200 {"ok":true}   (leader only)
//
// Refusals answer a 4xx/5xx status with {"error": code, "message": text} and, when the node
// is not the leader, "leader" (its id, 0 if unknown) and "leaderAddr" (its raft address).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// AdminTokenHeader carries the admin token of the cluster endpoints.
const AdminTokenHeader = "X-Opencmq-Admin-Token"

// errNoCredentials refuses CMQ actions on a client made by NewAdmin.
var errNoCredentials = errors.New("client: no SecretId/SecretKey (this client was made with NewAdmin for the cluster endpoints only)")

// WithAdminToken sets the token sent in X-Opencmq-Admin-Token with the cluster requests.
func WithAdminToken(token string) Option {
	return func(c *Client) error { c.adminToken = token; return nil }
}

// NewAdmin returns a client for cmqd's cluster endpoints only (ClusterStatus, ClusterAdd,
// ClusterRemove): it has no CMQ credentials, and its CMQ actions fail. adminToken may be
// empty for the status of a server bound to loopback.
func NewAdmin(endpoint, adminToken string, opts ...Option) (*Client, error) {
	return newUnchecked(endpoint, "", "", append(opts, WithAdminToken(adminToken))...)
}

// ClusterPeer is a member of the raft group: its id and raft address.
type ClusterPeer struct {
	ID   uint64 `json:"id"`
	Addr string `json:"addr"`
}

// ClusterStatus is one node's view of its raft group.
type ClusterStatus struct {
	// ID is the answering node's id; Role is "leader", "follower", "candidate", or
	// "failed" once a storage error stopped the node (Error says which).
	ID   uint64 `json:"id"`
	Role string `json:"role"`
	Term uint64 `json:"term"`
	// Leader is the leader's id as this node knows it (0: none known).
	Leader uint64 `json:"leader"`
	// Commit is the highest log index this node knows to be committed; Applied the highest
	// it has applied to its queues.
	Commit  uint64        `json:"commit"`
	Applied uint64        `json:"applied"`
	Peers   []ClusterPeer `json:"peers"`
	// Ready is what /readyz answers: a leader is known and everything committed is applied.
	Ready bool   `json:"ready"`
	Error string `json:"error,omitempty"`
}

// PeerAddr returns the raft address of member id ("" if it is not a member).
func (s *ClusterStatus) PeerAddr(id uint64) string {
	for _, p := range s.Peers {
		if p.ID == id {
			return p.Addr
		}
	}
	return ""
}

// ClusterDigest is one node's digest of its replicated state: every queue, topic and stored
// message as of Applied. Two nodes that report the same Applied must report the same Digest;
// otherwise a replica has diverged. Computing it stalls the node's applies for a moment
// (it reads every stored message): a diagnostic for quiet clusters.
type ClusterDigest struct {
	ID      uint64 `json:"id"`
	Applied uint64 `json:"applied"`
	Digest  string `json:"digest"` // xxhash64, 16 hex digits
}

// Admin error codes (AdminError.Code).
const (
	AdminBadRequest    = "bad_request"    // a missing or malformed parameter
	AdminUnauthorized  = "unauthorized"   // no or wrong admin token
	AdminNotLeader     = "not_leader"     // changes go to the leader: see AdminError.Leader
	AdminIDReused      = "id_reused"      // the id belonged to a removed node; ids are never reused
	AdminAlreadyMember = "already_member" // the id is a member already
	AdminNotMember     = "not_member"     // remove: no such member
	AdminRemoveLeader  = "remove_leader"  // remove: the id is the leader's own
	AdminStarting      = "starting"       // the raft node is not running yet (or any more)
	AdminTimeout       = "timeout"        // the change was proposed but not seen applied in time: it may still happen
	AdminInternal      = "internal"
	AdminNotFound      = "not_found"
	AdminBadMethod     = "method_not_allowed"
)

// AdminError is a refused cluster request.
type AdminError struct {
	StatusCode int    `json:"-"` // HTTP status
	Code       string `json:"error"`
	Message    string `json:"message"`
	// Leader and LeaderAddr are set with AdminNotLeader when the node knows the leader.
	Leader     uint64 `json:"leader,omitempty"`
	LeaderAddr string `json:"leaderAddr,omitempty"`
}

func (e *AdminError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cmqd admin: HTTP %d", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// AdminCodeOf returns the admin error code of err if it is (or wraps) an *AdminError, else "".
func AdminCodeOf(err error) string {
	var e *AdminError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// NotLeader reports whether err refused a change because the node does not lead, and the
// leader it named (0 and "" when it knows none).
func NotLeader(err error) (leader uint64, leaderAddr string, ok bool) {
	var e *AdminError
	if errors.As(err, &e) && e.Code == AdminNotLeader {
		return e.Leader, e.LeaderAddr, true
	}
	return 0, "", false
}

// ClusterStatus returns the node's view of its raft group (GET /cluster/status).
func (c *Client) ClusterStatus(ctx context.Context) (*ClusterStatus, error) {
	body, err := c.admin(ctx, "ClusterStatus", http.MethodGet, "/cluster/status", nil)
	if err != nil {
		return nil, err
	}
	var s ClusterStatus
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("cmqd admin: bad status response: %w", err)
	}
	if s.ID == 0 {
		return nil, fmt.Errorf("cmqd admin: the answer is not a cluster status (a cmqd without cluster endpoints?): %.200s", body)
	}
	return &s, nil
}

// ClusterDigest returns the node's applied index and digest of its replicated state (GET
// /cluster/digest).
func (c *Client) ClusterDigest(ctx context.Context) (*ClusterDigest, error) {
	body, err := c.admin(ctx, "ClusterDigest", http.MethodGet, "/cluster/digest", nil)
	if err != nil {
		return nil, err
	}
	var d ClusterDigest
	if err := json.Unmarshal(body, &d); err != nil || d.ID == 0 || d.Digest == "" {
		return nil, fmt.Errorf("cmqd admin: bad digest response: %.200s", body)
	}
	return &d, nil
}

// ClusterAdd adds node id, whose raft transport listens on addr, as a voter (POST
// /cluster/add). Only the leader accepts it. Start the new node with --join afterwards (or
// before: it waits for the leader).
func (c *Client) ClusterAdd(ctx context.Context, id uint64, addr string) error {
	q := url.Values{"id": {strconv.FormatUint(id, 10)}, "addr": {addr}}
	_, err := c.admin(ctx, "ClusterAdd", http.MethodPost, "/cluster/add", q)
	return err
}

// ClusterRemove removes member id (POST /cluster/remove). Only the leader accepts it; the
// id can never be used again.
func (c *Client) ClusterRemove(ctx context.Context, id uint64) error {
	q := url.Values{"id": {strconv.FormatUint(id, 10)}}
	_, err := c.admin(ctx, "ClusterRemove", http.MethodPost, "/cluster/remove", q)
	return err
}

// admin sends one admin request and returns the body of a 200 answer. The response hook of
// ctx (WithResponseHook) sees every JSON answer, successful or not, under action.
func (c *Client) admin(ctx context.Context, action, method, path string, query url.Values) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := c.scheme + "://" + c.host + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("cmqd admin %s: %w", path, err)
	}
	if c.adminToken != "" {
		req.Header.Set(AdminTokenHeader, c.adminToken)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cmqd admin %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("cmqd admin %s: reading response: %w", path, err)
	}
	isJSON := strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")
	if hook, _ := ctx.Value(responseHookKey{}).(func(string, []byte)); hook != nil && isJSON {
		hook(action, bytes.TrimSpace(body))
	}
	if resp.StatusCode == http.StatusOK {
		return body, nil
	}
	e := &AdminError{StatusCode: resp.StatusCode}
	if !isJSON || json.Unmarshal(body, e) != nil || e.Code == "" {
		// Not cmqd's admin API (an older cmqd answers these paths as CMQ actions, a proxy
		// its own pages): keep the start of the body.
		snippet := strings.TrimSpace(string(body))
		if len(snippet) > 256 {
			snippet = snippet[:256] + "…"
		}
		e.Code, e.Message = "", snippet
	}
	return nil, e
}
