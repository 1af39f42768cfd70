package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/httpapi"
	"github.com/opencmq/opencmq/httpapi/client"
	"github.com/opencmq/opencmq/replication"
)

// queueName is the fresh queue of one run: prefix, process start time, run number.
func queueName(prefix string, run int) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1_000_000_000_000, run)
}

// ---- opencmq-http: httpapi/client against a running cmqd ----

type httpDriver struct {
	cfg   *config
	queue string
	// shared[i] is the client of endpoint i when --http-clients shared.
	shared []*client.Client
	admin  *client.Client
	// perWorker holds the per-worker clients to close at the end.
	perWorker []*client.Client
}

// newCMQClient returns a client for endpoint: on fasthttp (--http-transport fasthttp), or on
// its own keep-alive net/http transport whose idle pool holds at least conns connections (so
// that every worker keeps its connection).
func newCMQClient(cfg *config, endpoint string, conns int) (*client.Client, error) {
	opts := []client.Option{client.WithSignatureMethodName(cfg.sigMethod), client.WithTimeout(30 * time.Second)}
	if cfg.httpTransport == "fasthttp" {
		opts = append(opts, client.WithFastHTTP())
	} else {
		tr := client.NewTransport()
		tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, conns)
		tr.MaxIdleConns = max(tr.MaxIdleConns, conns)
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: tr}))
	}
	return client.New(endpoint, cfg.secretID, cfg.secretKey, opts...)
}

func openOpencmqHTTP(ctx context.Context, cfg *config) (Driver, error) {
	d := &httpDriver{cfg: cfg}
	workers := cfg.producers + cfg.consumers + cfg.preloadP
	var err error
	if d.admin, err = newCMQClient(cfg, cfg.endpoints[0], 2); err != nil {
		return nil, err
	}
	if cfg.httpClients == "shared" {
		for _, e := range cfg.endpoints {
			c, err := newCMQClient(cfg, e, workers+8)
			if err != nil {
				return nil, err
			}
			d.shared = append(d.shared, c)
		}
	}
	// Fail early on a wrong endpoint or credentials.
	if _, err := d.admin.ListQueue(ctx, client.ListOptions{Limit: 1}); err != nil {
		return nil, fmt.Errorf("ListQueue on %s: %w", cfg.endpoints[0], err)
	}
	return d, nil
}

func (d *httpDriver) Describe() string {
	return fmt.Sprintf("httpapi/client on %s, %s, %d endpoint(s), %s clients; SendMessage/BatchSendMessage, BatchReceiveMessage(wait 1s), BatchDeleteMessage", d.cfg.httpTransport, d.cfg.sigMethod, len(d.cfg.endpoints), d.cfg.httpClients)
}

func (d *httpDriver) Prepare(ctx context.Context, run int) error {
	d.queue = queueName(d.cfg.queue, run)
	_, err := d.admin.CreateQueue(ctx, d.queue, &client.QueueAttributes{
		PollingWaitSeconds: client.Int64(1),
		VisibilityTimeout:  client.Int64(60),
		MaxMsgSize:         client.Int64(65536),
	})
	return err
}

func (d *httpDriver) Cleanup(ctx context.Context) error {
	if d.queue == "" {
		return nil
	}
	err := d.admin.DeleteQueue(ctx, d.queue)
	d.queue = ""
	return err
}

func (d *httpDriver) NewWorker(ctx context.Context, id int, _ role) (Adapter, error) {
	ep := id % len(d.cfg.endpoints)
	if d.cfg.httpClients == "shared" {
		return &httpWorker{c: d.shared[ep], queue: d.queue}, nil
	}
	c, err := newCMQClient(d.cfg, d.cfg.endpoints[ep], 2)
	if err != nil {
		return nil, err
	}
	d.perWorker = append(d.perWorker, c)
	return &httpWorker{c: c, queue: d.queue, own: true}, nil
}

func (d *httpDriver) Close() error {
	for _, c := range d.shared {
		c.Close()
	}
	for _, c := range d.perWorker {
		c.Close()
	}
	d.admin.Close()
	return nil
}

