package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/opencmq/opencmq/httpapi/client"
	"github.com/opencmq/opencmq/segment/vfs"
)

// ---- fasthttp-ceiling: a bare fasthttp server answering a fixed small JSON ----

// ceilingResponse is what SendMessage answers, with a fixed id: the client decodes it like a
// real answer.
var ceilingResponse = []byte(`{"code":0,"message":"","requestId":"00000000-0000-0000-0000-000000000000","msgId":"0123456789abcdef0123456789abcdef"}`)

type fasthttpDriver struct {
	*httpDriver
	ln   net.Listener
	srv  *fasthttp.Server
	done chan error
	reqs atomic.Int64
}

// openFasthttpCeiling starts a fasthttp server on 127.0.0.1 that reads each request (the
// same signed, form-encoded SendMessage the opencmq-http adapter sends) and answers a fixed
// JSON without parsing, verifying or storing anything; the workers are opencmq-http workers
// pointed at it. What it measures is the cost of HTTP on this machine at this concurrency.
func openFasthttpCeiling(ctx context.Context, cfg *config) (Driver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &fasthttpDriver{ln: ln, done: make(chan error, 1)}
	d.srv = &fasthttp.Server{
		Handler: func(rc *fasthttp.RequestCtx) {
			d.reqs.Add(1)
			_ = rc.PostBody() // read (fasthttp has already read it into memory)
			rc.SetContentType("application/json")
			rc.SetBody(ceilingResponse)
		},
		Name: "fasthttp-ceiling",
	}
	go func() { d.done <- d.srv.Serve(ln) }()
	c := *cfg
	c.endpoints = []string{"http://" + ln.Addr().String()}
	if c.secretID == "" {
		c.secretID, c.secretKey = "AKIDceiling0000000000000000000000000", "ceilingceilingceilingceilingceil"
	}
	workers := c.producers + c.consumers + c.preloadP
	d.httpDriver = &httpDriver{cfg: &c}
	if d.admin, err = newCMQClient(&c, c.endpoints[0], 2); err != nil {
		d.Close()
		return nil, err
	}
	if c.httpClients == "shared" {
		sc, err := newCMQClient(&c, c.endpoints[0], workers+8)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.shared = []*client.Client{sc}
	}
	return d, nil
}

func (d *fasthttpDriver) Describe() string {
	return fmt.Sprintf("bare fasthttp server in-process on %s, fixed JSON answer; httpapi/client on %s, %s, %s clients", d.ln.Addr(), d.cfg.httpTransport, d.cfg.sigMethod, d.cfg.httpClients)
}

func (d *fasthttpDriver) Prepare(ctx context.Context, run int) error {
	d.queue = queueName(d.cfg.queue, run)
	return nil
}

func (d *fasthttpDriver) Cleanup(ctx context.Context) error { return nil }

func (d *fasthttpDriver) Close() error {
	if d.httpDriver != nil && d.admin != nil {
		d.httpDriver.Close()
	}
	err := d.srv.Shutdown()
	<-d.done
	return err
}

// ---- fsync-ceiling: raw append + fdatasync rate ----

type fsyncDriver struct {
	cfg *config
	dir string
	tmp bool
	n   atomic.Int64
}

func openFsyncCeiling(ctx context.Context, cfg *config) (Driver, error) {
	d := &fsyncDriver{cfg: cfg, dir: cfg.fsyncDir}
	if d.dir == "" {
		dir, err := os.MkdirTemp("", "loadgen-fsync-")
		if err != nil {
			return nil, err
		}
		d.dir, d.tmp = dir, true
	} else if err := os.MkdirAll(d.dir, 0o750); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *fsyncDriver) Describe() string {
	return fmt.Sprintf("append --batch records of --size bytes to a growing file, then File.Sync (segment/vfs.Default, as the segment log); one file per producer; in %s", d.dir)
}

func (d *fsyncDriver) Prepare(ctx context.Context, run int) error { return nil }

func (d *fsyncDriver) Cleanup(ctx context.Context) error { return nil }

func (d *fsyncDriver) NewWorker(ctx context.Context, id int, _ role) (Adapter, error) {
	name := filepath.Join(d.dir, fmt.Sprintf("fsync-%d-%d.bin", id, d.n.Add(1)))
	f, err := vfs.Default.Create(name)
	if err != nil {
		return nil, err
	}
	return &fsyncWorker{f: f, name: name}, nil
}

func (d *fsyncDriver) Close() error {
	if d.tmp {
		return os.RemoveAll(d.dir)
	}
	return nil
}

type fsyncWorker struct {
	f    vfs.File
	name string
	buf  []byte
}

func (w *fsyncWorker) Send(ctx context.Context, bodies [][]byte) error {
	w.buf = w.buf[:0]
	for _, b := range bodies {
		w.buf = append(w.buf, b...)
	}
	if _, err := w.f.Write(w.buf); err != nil {
		return err
	}
	return w.f.Sync()
}

func (w *fsyncWorker) Receive(ctx context.Context, max int) ([]Msg, error) {
	return nil, errUnsupported
}

func (w *fsyncWorker) Ack(ctx context.Context, msgs []Msg) error { return errUnsupported }

func (w *fsyncWorker) Close() error {
	err := w.f.Close()
	if rerr := os.Remove(w.name); err == nil {
		err = rerr
	}
	return err
}
