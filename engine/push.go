package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"
)

// PushOptions configure how messages are pushed to HTTP subscriptions.
type PushOptions struct {
	// Disabled turns pushing off (messages still queue up for HTTP subscriptions).
	Disabled bool
	// AllowNetworks, if not empty, is the only set of addresses pushes may connect to.
	// Otherwise pushes may reach any address except loopback, private, link-local,
	// unspecified and multicast ones, unless AllowPrivate is set: so a tenant cannot make
	// the server call internal services. The check is made on the address actually
	// dialled, after DNS resolution.
	AllowNetworks []netip.Prefix
	AllowPrivate  bool
	// Concurrency bounds the pushes in flight per subscription; default 16. A slow or dead
	// endpoint holds up only its own subscription.
	Concurrency int
	// Timeout is how long an endpoint has to answer; default 15 s (CMQ's).
	Timeout time.Duration
	// RetryUnit scales the retry intervals (CMQ's are in seconds); default 1 s. Tests
	// shrink it.
	RetryUnit time.Duration
	// Client, if set, is used instead of the default (which enforces the network policy).
	Client *http.Client
}

// Retry limits (reference §12).
const (
	backoffRetries      = 3   // BACKOFF_RETRY: 3 retries 10–20 s apart, then drop
	exponentialAttempts = 176 // EXPONENTIAL_DECAY_RETRY: 1, 2, 4 … 512 s, then every 512 s
)

// retryDelay returns how long to wait after the attempt-th failed push (1-based), or false
// if the message has run out of attempts.
func retryDelay(strategy string, attempt int, unit time.Duration) (time.Duration, bool) {
	if strategy == StrategyBackoff {
		if attempt > backoffRetries {
			return 0, false
		}
		return unit * time.Duration(10+rand.IntN(11)), true
	}
	if attempt >= exponentialAttempts {
		return 0, false
	}
	return unit * time.Duration(min(1<<min(attempt-1, 9), 512)), true
}

// pushTarget is a snapshot of what a push worker needs to know about its subscription.
type pushTarget struct {
	queueID      uint64
	namespace    string
	topic        string
	subscription string
	endpoint     string
	strategy     string
	format       string
}

func (e *Engine) pushTargets() map[uint64]pushTarget {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make(map[uint64]pushTarget, len(e.sm.pushSubs))
	for qid, s := range e.sm.pushSubs {
		var topicName, ns string
		for _, nsTopics := range e.sm.topics {
			for _, t := range nsTopics {
				if t.id == s.topicID {
					topicName, ns = t.name, t.namespace
				}
			}
		}
		out[qid] = pushTarget{queueID: qid, namespace: ns, topic: topicName, subscription: s.cfg.Name,
			endpoint: s.cfg.Endpoint, strategy: s.cfg.NotifyStrategy, format: s.cfg.NotifyContentFormat}
	}
	return out
}

// pushLoop keeps one worker per HTTP subscription while this replica leads (standalone:
// always), and none otherwise.
func (e *Engine) pushLoop() {
	defer close(e.pushDone)
	workers := map[uint64]*pushWorker{}
	stopAll := func() {
		for id, w := range workers {
			w.stop()
			delete(workers, id)
		}
	}
	defer stopAll()
	ticker := time.NewTicker(250 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-e.pushStop:
			return
		case <-ticker.C:
		}
		if e.opts.Replicator != nil && !e.opts.Replicator.IsLeader() || e.usable() != nil {
			stopAll()
			continue
		}
		targets := e.pushTargets()
		for id, w := range workers {
			if _, ok := targets[id]; !ok {
				w.stop()
				delete(workers, id)
			}
		}
		for id, t := range targets {
			if w := workers[id]; w != nil {
				w.update(t)
				continue
			}
			w := &pushWorker{e: e, target: t, done: make(chan struct{}), cancel: make(chan struct{})}
			workers[id] = w
			go w.run()
		}
	}
}

type pushWorker struct {
	e      *Engine
	mu     sync.Mutex
	target pushTarget
	cancel chan struct{}
	done   chan struct{}
	once   sync.Once
}

func (w *pushWorker) update(t pushTarget) {
	w.mu.Lock()
	w.target = t
	w.mu.Unlock()
}

func (w *pushWorker) current() pushTarget {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.target
}

func (w *pushWorker) stop() {
	w.once.Do(func() { close(w.cancel) })
	<-w.done
}