type httpWorker struct {
	c     *client.Client
	queue string
	own   bool
}

func (w *httpWorker) Send(ctx context.Context, bodies [][]byte) error {
	if len(bodies) == 1 {
		_, err := w.c.SendMessage(ctx, w.queue, string(bodies[0]), 0)
		return err
	}
	ss := make([]string, len(bodies))
	for i, b := range bodies {
		ss[i] = string(b)
	}
	_, err := w.c.BatchSendMessage(ctx, w.queue, ss, 0)
	return err
}

func (w *httpWorker) Receive(ctx context.Context, max int) ([]Msg, error) {
	ms, err := w.c.BatchReceiveMessage(ctx, w.queue, max, 1)
	if client.IsNoMessage(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]Msg, len(ms))
	for i, m := range ms {
		out[i] = Msg{Body: []byte(m.Body), ref: m.ReceiptHandle}
	}
	return out, nil
}

func (w *httpWorker) Ack(ctx context.Context, msgs []Msg) error {
	hs := make([]string, len(msgs))
	for i, m := range msgs {
		hs[i] = m.ref.(string)
	}
	_, err := w.c.BatchDeleteMessage(ctx, w.queue, hs)
	return err
}

func (w *httpWorker) Close() error {
	if w.own {
		w.c.Close()
	}
	return nil
}

// ---- opencmq-engine: the engine in-process, durable ----

const engineNS = "loadgen"

type engineDriver struct {
	cfg    *config
	dir    string
	tmp    bool
	e      *engine.Engine
	node   *replication.Node // with --raft
	queue  string
	closed bool
}

func openOpencmqEngine(ctx context.Context, cfg *config) (Driver, error) {
	d := &engineDriver{cfg: cfg, dir: cfg.engineDir}
	if d.dir == "" {
		dir, err := os.MkdirTemp("", "loadgen-engine-")
		if err != nil {
			return nil, err
		}
		d.dir, d.tmp = dir, true
	}
	var err error
	if cfg.raft {
		err = d.openRaft(ctx)
	} else {
		d.e, err = engine.Open(d.dir, engine.Options{})
	}
	if err != nil {
		if d.tmp {
			os.RemoveAll(d.dir)
		}
		return nil, err
	}
	return d, nil
}

// openRaft opens the engine behind a one-voter raft node, as cmqd runs it (the raft log
// takes the journal's place: one fsync per Ready batch).
func (d *engineDriver) openRaft(ctx context.Context) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	t, err := replication.NewTCPTransport("127.0.0.1:0", quiet)
	if err != nil {
		return err
	}
	node, err := replication.New(replication.Config{
		ID:        1,
		Dir:       filepath.Join(d.dir, "raft"),
		Peers:     []replication.Peer{{ID: 1, Addr: t.Addr()}},
		Transport: t,
		Logger:    quiet,
	})
	if err != nil {
		t.Stop()
		return err
	}
	e, err := engine.Open(filepath.Join(d.dir, "engine"), engine.Options{Replicator: node, Logger: quiet})
	if err != nil {
		t.Stop()
		return err
	}
	if err := node.Start(e); err != nil {
		e.Close()
		return err
	}
	d.e, d.node = e, node
	deadline := time.Now().Add(20 * time.Second)
	for !node.Ready() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			d.Close()
			return errors.New("raft node not ready after 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

func (d *engineDriver) Describe() string {
	if d.node != nil {
		return "engine in-process behind a one-voter raft node (as cmqd), durable, " + d.dir
	}
	return "engine in-process, standalone journal, durable (fsync before ack), " + d.dir
}

func (d *engineDriver) Prepare(ctx context.Context, run int) error {
	d.queue = queueName(d.cfg.queue, run)
	a := engine.DefaultQueueAttributes()
	a.PollingWaitSeconds = 1
	a.VisibilityTimeout = 60
	_, err := d.e.CreateQueue(ctx, engineNS, d.queue, a)
	return err
}

func (d *engineDriver) Cleanup(ctx context.Context) error {
	if d.queue == "" {
		return nil
	}
	err := d.e.DeleteQueue(ctx, engineNS, d.queue)
	d.queue = ""
	return err
}

func (d *engineDriver) NewWorker(ctx context.Context, id int, _ role) (Adapter, error) {
	return &engineWorker{e: d.e, queue: d.queue}, nil
}

func (d *engineDriver) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var err error
	if d.node != nil {
		err = d.node.Stop()
	}
	if cerr := d.e.Close(); err == nil {
		err = cerr
	}
	if d.tmp {
		if rerr := os.RemoveAll(d.dir); err == nil {
			err = rerr
		}
	}
	return err
}

