package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ---- nats: JetStream (nats.go's jetstream package), file storage, work-queue retention ----
//
// Every worker has its own connection. Send with one body is jetstream.Publish, which waits
// for the PubAck; with more it PublishAsyncs the batch and waits for every PubAck. The
// stream's durability is the server's: with nats-server's default sync_interval (2 min) a
// PubAck means "written", not "fsynced"; `jetstream { sync_interval: always }` fsyncs every
// write before the PubAck. Consumers share one durable pull consumer (explicit ack): Receive
// is FetchNoWait(max), or when that is empty Fetch(1, 1 s max wait) and FetchNoWait for the
// rest; Ack is Msg.Ack per message (--nats-ack ack: no reply awaited) or Msg.DoubleAck
// (--nats-ack sync: AckSync, waits for the server's confirmation).
//
// --nats-replicas R creates the stream with R replicas (a JetStream cluster of at least R
// servers): the PubAck then comes after a quorum of the replicas has the message. With several
// --nats-url (the servers of a cluster) worker i connects to URL i mod n first, the others
// being its fallbacks, as opencmq-http spreads its workers over --endpoint.

type natsDriver struct {
	cfg    *config
	nc     *nats.Conn
	js     jetstream.JetStream
	stream string
	subj   string
}

const natsConsumer = "loadgen"

// natsServers is the server list for connection i: URL i mod n first, then the rest in order.
func natsServers(urls []string, i int) string {
	k := i % len(urls)
	return strings.Join(append(append([]string{}, urls[k:]...), urls[:k]...), ",")
}

func natsConnect(urls []string, i int) (*nats.Conn, jetstream.JetStream, error) {
	if len(urls) == 0 {
		return nil, nil, errors.New("nats: no --nats-url")
	}
	nc, err := nats.Connect(natsServers(urls, i), nats.DontRandomize(), nats.Timeout(10*time.Second), nats.Name("loadgen"))
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func openNATS(ctx context.Context, cfg *config) (Driver, error) {
	nc, js, err := natsConnect(cfg.natsURLs, 0)
	if err != nil {
		return nil, err
	}
	if _, err := js.AccountInfo(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("JetStream not available at %s: %w", nc.ConnectedUrl(), err)
	}
	return &natsDriver{cfg: cfg, nc: nc, js: js}, nil
}

func (d *natsDriver) Describe() string {
	ack := "Ack per message (no reply awaited)"
	if d.cfg.natsAck == "sync" {
		ack = "AckSync (DoubleAck) per message"
	}
	return fmt.Sprintf("nats.go jetstream, file storage, work-queue retention, %d replica(s), %d server URL(s); publish waits for PubAck (batch: PublishAsync + wait all); one durable pull consumer, FetchNoWait(max) or Fetch(1, 1s)+FetchNoWait, %s; server %s", d.cfg.natsReplicas, len(d.cfg.natsURLs), ack, d.nc.ConnectedServerVersion())
}

func (d *natsDriver) Prepare(ctx context.Context, run int) error {
	d.stream = strings.ReplaceAll(queueName(d.cfg.queue, run), ".", "_")
	d.subj = "loadgen." + d.stream
	_, err := d.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:      d.stream,
		Subjects:  []string{d.subj},
		Storage:   jetstream.FileStorage,
		Retention: jetstream.WorkQueuePolicy,
		Replicas:  d.cfg.natsReplicas,
	})
	if err != nil {
		return err
	}
	_, err = d.js.CreateOrUpdateConsumer(ctx, d.stream, jetstream.ConsumerConfig{
		Durable:       natsConsumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       60 * time.Second,
		MaxAckPending: 65536,
	})
	return err
}

func (d *natsDriver) Cleanup(ctx context.Context) error {
	if d.stream == "" {
		return nil
	}
	err := d.js.DeleteStream(ctx, d.stream)
	d.stream = ""
	return err
}

func (d *natsDriver) NewWorker(ctx context.Context, id int, ro role) (Adapter, error) {
	nc, js, err := natsConnect(d.cfg.natsURLs, id)
	if err != nil {
		return nil, err
	}
	w := &natsWorker{nc: nc, js: js, subj: d.subj, syncAck: d.cfg.natsAck == "sync"}
	if ro == roleConsumer {
		w.cons, err = js.Consumer(ctx, d.stream, natsConsumer)
		if err != nil {
			nc.Close()
			return nil, err
		}
	}
	return w, nil
}

func (d *natsDriver) Close() error {
	d.nc.Close()
	return nil
}

type natsWorker struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	subj    string
	cons    jetstream.Consumer
	syncAck bool
}

func (w *natsWorker) Send(ctx context.Context, bodies [][]byte) error {
	if len(bodies) == 1 {
		_, err := w.js.Publish(ctx, w.subj, bodies[0])
		return err
	}
	futs := make([]jetstream.PubAckFuture, 0, len(bodies))
	for _, b := range bodies {
		f, err := w.js.PublishAsync(w.subj, b)
		if err != nil {
			return err
		}
		futs = append(futs, f)
	}
	for _, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Receive returns what is available at once (FetchNoWait, up to max); when nothing is, it
// waits up to 1 s for one message (Fetch(1)) and then takes what else is there — like CMQ's
// BatchReceiveMessage, which answers as soon as one message is visible. (A plain
// Fetch(max, 1 s) would wait for a full batch, stalling the tail of a drain by a second.)
func (w *natsWorker) Receive(ctx context.Context, max int) ([]Msg, error) {
	out, err := w.collect(w.cons.FetchNoWait(max))
	if err != nil || len(out) > 0 {
		return out, err
	}
	if out, err = w.collect(w.cons.Fetch(1, jetstream.FetchMaxWait(time.Second))); err != nil || len(out) == 0 || max == 1 {
		return out, err
	}
	more, err := w.collect(w.cons.FetchNoWait(max - 1))
	return append(out, more...), err
}

// collect drains one fetch; running out of time or messages is not an error.
func (w *natsWorker) collect(batch jetstream.MessageBatch, err error) ([]Msg, error) {
	if err != nil {
		return nil, err
	}
	var out []Msg
	for m := range batch.Messages() {
		out = append(out, Msg{Body: m.Data(), ref: m})
	}
	if err := batch.Error(); err != nil && len(out) == 0 &&
		!errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	return out, nil
}

func (w *natsWorker) Ack(ctx context.Context, msgs []Msg) error {
	for _, m := range msgs {
		jm := m.ref.(jetstream.Msg)
		var err error
		if w.syncAck {
			err = jm.DoubleAck(ctx)
		} else {
			err = jm.Ack()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *natsWorker) Close() error {
	w.nc.Close()
	return nil
}
