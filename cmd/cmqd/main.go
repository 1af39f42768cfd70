// Command cmqd is the opencmq server: a durable, replicated message queue that speaks
// Tencent Cloud CMQ's HTTP action API, so existing CMQ SDKs work against it unchanged.
//
//	go run ./cmd/cmqd                       # one node: 127.0.0.1:8080, data in ./data
//	cmqd --listen :8443 --data /var/lib/cmqd --tls-cert cert.pem --tls-key key.pem
//	cmqd --node-id 2 --raft-listen 10.0.0.2:7946 --peers 1=10.0.0.1:7946,2=10.0.0.2:7946,3=10.0.0.3:7946
//
// cmqd always runs on raft (package replication): a single server is a one-voter group on the
// same code path as a cluster. On its first start without --accounts it creates an account,
// saves it in <data>/accounts.json and prints it once; without --admin-token it does the same
// with the admin token of the /cluster/ endpoints. See --help for every flag,
// docs/USAGE-draft.md for the data directory layout and docs/CLUSTER-draft.md for clusters.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/httpapi"
	"github.com/opencmq/opencmq/replication"
	"github.com/opencmq/opencmq/segment/vfs"
)

// version is the cmqd version; set with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, sigs))
}

// hostList is a repeatable flag of comma-separated host names.
type hostList []string

func (h *hostList) String() string { return strings.Join(*h, ",") }

func (h *hostList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*h = append(*h, p)
		}
	}
	return nil
}

// config is the parsed command line.
type config struct {
	listen             string
	dataDir            string
	accountsFile       string
	tlsCert, tlsKey    string
	logFormat          string
	logLevel           string
	timestampWindow    time.Duration
	publicHosts        hostList
	trustForwardedHost bool
	disableReplayCheck bool
	checkpointBytes    int64
	shutdownTimeout    time.Duration
	showVersion        bool
	debugListen        string

	// raft
	nodeID     uint64
	raftListen string
	peersFlag  string
	peers      []replication.Peer // parsed --peers; nil: this node alone
	join       bool
	tick       time.Duration
	adminToken string

	push pushFlags // --push-allow, --push-allow-private, --push-retry-unit (push.go)
}

