package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Msg is one received message: its body and whatever the adapter needs to acknowledge it.
type Msg struct {
	Body []byte
	ref  any
}

// Adapter is one worker's connection to a broker. A worker uses its adapter from one
// goroutine only.
type Adapter interface {
	// Send sends 1..16 messages and returns once the broker has acknowledged them durably
	// (opencmq: fsynced; RabbitMQ: publisher confirm; NATS: PubAck).
	Send(ctx context.Context, bodies [][]byte) error
	// Receive returns up to max messages, waiting up to about a second for the first one.
	// It returns no messages and a nil error when none arrived in that time.
	Receive(ctx context.Context, max int) ([]Msg, error)
	// Ack acknowledges (deletes) received messages.
	Ack(ctx context.Context, msgs []Msg) error
	Close() error
}

// Driver sets a broker up for a run and makes the workers' adapters.
type Driver interface {
	// Prepare makes a fresh, empty destination (queue, stream) for run number run.
	Prepare(ctx context.Context, run int) error
	// NewWorker returns the adapter of worker id (producers first, then consumers).
	NewWorker(ctx context.Context, id int, role role) (Adapter, error)
	// Cleanup removes the run's destination.
	Cleanup(ctx context.Context) error
	// Describe names the setup for the report (durability settings, ack mode, …).
	Describe() string
	Close() error
}

type role int

const (
	roleProducer role = iota
	roleConsumer
)

var errUnsupported = errors.New("not supported by this adapter")

// adapters are the known --adapter values and whether they can receive.
var adapters = map[string]struct {
	open       func(ctx context.Context, c *config) (Driver, error)
	canReceive bool
}{
	"opencmq-http":     {openOpencmqHTTP, true},
	"opencmq-engine":   {openOpencmqEngine, true},
	"opencmq-inproc":   {openOpencmqInproc, true},
	"rabbitmq":         {openRabbitMQ, true},
	"nats":             {openNATS, true},
	"fasthttp-ceiling": {openFasthttpCeiling, false},
	"fsync-ceiling":    {openFsyncCeiling, false},
}

func adapterNames() []string {
	var names []string
	for n := range adapters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// tsLen is the length of the timestamp that starts every body: unix nanoseconds, 19 decimal
// digits (ASCII, so every broker and CMQ's JSON carry it unchanged).
const tsLen = 19

// fillBody writes the send time into the first tsLen bytes of b; the rest is left as is.
func fillBody(b []byte, now time.Time) {
	n := now.UnixNano()
	for i := tsLen - 1; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
}

// newBody returns a body of size bytes: a zero timestamp followed by ASCII padding.
func newBody(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	fillBody(b, time.Unix(0, 0))
	return b
}

// bodyTime reads the send time from a body made by fillBody.
func bodyTime(b []byte) (time.Time, error) {
	if len(b) < tsLen {
		return time.Time{}, fmt.Errorf("body of %d bytes has no timestamp", len(b))
	}
	n, err := strconv.ParseInt(string(b[:tsLen]), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("body timestamp: %w", err)
	}
	return time.Unix(0, n), nil
}
