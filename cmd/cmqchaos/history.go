package main

// The history: every client operation of the run, as invoked and as completed, written as
// JSON lines (history.jsonl) and kept in memory for the checks.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/opencmq/opencmq/httpapi/client"
)

// Outcome of an operation. "info" is indeterminate: a timeout, a reset, a 5xx or an
// "outcome unknown" answer may or may not have taken effect, so the checks never count it
// as a failure, and never as a success either.
const (
	outcomeOK   = "ok"
	outcomeFail = "fail"
	outcomeInfo = "info"
)

// Operation kinds.
const (
	opSend    = "send"
	opReceive = "receive"
	opDelete  = "delete"
)

// Op is one client operation. Times are unix milliseconds on this machine's clock, which
// is also the servers' clock (they run on the same machine).
type Op struct {
	Worker   string `json:"worker"`
	Op       string `json:"op"`
	Queue    string `json:"queue"`
	Node     int    `json:"node"`
	Invoke   int64  `json:"invoke"`
	Complete int64  `json:"complete"`
	Type     string `json:"type"`
	Err      string `json:"err,omitempty"`

	// send: the message's id (from its body), delay, the checksum of the exact body sent
	// and, when acknowledged, the msgId the server gave it.
	ID    string `json:"id,omitempty"`
	Delay int64  `json:"delay,omitempty"`
	Sum   string `json:"sum,omitempty"`
	MsgID string `json:"msgId,omitempty"`

	// receive: what was delivered.
	Msgs []Delivery `json:"msgs,omitempty"`

	// delete: the receipt handle deleted (MsgID and ID say whose it was).
	Handle string `json:"handle,omitempty"`
}

// Delivery is one message a receive returned.
type Delivery struct {
	ID     string `json:"id"`            // from the body; "" if the body does not parse
	MsgID  string `json:"msgId"`         // the server's id of the message
	Handle string `json:"handle"`        // receipt handle of this delivery
	Sum    string `json:"sum"`           // checksum of the body as received
	Bad    string `json:"bad,omitempty"` // why the body failed its own check
	Count  int64  `json:"count"`         // dequeueCount the server reported
}

// classify turns an operation's error into its outcome: a CMQ error code below 5000 is a
// definite refusal (validation, queue full, stale handle: nothing changed), and so is a
// failure to connect (the request was never sent); anything else (code 6000 "outcome
// unknown", other 5xxx/6xxx codes, HTTP errors, timeouts, resets of a connection the
// request went out on) is indeterminate.
func classify(err error) string {
	if err == nil {
		return outcomeOK
	}
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Code > 0 && apiErr.Code < 5000 {
		return outcomeFail
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return outcomeFail
	}
	return outcomeInfo
}

// errText shortens an error for the history.
func errText(err error) string {
	if err == nil {
		return ""
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout: " + err.Error()
	}
	return err.Error()
}

func unixMs(t time.Time) int64 { return t.UnixMilli() }

// history records operations in memory and appends them to a JSON-lines file.
type history struct {
	mu  sync.Mutex
	ops []Op
	f   *os.File
	w   *bufio.Writer
	err error
}

func newHistory(path string) (*history, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &history{f: f, w: bufio.NewWriterSize(f, 256<<10)}, nil
}

// add records a completed operation.
func (h *history) add(op Op) {
	b, err := json.Marshal(op)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, op)
	if err == nil {
		b = append(b, '\n')
		_, err = h.w.Write(b)
	}
	if err != nil && h.err == nil {
		h.err = err
	}
}

// snapshot returns the operations recorded so far.
func (h *history) snapshot() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Op(nil), h.ops...)
}

// close flushes and closes the file.
func (h *history) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	err := h.w.Flush()
	if cerr := h.f.Close(); err == nil {
		err = cerr
	}
	if h.err != nil {
		return fmt.Errorf("writing the history: %w", h.err)
	}
	return err
}