const usageHeader = `cmqd — opencmq server: a durable message queue speaking Tencent Cloud CMQ's HTTP API.

Usage:
  cmqd [flags]

With no flags it serves http://127.0.0.1:8080 with its data in ./data, as a single node
(a one-voter raft group listening for raft on 127.0.0.1:7946). On the first start without
--accounts it creates an account (namespace "default"), saves it in <data>/accounts.json
(mode 0600) and prints it once; later starts reuse it. Without --admin-token it does the same
with an admin token in <data>/admin-token.

Cluster: start every node with its own --node-id, a --raft-listen address the others can
reach, and the same --peers list of the initial voters (this node included), e.g.
  cmqd --node-id 1 --raft-listen 10.0.0.1:7946 --peers 1=10.0.0.1:7946,2=10.0.0.2:7946,3=10.0.0.3:7946
A node added later (cmqctl cluster add --id 4 --addr 10.0.0.4:7946) starts with --join and
--peers listing the members' raft addresses (cmqctl cluster add prints the command).
--peers and --join only matter on a node's first start; afterwards its state on disk rules.
GET /readyz answers 200 when the node is a member, knows a leader and has applied everything
it knows to be committed.

Admin endpoints (beside the CMQ API, not signed):
  GET  /cluster/status                   role, term, leader, commit, applied, peers
  GET  /cluster/digest                   applied index and a digest of the replicated state
  POST /cluster/add?id=N&addr=host:port  add a voter (leader only; 409 + leader id elsewhere)
  POST /cluster/remove?id=N              remove a member (leader only)
The POSTs need the header X-Opencmq-Admin-Token: <token>; so do the GETs unless the
HTTP listener is bound to loopback.

Data directory layout:
  <data>/LOCK           lock of the running cmqd (holds its pid)
  <data>/accounts.json  the generated account (unless --accounts is given)
  <data>/admin-token    the generated admin token (unless --admin-token is given)
  <data>/node-id        the node id the directory belongs to
  <data>/raft/          raft node: raft/ (the raft log), members.json
  <data>/engine/        queue engine: checkpoint, queues/<id>/

Signals: SIGTERM or SIGINT stop accepting connections, let requests (and long polls) finish
for up to --shutdown-timeout, write a checkpoint and exit 0. A second signal exits at once
(nothing acknowledged is lost: every acknowledged change is already fsynced).

Flags:
`

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("cmqd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to listen on, host:port (port 0: any free port; the bound address is logged)")
	fs.StringVar(&c.dataDir, "data", "./data", "data directory (created if missing)")
	fs.StringVar(&c.accountsFile, "accounts", "", "JSON accounts file: [{\"namespace\":…,\"secretId\":…,\"secretKey\":…}] (default: <data>/accounts.json, generated on first start)")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate file; serve HTTPS when given with --tls-key")
	fs.StringVar(&c.tlsKey, "tls-key", "", "PEM private key file for --tls-cert")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json (logs go to stderr)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug (one line per request), info, warn or error")
	fs.DurationVar(&c.timestampWindow, "timestamp-window", httpapi.DefaultTimestampWindow, "largest accepted difference between a request's Timestamp and the server clock; 0 disables the check")
	fs.Var(&c.publicHosts, "public-host", "host[:port] clients sign requests with when it differs from the Host header (a DNS name, a proxy's address); repeatable or comma-separated")
	fs.BoolVar(&c.trustForwardedHost, "trust-forwarded-host", false, "also accept the X-Forwarded-Host header's host for signatures (only behind a proxy that sets it)")
	fs.BoolVar(&c.disableReplayCheck, "disable-replay-check", false, "accept byte-identical replays of state-changing requests within the timestamp window")
	fs.Int64Var(&c.checkpointBytes, "checkpoint-bytes", engine.CheckpointBytesDefault, "log bytes applied between engine checkpoints (bounds restart time and the raft log)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 35*time.Second, "on SIGTERM/SIGINT, how long to wait for requests in flight (long polls last up to 30s)")
	fs.BoolVar(&c.showVersion, "version", false, "print the version and exit")
	fs.StringVar(&c.debugListen, "debug-listen", "", "serve Go's profiling endpoints (/debug/pprof/) on this host:port, apart from the API; bind it to loopback (default: off)")
	fs.Uint64Var(&c.nodeID, "node-id", 1, "this node's raft id, > 0; never reused for another node")
	fs.StringVar(&c.raftListen, "raft-listen", "127.0.0.1:7946", "address the raft transport listens on, host:port (port 0: any free port; only sensible for a lone node)")
	fs.StringVar(&c.peersFlag, "peers", "", "initial voters of a new cluster, this node included: id=host:port,... (default: this node alone at --raft-listen); with --join: the members to reach")
	fs.BoolVar(&c.join, "join", false, "start empty as a member an existing cluster added with 'cmqctl cluster add'; needs --peers (the members' raft addresses)")
	fs.DurationVar(&c.tick, "tick", 100*time.Millisecond, "raft tick: heartbeats every tick, elections after 10-20 ticks")
	fs.StringVar(&c.adminToken, "admin-token", "", "token the /cluster/ admin endpoints require in X-Opencmq-Admin-Token (default: <data>/admin-token, generated on first start)")
	c.push.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (cmqd takes only flags; see --help)", fs.Arg(0))
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key must be given together")
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		return nil, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	if c.checkpointBytes <= 0 {
		return nil, errors.New("--checkpoint-bytes must be positive")
	}
	if c.timestampWindow < 0 {
		return nil, errors.New("--timestamp-window must not be negative (0 disables the check)")
	}
	if c.shutdownTimeout <= 0 {
		return nil, errors.New("--shutdown-timeout must be positive")
	}
	if c.dataDir == "" {
		return nil, errors.New("--data must not be empty")
	}
	if c.nodeID == 0 {
		return nil, errors.New("--node-id must be > 0")
	}
	if c.tick <= 0 {
		return nil, errors.New("--tick must be positive")
	}
	if _, _, err := net.SplitHostPort(c.raftListen); err != nil {
		return nil, fmt.Errorf("--raft-listen %q: want host:port", c.raftListen)
	}
	if c.adminToken != "" && len(c.adminToken) < minAdminTokenLen {
		return nil, fmt.Errorf("--admin-token must have at least %d characters", minAdminTokenLen)
	}
	if c.join && c.peersFlag == "" {
		return nil, errors.New("--join needs --peers: the raft addresses of the cluster's members, to reach the leader (cmqctl cluster status lists them; cmqctl cluster add prints the whole command)")
	}
	if c.peersFlag != "" {
		peers, err := parsePeers(c.peersFlag)
		if err != nil {
			return nil, fmt.Errorf("--peers: %v", err)
		}
		self := false
		for _, p := range peers {
			self = self || p.ID == c.nodeID
		}
		if !self && !c.join {
			return nil, fmt.Errorf("--peers must include this node (--node-id %d)", c.nodeID)
		}
		c.peers = peers
	}
	return c, nil
}