type engineWorker struct {
	e     *engine.Engine
	queue string
}

func (w *engineWorker) Send(ctx context.Context, bodies [][]byte) error {
	if len(bodies) == 1 {
		_, err := w.e.SendMessage(ctx, engineNS, w.queue, bodies[0], 0)
		return err
	}
	_, err := w.e.BatchSendMessage(ctx, engineNS, w.queue, bodies, 0)
	return err
}

func (w *engineWorker) Receive(ctx context.Context, max int) ([]Msg, error) {
	ms, err := w.e.ReceiveMessage(ctx, engineNS, w.queue, max, 1)
	if errors.Is(err, engine.ErrNoMessage) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]Msg, len(ms))
	for i, m := range ms {
		out[i] = Msg{Body: bytes.Clone(m.Body), ref: m.ReceiptHandle}
	}
	return out, nil
}

func (w *engineWorker) Ack(ctx context.Context, msgs []Msg) error {
	hs := make([]string, len(msgs))
	for i, m := range msgs {
		hs[i] = m.ref.(string)
	}
	_, err := w.e.BatchDeleteMessage(ctx, engineNS, w.queue, hs)
	return err
}

func (w *engineWorker) Close() error { return nil }

// ---- opencmq-inproc: cmqd's API (httpapi over fasthttp) and the engine in this process ----

// inprocDriver serves httpapi in-process, on 127.0.0.1, in front of a durable engine, and
// drives it with the opencmq-http workers. It is cmqd without the process boundary, so that
// --cpuprofile shows the whole server path (HTTP parsing, signature, JSON, engine, fsync
// wait) next to the client's cost.
type inprocDriver struct {
	*httpDriver
	eng  *engineDriver
	ln   net.Listener
	srv  *fasthttp.Server
	done chan error
}

const (
	inprocSecretID  = "AKIDloadgen0000000000000000000000000"
	inprocSecretKey = "loadgenloadgenloadgenloadgenload"
)

func openOpencmqInproc(ctx context.Context, cfg *config) (Driver, error) {
	ed, err := openOpencmqEngine(ctx, cfg)
	if err != nil {
		return nil, err
	}
	d := &inprocDriver{eng: ed.(*engineDriver), done: make(chan error, 1)}
	api, err := httpapi.New(httpapi.Config{
		Backend:  d.eng.e,
		Accounts: []httpapi.Account{{Namespace: engineNS, SecretID: inprocSecretID, SecretKey: inprocSecretKey}},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		ed.Close()
		return nil, err
	}
	if d.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		ed.Close()
		return nil, err
	}
	d.srv = api.NewHTTPServer()
	go func() { d.done <- d.srv.Serve(d.ln) }()
	c := *cfg
	c.endpoints = []string{"http://" + d.ln.Addr().String()}
	c.secretID, c.secretKey = inprocSecretID, inprocSecretKey
	hd, err := openOpencmqHTTP(ctx, &c)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.httpDriver = hd.(*httpDriver)
	return d, nil
}

func (d *inprocDriver) Describe() string {
	return "httpapi (fasthttp) in-process on " + d.ln.Addr().String() + " + " + d.eng.Describe() + "; " + d.httpDriver.Describe()
}

func (d *inprocDriver) Close() error {
	if d.httpDriver != nil {
		d.httpDriver.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := d.srv.ShutdownWithContext(ctx)
	<-d.done
	if cerr := d.eng.Close(); err == nil {
		err = cerr
	}
	return err
}
