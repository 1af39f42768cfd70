package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ---- rabbitmq: amqp091-go, durable queue, persistent messages, publisher confirms ----
//
// Every worker has its own connection and channel. A producer's channel is in confirm mode;
// Send publishes its batch (persistent, mandatory=false) and returns when every message of it
// is confirmed (a nack is an error). A consumer sets basic.qos prefetch and basic.consume with
// manual acks; Receive takes what has been delivered (waiting up to 1 s for the first) and Ack
// acknowledges the batch with one basic.ack multiple=true on its last delivery tag (the
// channel's deliveries are acked in order, so that covers exactly the batch).
//
// With several --amqp-url (the nodes of a cluster) worker i connects to URL i mod n, and the
// queue is declared through the first one (a quorum queue's leader starts on that node).

type rabbitDriver struct {
	cfg   *config
	admin *amqp.Connection
	queue string
}

func rabbitDial(url string) (*amqp.Connection, error) {
	return amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(10 * time.Second)})
}

func openRabbitMQ(ctx context.Context, cfg *config) (Driver, error) {
	if len(cfg.amqpURLs) == 0 {
		return nil, errors.New("rabbitmq: no --amqp-url")
	}
	conn, err := rabbitDial(cfg.amqpURLs[0])
	if err != nil {
		return nil, err
	}
	return &rabbitDriver{cfg: cfg, admin: conn}, nil
}

func (d *rabbitDriver) Describe() string {
	kind := "classic"
	if d.cfg.rabbitQuorum {
		kind = "quorum"
	}
	return fmt.Sprintf("amqp091-go, durable %s queue, persistent messages, publisher confirms (wait per batch), manual ack (multiple=true per batch), prefetch %d, %d node URL(s), server %v", kind, d.cfg.prefetch, len(d.cfg.amqpURLs), d.admin.Properties["version"])
}

func (d *rabbitDriver) Prepare(ctx context.Context, run int) error {
	d.queue = queueName(d.cfg.queue, run)
	ch, err := d.admin.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	args := amqp.Table{}
	if d.cfg.rabbitQuorum {
		args["x-queue-type"] = "quorum"
	} else {
		args["x-queue-type"] = "classic"
	}
	_, err = ch.QueueDeclare(d.queue, true /*durable*/, false, false, false, args)
	return err
}

func (d *rabbitDriver) Cleanup(ctx context.Context) error {
	if d.queue == "" {
		return nil
	}
	ch, err := d.admin.Channel()
	if err != nil {
		return err
	}
	defer ch.Close()
	_, err = ch.QueueDelete(d.queue, false, false, false)
	d.queue = ""
	return err
}

func (d *rabbitDriver) NewWorker(ctx context.Context, id int, ro role) (Adapter, error) {
	conn, err := rabbitDial(d.cfg.amqpURLs[id%len(d.cfg.amqpURLs)])
	if err != nil {
		return nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return nil, err
	}
	w := &rabbitWorker{conn: conn, ch: ch, queue: d.queue}
	if ro == roleProducer {
		if err := ch.Confirm(false); err != nil {
			conn.Close()
			return nil, err
		}
		return w, nil
	}
	if err := ch.Qos(d.cfg.prefetch, 0, false); err != nil {
		conn.Close()
		return nil, err
	}
	w.deliveries, err = ch.Consume(d.queue, fmt.Sprintf("loadgen-%d", id), false /*autoAck*/, false, false, false, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return w, nil
}

func (d *rabbitDriver) Close() error { return d.admin.Close() }

type rabbitWorker struct {
	conn       *amqp.Connection
	ch         *amqp.Channel
	queue      string
	deliveries <-chan amqp.Delivery
	timer      *time.Timer
}

var errNacked = errors.New("rabbitmq: publish nacked")

func (w *rabbitWorker) Send(ctx context.Context, bodies [][]byte) error {
	confs := make([]*amqp.DeferredConfirmation, 0, len(bodies))
	for _, b := range bodies {
		c, err := w.ch.PublishWithDeferredConfirmWithContext(ctx, "", w.queue, false, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent,
			ContentType:  "application/octet-stream",
			Body:         b,
		})
		if err != nil {
			return err
		}
		confs = append(confs, c)
	}
	for _, c := range confs {
		ok, err := c.WaitContext(ctx)
		if err != nil {
			return err
		}
		if !ok {
			return errNacked
		}
	}
	return nil
}

func (w *rabbitWorker) Receive(ctx context.Context, max int) ([]Msg, error) {
	if w.timer == nil {
		w.timer = time.NewTimer(time.Second)
	} else {
		w.timer.Reset(time.Second)
	}
	var out []Msg
	select {
	case d, ok := <-w.deliveries:
		if !ok {
			return nil, errors.New("rabbitmq: consumer closed")
		}
		out = append(out, Msg{Body: d.Body, ref: d.DeliveryTag})
	case <-w.timer.C:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for len(out) < max {
		select {
		case d, ok := <-w.deliveries:
			if !ok {
				return out, nil
			}
			out = append(out, Msg{Body: d.Body, ref: d.DeliveryTag})
			continue
		default:
		}
		break
	}
	return out, nil
}

func (w *rabbitWorker) Ack(ctx context.Context, msgs []Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	return w.ch.Ack(msgs[len(msgs)-1].ref.(uint64), true)
}

func (w *rabbitWorker) Close() error {
	return w.conn.Close()
}