func newLogger(c *config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.logLevel)) // validated by parseFlags
	opts := &slog.HandlerOptions{Level: lvl}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// run is cmqd's main: it returns the exit status.
func run(args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "cmqd: %v\n", err)
		return exitUsage
	}
	if cfg.showVersion {
		fmt.Fprintf(stdout, "cmqd %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	}
	log := newLogger(cfg, stderr)
	fail := func(msg string, err error) int {
		log.Error(msg, "err", err)
		fmt.Fprintf(stderr, "cmqd: %s: %v\n", msg, err)
		return exitFail
	}
	if cfg.debugListen != "" {
		stopDebug, err := startDebugServer(cfg.debugListen, log)
		if err != nil {
			return fail("cannot listen on --debug-listen", err)
		}
		defer stopDebug()
	}

	// 1. The data directory, locked against a second cmqd.
	dataDir := filepath.Clean(cfg.dataDir)
	if err := vfs.MkdirAllSync(vfs.Default, dataDir, 0o750); err != nil {
		return fail("cannot create the data directory", err)
	}
	lock, err := lockDataDir(dataDir)
	var inUse *errDirInUse
	if errors.As(err, &inUse) {
		fmt.Fprintf(stderr, "cmqd: %v\n", err)
		log.Error("refusing to start", "err", err.Error())
		return exitFail
	}
	if err != nil {
		return fail("cannot lock the data directory", err)
	}
	defer lock.release()
	if err := checkLayout(dataDir); err != nil {
		return fail("refusing to start", err)
	}
	if err := checkNodeID(dataDir, cfg.nodeID); err != nil {
		return fail("refusing to start", err)
	}

	// 2. Accounts and the admin token.
	accounts, source, accountsPath, err := loadOrCreateAccounts(cfg.accountsFile, dataDir)
	if err != nil {
		return fail("cannot load accounts", err)
	}
	namespaces := make([]string, len(accounts))
	for i, a := range accounts {
		namespaces[i] = a.Namespace
	}
	switch source {
	case accountsCreated:
		log.Info("created an account on first start", "file", accountsPath, "namespace", accounts[0].Namespace, "secretId", accounts[0].SecretID)
	default:
		log.Info("loaded accounts", "file", accountsPath, "count", len(accounts), "namespaces", strings.Join(namespaces, ","))
	}
	adminToken, tokenSrc, tokenPath, err := loadOrCreateAdminToken(cfg.adminToken, dataDir)
	if err != nil {
		return fail("cannot load the admin token", err)
	}
	switch tokenSrc {
	case tokenCreated:
		log.Info("created an admin token on first start", "file", tokenPath)
	case tokenFromDataDir:
		log.Info("loaded the admin token", "file", tokenPath)
	}

	// 3. The raft transport: listening before anything is printed, so that a busy port
	// fails the start at once.
	transport, err := replication.NewTCPTransport(cfg.raftListen, log.With("component", "raft"))
	if err != nil {
		return fail("cannot listen for raft (--raft-listen)", err)
	}
	raftAddr := transport.Addr()
	stopTransport := true // until the node owns it
	defer func() {
		if stopTransport {
			transport.Stop()
		}
	}()

	// 4. The API server, listening before the engine is open: /healthz answers at once,
	// /readyz says 503 until the node is ready (a leader known, everything committed applied).
	if cfg.tlsCert != "" {
		if _, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey); err != nil {
			return fail("cannot load the TLS certificate", err)
		}
	}
	logger := log.With("component", "httpapi")
	backend := &startingBackend{}
	var ready atomic.Bool
	var raftNode atomic.Pointer[replication.Node]
	window := cfg.timestampWindow
	if window == 0 {
		window = -1 // httpapi: negative disables the check
	}
	api, err := httpapi.New(httpapi.Config{
		Backend:            backend,
		Accounts:           accounts,
		Logger:             logger,
		TimestampWindow:    window,
		DisableReplayCheck: cfg.disableReplayCheck,
		PublicHosts:        cfg.publicHosts,
		TrustForwardedHost: cfg.trustForwardedHost,
		Ready: func() bool {
			n := raftNode.Load()
			return ready.Load() && n != nil && nodeReady(n)
		},
	})
	if err != nil {
		return fail("invalid API configuration", err)
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fail("cannot listen", err)
	}
	admin := &adminAPI{token: adminToken, openStatus: isLoopback(ln.Addr()), log: log.With("component", "admin"), changeTimeout: 8 * time.Second}
	srv := api.NewHTTPServer()
	srv.Handler = admin.wrap(srv.Handler)
	tlsOn := cfg.tlsCert != ""
	if tlsOn {
		// Said here rather than left to the library's default: nothing older than TLS 1.2.
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	serveErr := make(chan error, 1)
	go func() {
		if tlsOn {
			serveErr <- srv.ServeTLS(ln, cfg.tlsCert, cfg.tlsKey)
		} else {
			serveErr <- srv.Serve(ln)
		}
	}()
	addr := ln.Addr().String()
	scheme := "http"
	if tlsOn {
		scheme = "https"
	}
	endpoint := scheme + "://" + clientHost(addr)
	log.Info("cmqd started", "version", version, "listen", addr, "endpoint", endpoint, "data", dataDir, "tls", tlsOn, "pid", os.Getpid(),
		"nodeId", cfg.nodeID, "raft", raftAddr)
	if source == accountsCreated {
		printAccount(stdout, accounts[0], accountsPath, endpoint, tlsOn)
	}
	if tokenSrc == tokenCreated {
		printAdminToken(stdout, adminToken, tokenPath, endpoint)
	}

	// 5. The raft node and the engine.
	raftDir := filepath.Join(dataDir, raftDirName)
	engineDir := filepath.Join(dataDir, engineDirName)
	peers := cfg.peers
	if len(peers) == 0 {
		peers = []replication.Peer{{ID: cfg.nodeID, Addr: raftAddr}}
	}
	// A joining node bootstraps nothing; its --peers are only addresses to reach the leader
	// at (see startedTransport), also on later starts (until it has the log they are the
	// only addresses it knows; after that they change nothing).
	var seeds []replication.Peer
	if cfg.join {
		seeds, peers = peers, nil
	}
	if hasState(raftDir) {
		if cfg.peersFlag != "" && !cfg.join {
			log.Info("raft state found on disk: --peers is ignored (it only matters on a node's first start)")
		}
	} else if cfg.join {
		log.Info("joining: waiting for the leader of a cluster that added this node (cmqctl cluster add)", "nodeId", cfg.nodeID, "raft", raftAddr, "members", formatPeers(seeds))
	} else {
		log.Info("creating a new raft group", "peers", formatPeers(peers))
	}
	openStart := time.Now()
	type opened struct {
		n   *replication.Node
		e   *engine.Engine
		err error
	}
	openDone := make(chan opened, 1)
	go func() {
		n, e, err := openNode(cfg, raftDir, engineDir, peers, newStartedTransport(transport, cfg.nodeID, seeds), log)
		openDone <- opened{n, e, err}
	}()
	var node *replication.Node
	var eng *engine.Engine
	select {
	case o := <-openDone:
		if o.err != nil {
			shutdownHTTP(log, srv, time.Second)
			return fail("cannot start the raft node and the queue engine in "+dataDir, o.err)
		}
		node, eng = o.n, o.e
	case sig := <-sigs:
		log.Info("signal received while the engine was opening; stopping", "signal", sig.String())
		shutdownHTTP(log, srv, cfg.shutdownTimeout)
		if o := <-openDone; o.err == nil {
			stopTransport = false
			stopNode(log, o.n, o.e)
			closeEngine(log, o.e)
		}
		return exitOK
	}
	stopTransport = false // node.Stop stops it
	backend.b.Store(eng)
	raftNode.Store(node)
	admin.setNode(node)
	admin.setEngine(eng)
	ready.Store(true)
	log.Info("raft node started", "engine", engineDir, "raft", raftDir, "recovery", time.Since(openStart).Round(time.Millisecond).String())
	watchDone := make(chan struct{})
	watchStopped := make(chan struct{})
	go watchNode(log, node, cfg.tick, watchDone, watchStopped)

	// 6. Serve until a signal or a fatal server error.
	status := exitOK
	select {
	case sig := <-sigs:
		log.Info("shutting down: no new connections; waiting for requests in flight", "signal", sig.String(), "timeout", cfg.shutdownTimeout.String())
		go func() {
			if s, ok := <-sigs; ok {
				log.Warn("second signal: exiting now without a checkpoint (acknowledged changes are durable in the raft log)", "signal", s.String())
				os.Exit(exitFail)
			}
		}()
	case err := <-serveErr:
		log.Error("HTTP server stopped unexpectedly", "err", err)
		fmt.Fprintf(stderr, "cmqd: HTTP server stopped: %v\n", err)
		status = exitFail
	}
	ready.Store(false)
	shutdownHTTP(log, srv, cfg.shutdownTimeout)
	close(watchDone)
	<-watchStopped
	admin.setNode(nil)
	admin.setEngine(nil)
	if !stopNode(log, node, eng) {
		status = exitFail
	}
	if !closeEngine(log, eng) {
		status = exitFail
	}
	log.Info("stopped", "status", status)
	return status
}

// openNode opens the raft node and the engine it orders, and starts the node.
func openNode(cfg *config, raftDir, engineDir string, peers []replication.Peer, t replication.Transport, log *slog.Logger) (*replication.Node, *engine.Engine, error) {
	node, err := replication.New(replication.Config{
		ID:           cfg.nodeID,
		Dir:          raftDir,
		Peers:        peers,
		Join:         cfg.join,
		Transport:    t,
		TickInterval: cfg.tick,
		Logger:       log.With("component", "raft"),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("raft node: %w", err)
	}
	eng, err := engine.Open(engineDir, engine.Options{
		CheckpointBytes: cfg.checkpointBytes,
		Logger:          log.With("component", "engine"),
		Replicator:      node,
		Push:            cfg.push.options(),
	})
	if err != nil {
		// node.Stop would wait for a loop that never started; the process exits anyway.
		return nil, nil, fmt.Errorf("queue engine: %w", err)
	}
	if err := node.Start(eng); err != nil {
		eng.Close()
		return nil, nil, fmt.Errorf("starting the raft node: %w", err)
	}
	return node, eng, nil
}

// hasState reports whether a directory exists and is not empty.
func hasState(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) > 0
}

func formatPeers(peers []replication.Peer) string {
	parts := make([]string, len(peers))
	for i, p := range peers {
		parts[i] = fmt.Sprintf("%d=%s", p.ID, p.Addr)
	}
	return strings.Join(parts, ",")
}

// watchNode logs the node's view as it changes: leader elected or lost, ready or not.
func watchNode(log *slog.Logger, n *replication.Node, every time.Duration, done <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(max(every, 20*time.Millisecond))
	defer t.Stop()
	var lastLeader, lastTerm uint64
	var lastReady, failed bool
	first := true
	for {
		st := n.Status()
		rd := nodeReady(n)
		if st.Error != "" && !failed {
			failed = true
			log.Error("storage failure: this node stopped (it no longer votes, leads or serves); "+
				"the others go on without it. See docs/cluster.md, \"A node with a damaged or failed disk\"", "err", st.Error)
		}
		if first || st.Leader != lastLeader || (st.Leader != 0 && st.Term != lastTerm && st.Role == "leader") {
			if st.Leader != 0 || !first {
				log.Info("raft leader", "leader", st.Leader, "term", st.Term, "role", st.Role, "nodeId", st.ID)
			}
			lastLeader, lastTerm = st.Leader, st.Term
		}
		if rd != lastReady || first {
			if rd {
				log.Info("ready", "leader", st.Leader, "term", st.Term, "applied", st.Applied)
			} else if !first {
				log.Warn("not ready", "leader", st.Leader, "commit", st.Commit, "applied", st.Applied)
			}
			lastReady = rd
		}
		first = false
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// stopNode stops the raft node (and its transport). The engine's pushers stop first, while
// the node can still commit their hand-backs of pushes in flight.
func stopNode(log *slog.Logger, n *replication.Node, e *engine.Engine) bool {
	e.StopPushing()
	start := time.Now()
	if err := n.Stop(); err != nil {
		log.Error("stopping the raft node", "err", err)
		return false
	}
	log.Info("raft node stopped", "after", time.Since(start).Round(time.Millisecond).String())
	return true
}

// shutdownHTTP stops accepting and waits up to timeout for requests in flight.
func shutdownHTTP(log *slog.Logger, srv interface {
	ShutdownWithContext(context.Context) error
}, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	if err := srv.ShutdownWithContext(ctx); err != nil {
		log.Warn("HTTP server: requests still running at the shutdown deadline; closing anyway", "err", err, "after", time.Since(start).Round(time.Millisecond).String())
		return
	}
	log.Info("HTTP server stopped", "after", time.Since(start).Round(time.Millisecond).String())
}

// closeEngine writes the final checkpoint and closes the engine.
func closeEngine(log *slog.Logger, e *engine.Engine) bool {
	start := time.Now()
	if err := e.Close(); err != nil {
		log.Error("closing the queue engine", "err", err)
		return false
	}
	log.Info("queue engine closed (checkpoint written, files synced)", "after", time.Since(start).Round(time.Millisecond).String())
	return true
}

// clientHost turns a listen address into one a local client can connect to (an unspecified
// address such as 0.0.0.0 or [::] becomes 127.0.0.1).
func clientHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// printAccount prints the generated account once, with how to use it.
func printAccount(w io.Writer, a httpapi.Account, path, endpoint string, tlsOn bool) {
	insecure := ""
	if tlsOn {
		insecure = " --insecure # or --ca-cert <your CA>"
	}
	rule := strings.Repeat("=", 78)
	fmt.Fprintf(w, `%[1]s
cmqd created an account on this first start. It is printed only this once
(it is stored in %[2]s, mode 0600).

  namespace:  %[3]s
  SecretId:   %[4]s
  SecretKey:  %[5]s

Use it with cmqctl:

  export CMQ_ENDPOINT=%[6]s
  export CMQ_SECRET_ID=%[4]s
  export CMQ_SECRET_KEY=%[5]s
  cmqctl queue create demo%[7]s
  cmqctl send demo "hello"
  cmqctl receive demo --wait 5 --delete

or point any CMQ SDK at it, e.g. Python: Account("%[6]s", secretId, secretKey)
%[1]s
`, rule, path, a.Namespace, a.SecretID, a.SecretKey, endpoint, insecure)
}
