package main

// End-to-end tests of topics on a real cmqd: fan-out to queue subscriptions by tag and routing
// key, HTTP pushes with retries (JSON and SIMPLIFIED), pushes across a restart, fan-out to 100
// queues; and, with OPENCMQ_BENCH=1, publish and push throughput.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencmq/opencmq/httpapi/client"
)

// pushArgs let pushes reach the test's receivers on loopback and retry 20 times faster than
// CMQ (EXPONENTIAL_DECAY_RETRY: 50, 100, 200 ms …; BACKOFF_RETRY: 0.5–1 s).
var pushArgs = []string{"--push-allow", "127.0.0.0/8", "--push-retry-unit", "50ms"}

// startTopicCmqd starts a cmqd with the e2e accounts and pushArgs on dataDir and waits until
// it is ready.
func startTopicCmqd(t *testing.T, dataDir, accountsFile string, extra ...string) *cmqdProc {
	t.Helper()
	p := startCmqd(t, append(append([]string{"--data", dataDir, "--accounts", accountsFile}, pushArgs...), extra...)...)
	p.waitReady(t)
	return p
}

// drainQueue receives and deletes every message of a queue (bounded) and returns the bodies.
func drainQueue(t *testing.T, c *client.Client, queue string) []string {
	t.Helper()
	ctx := context.Background()
	var bodies []string
	for range 1000 {
		ms, err := c.BatchReceiveMessage(ctx, queue, 16, 0)
		if client.IsNoMessage(err) {
			return bodies
		}
		if err != nil {
			t.Fatalf("receive from %s: %v", queue, err)
		}
		hs := make([]string, len(ms))
		for i, m := range ms {
			bodies = append(bodies, m.Body)
			hs[i] = m.ReceiptHandle
		}
		if _, err := c.BatchDeleteMessage(ctx, queue, hs); err != nil {
			t.Fatalf("delete from %s: %v", queue, err)
		}
	}
	t.Fatalf("queue %s did not drain", queue)
	return nil
}

func TestPushFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"--push-allow", "127.0.0.0/8, 10.1.2.3", "--push-allow", "::1/128", "--push-allow-private", "--push-retry-unit", "50ms"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.push.options()
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.1.2.3/32"), netip.MustParsePrefix("::1/128")}
	if !slices.Equal(o.AllowNetworks, want) || !o.AllowPrivate || o.RetryUnit != 50*time.Millisecond {
		t.Fatalf("push options %+v", o)
	}
	cfg, err = parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.push.options(); o.AllowNetworks != nil || o.AllowPrivate || o.RetryUnit != time.Second {
		t.Fatalf("default push options %+v", o)
	}
	for _, bad := range [][]string{{"--push-allow", "10.0.0.0/33"}, {"--push-allow", "example.com"}, {"--push-retry-unit", "0s"}, {"--push-retry-unit", "-1s"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	var help strings.Builder
	if _, err := parseFlags([]string{"--help"}, &help); err != flag.ErrHelp || !strings.Contains(help.String(), "-push-allow") {
		t.Fatalf("--help: %v\n%s", err, help.String())
	}
}

// TestE2ETopicFanOut publishes to tag and routing-key topics and checks that exactly the
// matching queue subscriptions get the messages.
func TestE2ETopicFanOut(t *testing.T) {
	t.Parallel()
	p := startTopicCmqd(t, filepath.Join(t.TempDir(), "data"), writeAccounts(t, e2eAccounts))
	ctx := context.Background()
	a := newClient(t, p.endpoint, e2eAccounts[0])
	for _, q := range []string{"all", "red", "redblue", "eu", "created", "everything"} {
		must(a.CreateQueue(ctx, q, nil))(t)
	}
	must(a.CreateTopic(ctx, "news", nil))(t)
	must(a.CreateTopic(ctx, "orders", &client.TopicAttributes{FilterType: client.FilterRoutingKey}))(t)
	for _, s := range []struct {
		topic, name string
		tags, keys  []string
	}{
		{"news", "all", nil, nil},
		{"news", "red", []string{"red"}, nil},
		{"news", "redblue", []string{"red", "blue"}, nil},
		{"orders", "eu", nil, []string{"order.eu.*"}},
		{"orders", "created", nil, []string{"*.*.created", "refund.#"}},
		{"orders", "everything", nil, []string{"#"}},
	} {
		must(a.Subscribe(ctx, s.topic, client.Subscription{Name: s.name, Protocol: client.ProtocolQueue, Endpoint: s.name, FilterTags: s.tags, BindingKeys: s.keys}))(t)
	}
	pub := func(topic, body string, tags []string, key string) {
		t.Helper()
		if _, err := a.PublishMessage(ctx, topic, body, tags, key); err != nil {
			t.Fatalf("publish %q: %v", body, err)
		}
	}
	pub("news", "untagged", nil, "")
	pub("news", "red", []string{"red"}, "")
	pub("news", "blue", []string{"blue"}, "")
	pub("news", "green", []string{"green", "x"}, "")
	ids := must(a.BatchPublishMessage(ctx, "news", []string{"batch1", "batch2", "batch3"}, []string{"blue", "red"}, ""))(t)
	if len(ids) != 3 || ids[0] == ids[1] {
		t.Fatalf("batch ids %q", ids)
	}
	pub("orders", "eu created", nil, "order.eu.created")
	pub("orders", "us created", nil, "order.us.created")
	pub("orders", "eu paid", nil, "order.eu.paid")
	pub("orders", "refund", nil, "refund.eu.x.y")
	must(a.BatchPublishMessage(ctx, "orders", []string{"o1", "o2"}, nil, "order.eu.shipped"))(t)
	// cmqctl publishes too.
	if out, errOut, code := ctl(t, p.endpoint, e2eAccounts[0], "", "publish", "news", "from cmqctl", "--tag", "red"); code != 0 || !strings.HasPrefix(out, "published msgId ") {
		t.Fatalf("cmqctl publish: %d %q %q", code, out, errOut)
	}

	for q, want := range map[string]string{
		"all":        "untagged,red,blue,green,batch1,batch2,batch3,from cmqctl",
		"red":        "red,batch1,batch2,batch3,from cmqctl",
		"redblue":    "red,blue,batch1,batch2,batch3,from cmqctl",
		"eu":         "eu created,eu paid,o1,o2",
		"created":    "eu created,us created,refund",
		"everything": "eu created,us created,eu paid,refund,o1,o2",
	} {
		if got := strings.Join(drainQueue(t, a, q), ","); got != want {
			t.Errorf("queue %s: %q, want %q", q, got, want)
		}
	}
	// Attributes over the wire.
	ti := must(a.GetTopicAttributes(ctx, "orders"))(t)
	if ti.FilterType != client.FilterRoutingKey || ti.MsgRetentionSeconds != 86400 || ti.MaxMsgSize != 65536 {
		t.Fatalf("topic attributes %+v", ti)
	}
	si := must(a.GetSubscriptionAttributes(ctx, "news", "redblue"))(t)
	if si.TopicOwner != "team-a" || si.Protocol != "queue" || strings.Join(si.FilterTags, ",") != "red,blue" || si.NotifyContentFormat != "SIMPLIFIED" {
		t.Fatalf("subscription attributes %+v", si)
	}
	// Account B sees none of it.
	b := newClient(t, p.endpoint, e2eAccounts[1])
	if _, err := b.PublishMessage(ctx, "news", "x", nil, ""); client.CodeOf(err) != client.CodeQueueNotExist {
		t.Fatalf("B publishes to A's topic: %v", err)
	}
	if l := must(b.ListTopic(ctx, client.ListOptions{}))(t); l.TotalCount != 0 {
		t.Fatalf("B lists %+v", l)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// pushRecord is one push a receiver got.
type pushRecord struct {
	path    string
	header  http.Header
	body    string
	attempt int // 1-based attempt of this message on this path
}

// pushReceiver is an HTTP subscription endpoint on 127.0.0.1 that fails the first failN
// attempts of every message (per path) with HTTP 500, and every attempt while down is set.
type pushReceiver struct {
	srv   *httptest.Server
	failN int
	down  atomic.Bool

	mu        sync.Mutex
	attempts  map[string]int          // path + " " + msgId → attempts so far
	delivered map[string][]pushRecord // path → accepted pushes
	failed    int                     // attempts answered 500
}

func newPushReceiver(t *testing.T, failN int) *pushReceiver {
	r := &pushReceiver{failN: failN, attempts: map[string]int{}, delivered: map[string][]pushRecord{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *pushReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	key := req.URL.Path + " " + req.Header.Get("x-cmq-message-id")
	r.mu.Lock()
	r.attempts[key]++
	n := r.attempts[key]
	ok := !r.down.Load() && n > r.failN
	if ok {
		r.delivered[req.URL.Path] = append(r.delivered[req.URL.Path], pushRecord{path: req.URL.Path, header: req.Header.Clone(), body: string(body), attempt: n})
	} else {
		r.failed++
	}
	r.mu.Unlock()
	if !ok {
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// distinct returns the distinct message ids delivered to path.
func (r *pushReceiver) distinct(path string) map[string]pushRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]pushRecord{}
	for _, rec := range r.delivered[path] {
		if _, seen := out[rec.header.Get("x-cmq-message-id")]; !seen {
			out[rec.header.Get("x-cmq-message-id")] = rec
		}
	}
	return out
}

func (r *pushReceiver) failures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// waitFor polls cond every 50 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestE2EPushRetries: an HTTP endpoint that fails three times per message, then succeeds,
// gets every message, in JSON (EXPONENTIAL_DECAY_RETRY) and SIMPLIFIED (BACKOFF_RETRY).
func TestE2EPushRetries(t *testing.T) {
	t.Parallel()
	recv := newPushReceiver(t, 3)
	p := startTopicCmqd(t, filepath.Join(t.TempDir(), "data"), writeAccounts(t, e2eAccounts))
	ctx := context.Background()
	a := newClient(t, p.endpoint, e2eAccounts[0])
	must(a.CreateTopic(ctx, "events", nil))(t)
	must(a.Subscribe(ctx, "events", client.Subscription{Name: "json", Protocol: client.ProtocolHTTP, Endpoint: recv.srv.URL + "/json",
		NotifyStrategy: client.StrategyExponential, NotifyContentFormat: client.FormatJSON}))(t)
	must(a.Subscribe(ctx, "events", client.Subscription{Name: "simple", Protocol: client.ProtocolHTTP, Endpoint: recv.srv.URL + "/simple",
		NotifyStrategy: client.StrategyBackoff, NotifyContentFormat: client.FormatSimplified, FilterTags: []string{"a"}}))(t)
	// A subscription to a refused address: loopback outside --push-allow is not reachable.
	must(a.Subscribe(ctx, "events", client.Subscription{Name: "refused", Protocol: client.ProtocolHTTP, Endpoint: "http://10.255.255.1:9/x"}))(t)

	type sent struct{ id, body string }
	var msgs []sent
	start := time.Now()
	for i := 0; i < 4; i++ {
		body := fmt.Sprintf(`message %d: "quoted" & ünïcode`, i)
		msgs = append(msgs, sent{must(a.PublishMessage(ctx, "events", body, []string{"a", "b"}, ""))(t), body})
	}
	ids := must(a.BatchPublishMessage(ctx, "events", []string{"batch 0", "batch 1"}, []string{"a"}, ""))(t)
	msgs = append(msgs, sent{ids[0], "batch 0"}, sent{ids[1], "batch 1"})

	waitFor(t, 30*time.Second, "every message pushed to both endpoints", func() bool {
		return len(recv.distinct("/json")) == len(msgs) && len(recv.distinct("/simple")) == len(msgs)
	})
	t.Logf("%d messages × 2 subscriptions delivered after 3 failures each in %v", len(msgs), time.Since(start).Round(time.Millisecond))
	jsonGot, simpleGot := recv.distinct("/json"), recv.distinct("/simple")
	for _, m := range msgs {
		for path, rec := range map[string]pushRecord{"/json": jsonGot[m.id], "/simple": simpleGot[m.id]} {
			if rec.attempt != 4 {
				t.Errorf("%s %s: delivered at attempt %d, want 4 (3 failures first)", path, m.id, rec.attempt)
			}
			h := rec.header
			if h.Get("Content-Type") != "text/plain" || h.Get("User-Agent") != "Qcloud Notification Service Agent" ||
				h.Get("x-cmq-message-id") != m.id || !strings.HasPrefix(h.Get("x-cmq-request-id"), m.id+"-") {
				t.Errorf("%s %s: headers %v", path, m.id, h)
			}
			wantTags := "a, b"
			if strings.HasPrefix(m.body, "batch") {
				wantTags = "a"
			}
			if got := h.Get("x-cmq-message-tag"); got != wantTags {
				t.Errorf("%s %s: x-cmq-message-tag %q, want %q", path, m.id, got, wantTags)
			}
		}
		if simpleGot[m.id].body != m.body {
			t.Errorf("SIMPLIFIED body %q, want %q", simpleGot[m.id].body, m.body)
		}
		var j struct {
			TopicOwner       string `json:"TopicOwner"`
			TopicName        string `json:"topicName"`
			SubscriptionName string `json:"subscriptionName"`
			MsgID            string `json:"msgId"`
			MsgBody          string `json:"msgBody"`
			PublishTime      int64  `json:"publishTime"`
		}
		if err := json.Unmarshal([]byte(jsonGot[m.id].body), &j); err != nil {
			t.Fatalf("JSON push body %q: %v", jsonGot[m.id].body, err)
		}
		if j.TopicOwner != "team-a" || j.TopicName != "events" || j.SubscriptionName != "json" || j.MsgID != m.id || j.MsgBody != m.body ||
			j.PublishTime < start.Unix()-1 || j.PublishTime > time.Now().Unix()+1 {
			t.Errorf("JSON push %+v for %+v", j, m)
		}
	}
	// The counters settle: everything delivered, nothing pending.
	waitFor(t, 10*time.Second, "subscription counters", func() bool {
		for _, s := range []string{"json", "simple"} {
			si := must(a.GetSubscriptionAttributes(ctx, "events", s))(t)
			if si.DeliveredCount != int64(len(msgs)) || si.MsgCount != 0 || si.FailedCount != 0 {
				return false
			}
		}
		return true
	})
	if si := must(a.GetSubscriptionAttributes(ctx, "events", "refused"))(t); si.DeliveredCount != 0 || si.MsgCount != int64(len(msgs)) {
		t.Fatalf("refused subscription %+v", si)
	}
	if ti := must(a.GetTopicAttributes(ctx, "events"))(t); ti.MsgCount != int64(len(msgs)) {
		t.Fatalf("topic msgCount %d, want %d (the refused subscription's)", ti.MsgCount, len(msgs))
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestE2EPushAcrossRestart: messages whose pushes are being retried when cmqd stops are all
// delivered after it starts again. They normally arrive at once (pushes in flight at the
// SIGTERM are handed back: TestE2EPushHandBackOnSIGTERM); the wait allows for a message that
// still holds its 60 s push lease all the same.
func TestE2EPushAcrossRestart(t *testing.T) {
	t.Parallel()
	recv := newPushReceiver(t, 0)
	recv.down.Store(true)
	dataDir := filepath.Join(t.TempDir(), "data")
	accounts := writeAccounts(t, e2eAccounts)
	p := startTopicCmqd(t, dataDir, accounts)
	ctx := context.Background()
	a := newClient(t, p.endpoint, e2eAccounts[0])
	must(a.CreateTopic(ctx, "events", nil))(t)
	must(a.Subscribe(ctx, "events", client.Subscription{Name: "hook", Protocol: client.ProtocolHTTP, Endpoint: recv.srv.URL + "/hook"}))(t)
	const n = 20
	want := map[string]string{}
	for i := 0; i < n; i += 4 {
		bodies := []string{}
		for j := i; j < i+4; j++ {
			bodies = append(bodies, "m"+strconv.Itoa(j))
		}
		for k, id := range must(a.BatchPublishMessage(ctx, "events", bodies, nil, ""))(t) {
			want[id] = bodies[k]
		}
	}
	// In the middle of the retries: every message failed at least twice.
	waitFor(t, 20*time.Second, "two failed attempts per message", func() bool { return recv.failures() >= 2*n })
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	recv.down.Store(false)
	if got := len(recv.distinct("/hook")); got != 0 {
		t.Fatalf("%d messages delivered while the endpoint was down", got)
	}
	r := startTopicCmqd(t, dataDir, accounts)
	restartAt := time.Now()
	waitFor(t, 90*time.Second, "every message after the restart", func() bool { return len(recv.distinct("/hook")) == n })
	t.Logf("all delivered %v after the restart", time.Since(restartAt))
	for id, rec := range recv.distinct("/hook") {
		var j struct {
			MsgID   string `json:"msgId"`
			MsgBody string `json:"msgBody"`
		}
		if err := json.Unmarshal([]byte(rec.body), &j); err != nil || want[id] == "" || j.MsgID != id || j.MsgBody != want[id] {
			t.Errorf("push %s: %q (%v), want body %q", id, rec.body, err, want[id])
		}
	}
	a2 := newClient(t, r.endpoint, e2eAccounts[0])
	waitFor(t, 10*time.Second, "nothing pending", func() bool {
		si := must(a2.GetSubscriptionAttributes(ctx, "events", "hook"))(t)
		return si.MsgCount == 0 && si.DeliveredCount >= n
	})
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestE2EPushHandBackOnSIGTERM: pushes in flight when cmqd gets SIGTERM are handed back
// (the engine's pushers stop before the raft node, while hand-backs can still commit), so
// they are pushed again right after the restart instead of a push lease (60 s) later.
func TestE2EPushHandBackOnSIGTERM(t *testing.T) {
	t.Parallel()
	// An endpoint that holds every request until released: pushes are surely in flight.
	release := make(chan struct{})
	var held atomic.Int64
	var mu sync.Mutex
	got := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		default:
			held.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Second):
			}
			http.Error(w, "late", http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		got[r.Header.Get("x-cmq-message-id")] = true
		mu.Unlock()
	}))
	defer srv.Close()
	dataDir := filepath.Join(t.TempDir(), "data")
	accounts := writeAccounts(t, e2eAccounts)
	p := startTopicCmqd(t, dataDir, accounts)
	ctx := context.Background()
	a := newClient(t, p.endpoint, e2eAccounts[0])
	must(a.CreateTopic(ctx, "events", nil))(t)
	must(a.Subscribe(ctx, "events", client.Subscription{Name: "hook", Protocol: client.ProtocolHTTP, Endpoint: srv.URL + "/hook"}))(t)
	const n = 4
	must(a.BatchPublishMessage(ctx, "events", []string{"m0", "m1", "m2", "m3"}, nil, ""))(t)
	waitFor(t, 10*time.Second, "every push in flight", func() bool { return held.Load() >= n })
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	close(release)
	r := startTopicCmqd(t, dataDir, accounts)
	restartAt := time.Now()
	deadline := restartAt.Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		k := len(got)
		mu.Unlock()
		if k == n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	k := len(got)
	mu.Unlock()
	if k != n {
		t.Errorf("%d of %d pushes that were in flight at SIGTERM delivered within 10 s of the restart: they were not handed back (cmqd stops the raft node before engine.Close)", k, n)
	}
	r.stop(t)
}

// TestE2EFanOut100: one publish lands in all 100 queue subscriptions of a topic (CMQ's limit
// per topic), in one step.
func TestE2EFanOut100(t *testing.T) {
	t.Parallel()
	p := startTopicCmqd(t, filepath.Join(t.TempDir(), "data"), writeAccounts(t, e2eAccounts))
	ctx := context.Background()
	a := newClient(t, p.endpoint, e2eAccounts[0])
	must(a.CreateTopic(ctx, "wide", nil))(t)
	const n = 100
	for i := 0; i < n; i++ {
		q := fmt.Sprintf("q%03d", i)
		must(a.CreateQueue(ctx, q, nil))(t)
		must(a.Subscribe(ctx, "wide", client.Subscription{Name: "s" + q, Protocol: client.ProtocolQueue, Endpoint: q}))(t)
	}
	if _, err := a.Subscribe(ctx, "wide", client.Subscription{Name: "one-too-many", Protocol: client.ProtocolQueue, Endpoint: "q000"}); client.CodeOf(err) != client.CodeTooManySubscriptions {
		t.Fatalf("101st subscription: %v", err)
	}
	if l := must(a.ListSubscriptionByTopic(ctx, "wide", client.ListOptions{Limit: 100}))(t); l.TotalCount != n || len(l.Subscriptions) != n {
		t.Fatalf("list: %d of %d", len(l.Subscriptions), l.TotalCount)
	}
	id := must(a.PublishMessage(ctx, "wide", "to everyone", nil, ""))(t)
	for i := 0; i < n; i++ {
		q := fmt.Sprintf("q%03d", i)
		m, err := a.ReceiveMessage(ctx, q, 0)
		if err != nil || m.Body != "to everyone" || m.MsgID != id {
			t.Fatalf("queue %s: %+v %v", q, m, err)
		}
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestE2EBenchTopics measures, with OPENCMQ_BENCH=1, PublishMessage throughput with 1, 10 and
// 100 queue subscriptions (32 concurrent publishers, 1 KiB bodies) and push throughput to a
// local HTTP sink, on a single-node cmqd.
func TestE2EBenchTopics(t *testing.T) {
	if os.Getenv("OPENCMQ_BENCH") != "1" {
		t.Skip("set OPENCMQ_BENCH=1 to run the topic benchmark")
	}
	p := startTopicCmqd(t, filepath.Join(t.TempDir(), "data"), writeAccounts(t, e2eAccounts))
	ctx := context.Background()
	a := newClient(t, p.endpoint, e2eAccounts[0], client.WithTimeout(30*time.Second))
	body := strings.Repeat("x", 1024)
	const publishers = 32
	for _, tc := range []struct{ subs, total int }{{1, 20000}, {10, 10000}, {100, 2000}} {
		topic := fmt.Sprintf("bench%d", tc.subs)
		must(a.CreateTopic(ctx, topic, nil))(t)
		for i := 0; i < tc.subs; i++ {
			q := fmt.Sprintf("%s-q%d", topic, i)
			must(a.CreateQueue(ctx, q, nil))(t)
			must(a.Subscribe(ctx, topic, client.Subscription{Name: q, Protocol: client.ProtocolQueue, Endpoint: q}))(t)
		}
		var next, errs atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for w := 0; w < publishers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(tc.total) {
					if _, err := a.PublishMessage(ctx, topic, body, nil, ""); err != nil {
						errs.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		d := time.Since(start)
		if errs.Load() > 0 {
			t.Errorf("%d publish errors", errs.Load())
		}
		info := must(a.GetQueueAttributes(ctx, topic+"-q0"))(t)
		t.Logf("BENCH publish: %3d queue subscriptions, %d publishers, 1 KiB: %6d publishes in %v = %8.0f publishes/s (%8.0f enqueued copies/s); q0 holds %d",
			tc.subs, publishers, tc.total, d.Round(time.Millisecond), float64(tc.total)/d.Seconds(), float64(tc.total*tc.subs)/d.Seconds(), info.ActiveMsgNum)
	}

	// Push: a sink that answers 200 at once; 1 and 4 HTTP subscriptions.
	var got atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got.Add(1)
	}))
	defer sink.Close()
	for _, subs := range []int{1, 4} {
		topic := fmt.Sprintf("push%d", subs)
		must(a.CreateTopic(ctx, topic, nil))(t)
		for i := 0; i < subs; i++ {
			must(a.Subscribe(ctx, topic, client.Subscription{Name: fmt.Sprintf("s%d", i), Protocol: client.ProtocolHTTP,
				Endpoint: sink.URL + "/" + strconv.Itoa(i), NotifyContentFormat: client.FormatSimplified}))(t)
		}
		time.Sleep(time.Second) // let the push workers start
		const total = 10000
		got.Store(0)
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		bodies := make([]string, 16)
		for i := range bodies {
			bodies[i] = body
		}
		for w := 0; w < publishers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(16) <= total {
					if _, err := a.BatchPublishMessage(ctx, topic, bodies, nil, ""); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		pubDone := time.Since(start)
		want := int64(total / 16 * 16 * subs)
		deadline := time.Now().Add(5 * time.Minute)
		for got.Load() < want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		d := time.Since(start)
		t.Logf("BENCH push: %d HTTP subscription(s), SIMPLIFIED 1 KiB: %d pushes delivered in %v = %8.0f pushes/s (published in %v)",
			subs, got.Load(), d.Round(time.Millisecond), float64(got.Load())/d.Seconds(), pubDone.Round(time.Millisecond))
		if got.Load() < want {
			t.Errorf("only %d of %d pushes delivered", got.Load(), want)
		}
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