func (w *pushWorker) run() {
	defer close(w.done)
	e := w.e
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-w.cancel
		cancel()
	}()
	conc := e.push.Concurrency
	slots := make(chan struct{}, conc)
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for ctx.Err() == nil {
		// Take as many messages as there are free slots; wait for one if none is free.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		n := 1
	fill:
		for n < conc && n < e.limits.MaxBatch {
			select {
			case slots <- struct{}{}:
				n++
			default:
				break fill
			}
		}
		t := w.current()
		msgs, err := e.receive(ctx, target{id: t.queueID}, n, 5)
		for i := len(msgs); i < n; i++ {
			<-slots
		}
		if err != nil {
			if !errors.Is(err, ErrNoMessage) {
				select {
				case <-time.After(time.Second):
				case <-ctx.Done():
				}
			}
			continue
		}
		for _, m := range msgs {
			inflight.Add(1)
			go func(m Message) {
				defer inflight.Done()
				defer func() { <-slots }()
				w.deliver(ctx, t, m)
			}(m)
		}
	}
}

// deliver pushes one message and records the outcome: deleted if delivered, retried later
// on the subscription's strategy, or dropped (and counted) when out of attempts.
func (w *pushWorker) deliver(ctx context.Context, t pushTarget, m Message) {
	e := w.e
	err := e.pushOnce(ctx, t, m)
	if ctx.Err() != nil {
		// Stopping (Close, or this replica stopped leading): hand the message back at once
		// rather than leave it leased. If even that fails, the lease runs out and whoever
		// pushes next delivers it.
		rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		e.propose(rctx, &Command{Type: CmdChangeVisibility, QueueID: t.queueID, Handles: []string{m.ReceiptHandle}}, false)
		return
	}
	cmd := &Command{Type: CmdPushDone, QueueID: t.queueID, Handles: []string{m.ReceiptHandle}}
	if err != nil {
		delay, ok := retryDelay(t.strategy, m.DequeueCount, e.push.RetryUnit)
		if ok {
			cmd = &Command{Type: CmdChangeVisibility, QueueID: t.queueID, Handles: []string{m.ReceiptHandle},
				VisibilityMillis: delay.Milliseconds()}
		} else {
			cmd.GiveUp = true
			e.logger.Warn("engine: push gave up", "topic", t.topic, "subscription", t.subscription, "msgId", m.ID, "err", err)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	e.propose(cctx, cmd, false)
}

type pushJSON struct {
	TopicOwner       string `json:"TopicOwner"`
	TopicName        string `json:"topicName"`
	SubscriptionName string `json:"subscriptionName"`
	MsgID            string `json:"msgId"`
	MsgBody          string `json:"msgBody"`
	PublishTime      int64  `json:"publishTime"`
}

// pushOnce makes one push request in the subscription's format (reference §12).
func (e *Engine) pushOnce(ctx context.Context, t pushTarget, m Message) error {
	tags, body, err := DecodePushRecord(m.Body)
	if err != nil {
		return err
	}
	payload := body
	if t.format != FormatSimplified {
		payload, err = json.Marshal(pushJSON{TopicOwner: t.namespace, TopicName: t.topic, SubscriptionName: t.subscription,
			MsgID: m.ID, MsgBody: string(body), PublishTime: m.EnqueueTime.Unix()})
		if err != nil {
			return err
		}
	}
	rctx, cancel := context.WithTimeout(ctx, e.push.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, t.endpoint, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", "Qcloud Notification Service Agent")
	req.Header.Set("x-cmq-request-id", fmt.Sprintf("%s-%d", m.ID, m.DequeueCount))
	req.Header.Set("x-cmq-message-id", m.ID)
	if len(tags) > 0 {
		req.Header.Set("x-cmq-message-tag", strings.Join(tags, ", "))
	}
	resp, err := e.pushClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("endpoint answered %s", resp.Status)
	}
	return nil
}

// newPushClient builds the HTTP client pushes use, with the network policy enforced on
// every connection.
func newPushClient(o PushOptions) *http.Client {
	if o.Client != nil {
		return o.Client
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if !pushAllowed(o, ap.Addr().Unmap()) {
			return fmt.Errorf("push to %s refused by the server's network policy", ap.Addr())
		}
		return nil
	}}
	tr := &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second,
		Proxy: nil, ForceAttemptHTTP2: true}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a redirect is an answer, not an instruction
	}}
}

func pushAllowed(o PushOptions, a netip.Addr) bool {
	if len(o.AllowNetworks) > 0 {
		for _, p := range o.AllowNetworks {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if o.AllowPrivate {
		return true
	}
	return !(a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast())
}
