package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/opencmq/opencmq/segment/vfs"
)

func (h *harness) topic(name string, filterType int) {
	h.t.Helper()
	a := DefaultTopicAttributes()
	a.FilterType = filterType
	if _, err := h.e.CreateTopic(h.ctx, "ns", name, a); err != nil {
		h.t.Fatalf("CreateTopic %s: %v", name, err)
	}
}

func (h *harness) subscribeQueue(topicName, sub, queue string, tags, keys []string) {
	h.t.Helper()
	_, err := h.e.Subscribe(h.ctx, "ns", topicName, SubscriptionConfig{Name: sub, Protocol: "queue", Endpoint: queue,
		FilterTags: tags, BindingKeys: keys})
	if err != nil {
		h.t.Fatalf("Subscribe %s: %v", sub, err)
	}
}

func TestPublishFiltersByTag(t *testing.T) {
	h := newHarness(t)
	for _, q := range []string{"all", "red", "redblue", "none"} {
		h.create(q, nil)
	}
	h.topic("t", TopicFilterTags)
	h.subscribeQueue("t", "s-all", "all", nil, nil)
	h.subscribeQueue("t", "s-red", "red", []string{"red"}, nil)
	h.subscribeQueue("t", "s-redblue", "redblue", []string{"red", "blue"}, nil)
	h.subscribeQueue("t", "s-none", "none", []string{"green"}, nil)
	pub := func(body string, tags ...string) string {
		ids, err := h.e.PublishMessage(h.ctx, "ns", "t", [][]byte{[]byte(body)}, tags, "")
		if err != nil {
			t.Fatal(err)
		}
		return ids[0]
	}
	idRed := pub("r", "red")
	pub("b", "blue")
	pub("untagged")
	want := map[string][]string{"all": {"r", "b", "untagged"}, "red": {"r"}, "redblue": {"r", "b"}, "none": nil}
	for q, bodies := range want {
		got := h.receive(q, 16)
		wantStrings(t, h.bodies(got), bodies)
		if q == "red" && got[0].ID != idRed {
			t.Fatalf("the queue copy has id %s, the publish returned %s", got[0].ID, idRed)
		}
	}
	_, err := h.e.PublishMessage(h.ctx, "ns", "t", [][]byte{[]byte("x")}, []string{"1", "2", "3", "4", "5", "6"}, "")
	wantErr(t, err, ErrTooManyMsgTags)
}

func TestPublishRoutesByBindingKey(t *testing.T) {
	h := newHarness(t)
	for _, q := range []string{"orders", "eu", "everything"} {
		h.create(q, nil)
	}
	h.topic("t", TopicFilterRoutingKey)
	h.subscribeQueue("t", "s1", "orders", nil, []string{"order.*"})
	h.subscribeQueue("t", "s2", "eu", nil, []string{"*.eu.#", "eu"})
	h.subscribeQueue("t", "s3", "everything", nil, []string{"#"})
	for _, k := range []string{"order.created", "order.eu.paid", "eu", "payment.eu", ""} {
		if _, err := h.e.PublishMessage(h.ctx, "ns", "t", [][]byte{[]byte(k + "!")}, nil, k); err != nil {
			t.Fatal(err)
		}
	}
	wantStrings(t, h.bodies(h.receive("orders", 16)), []string{"order.created!"})
	wantStrings(t, h.bodies(h.receive("eu", 16)), []string{"order.eu.paid!", "eu!", "payment.eu!"})
	wantStrings(t, h.bodies(h.receive("everything", 16)), []string{"order.created!", "order.eu.paid!", "eu!", "payment.eu!", "!"})
	_, err := h.e.PublishMessage(h.ctx, "ns", "t", [][]byte{[]byte("x")}, nil, "a.*")
	wantErr(t, err, ErrRoutingKey)
}

func TestTopicLifecycleAndErrors(t *testing.T) {
	h := newHarness(t)
	h.create("q", nil)
	h.topic("t", TopicFilterTags)
	_, err := h.e.CreateTopic(h.ctx, "ns", "T", DefaultTopicAttributes())
	wantErr(t, err, ErrTopicExists)
	_, err = h.e.CreateTopic(h.ctx, "ns", "9bad", DefaultTopicAttributes())
	wantErr(t, err, ErrTopicName)
	bad := DefaultTopicAttributes()
	bad.FilterType = 3
	_, err = h.e.CreateTopic(h.ctx, "ns", "x", bad)
	wantErr(t, err, ErrParameterRange)
	h.subscribeQueue("t", "s", "q", nil, nil)
	cases := []struct {
		cfg  SubscriptionConfig
		want error
	}{
		{SubscriptionConfig{Name: "s", Protocol: "queue", Endpoint: "q"}, ErrSubscriptionExists},
		{SubscriptionConfig{Name: "s2", Protocol: "smtp", Endpoint: "q"}, ErrProtocol},
		{SubscriptionConfig{Name: "s2", Protocol: "queue", Endpoint: "q", NotifyContentFormat: "JSON"}, ErrQueueFormat},
		{SubscriptionConfig{Name: "s2", Protocol: "http", Endpoint: "ftp://x"}, ErrEndpoint},
		{SubscriptionConfig{Name: "s2", Protocol: "http", Endpoint: "http://a b"}, ErrEndpointBlank},
		{SubscriptionConfig{Name: "s2", Protocol: "http", Endpoint: "http://x", NotifyStrategy: "SOMETIMES"}, ErrStrategy},
		{SubscriptionConfig{Name: "s2", Protocol: "http", Endpoint: "http://x", NotifyContentFormat: "XML"}, ErrContentFormat},
		{SubscriptionConfig{Name: "s2", Protocol: "queue", Endpoint: "q", FilterTags: []string{"1", "2", "3", "4", "5", "6"}}, ErrTooManyFilterTags},
		{SubscriptionConfig{Name: "-s", Protocol: "queue", Endpoint: "q"}, ErrSubscriptionName},
	}
	for _, c := range cases {
		_, err := h.e.Subscribe(h.ctx, "ns", "t", c.cfg)
		wantErr(t, err, c.want)
	}
	wantErr(t, h.e.DeleteTopic(h.ctx, "ns", "t"), ErrTopicHasSubs)
	// Filters can be changed and cleared.
	if err := h.e.SetSubscriptionAttributes(h.ctx, "ns", "t", "s", SubscriptionUpdate{FilterTags: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	info, err := h.e.GetSubscriptionAttributes(h.ctx, "ns", "t", "s")
	if err != nil || len(info.Config.FilterTags) != 1 || info.Config.Protocol != "queue" || info.Config.NotifyContentFormat != "SIMPLIFIED" {
		t.Fatalf("attributes: %+v %v", info, err)
	}
	if err := h.e.ClearSubscriptionFilterTags(h.ctx, "ns", "t", "s"); err != nil {
		t.Fatal(err)
	}
	if info, _ := h.e.GetSubscriptionAttributes(h.ctx, "ns", "t", "s"); len(info.Config.FilterTags) != 0 {
		t.Fatalf("filter tags not cleared: %v", info.Config.FilterTags)
	}
	total, subs, _ := h.e.ListSubscriptions(h.ctx, "ns", "t", "", 0, 20)
	if total != 1 || subs[0].Name != "s" || subs[0].Endpoint != "q" {
		t.Fatalf("subscriptions: %d %+v", total, subs)
	}
	// Topics of another namespace are invisible, and can only reach their own queues.
	_, err = h.e.PublishMessage(h.ctx, "other", "t", [][]byte{[]byte("x")}, nil, "")
	wantErr(t, err, ErrTopicNotExist)
	if err := h.e.Unsubscribe(h.ctx, "ns", "t", "s"); err != nil {
		t.Fatal(err)
	}
	if err := h.e.DeleteTopic(h.ctx, "ns", "t"); err != nil {
		t.Fatal(err)
	}
	if total, _, _ := h.e.ListTopics(h.ctx, "ns", "", 0, 20); total != 0 {
		t.Fatalf("topics left: %d", total)
	}
}

func TestFanOutToManySubscriptionsSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	h.topic("t", TopicFilterTags)
	for i := 0; i < 100; i++ {
		q := fmt.Sprintf("q%03d", i)
		h.create(q, nil)
		h.subscribeQueue("t", "s"+q, q, nil, nil)
	}
	_, err := h.e.Subscribe(h.ctx, "ns", "t", SubscriptionConfig{Name: "one-too-many", Protocol: "queue", Endpoint: "q000"})
	wantErr(t, err, ErrTooManySubs)
	ids, err := h.e.PublishMessage(h.ctx, "ns", "t", [][]byte{[]byte("a"), []byte("b")}, nil, "")
	if err != nil || len(ids) != 2 {
		t.Fatal(err)
	}
	h.crash(7) // the publish was acknowledged: every queue has both messages after a power loss
	for i := 0; i < 100; i++ {
		got := h.receive(fmt.Sprintf("q%03d", i), 16)
		wantStrings(t, h.bodies(got), []string{"a", "b"})
		if got[0].ID != ids[0] {
			t.Fatalf("queue %d: id %s, want %s", i, got[0].ID, ids[0])
		}
	}
}

// pushReceiver is an HTTP endpoint that fails the first failures requests, then records.
type pushReceiver struct {
	mu       sync.Mutex
	failures int
	calls    int
	got      []pushCall
}

type pushCall struct {
	body    string
	headers http.Header
}

func (p *pushReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.calls <= p.failures {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	p.got = append(p.got, pushCall{body: string(b), headers: r.Header.Clone()})
}

func (p *pushReceiver) received() []pushCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]pushCall(nil), p.got...)
}

// waitFor polls cond (bounded: about 10 s) and fails the test if it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func openPushEngine(t *testing.T, fs vfs.FS, allowLoopback bool) *Engine {
	t.Helper()
	push := PushOptions{RetryUnit: 10 * time.Millisecond, Timeout: 2 * time.Second}
	if allowLoopback {
		push.AllowNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}
	e, err := Open("/data", Options{FS: fs, Limits: testLimits, Push: push})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestHTTPPushRetriesUntilDelivered(t *testing.T) {
	for _, format := range []string{FormatJSON, FormatSimplified} {
		t.Run(format, func(t *testing.T) {
			recv := &pushReceiver{failures: 3}
			srv := httptest.NewServer(recv)
			defer srv.Close()
			e := openPushEngine(t, vfs.NewMem(), true)
			defer e.Close()
			ctx := context.Background()
			if _, err := e.CreateTopic(ctx, "ns", "t", DefaultTopicAttributes()); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Subscribe(ctx, "ns", "t", SubscriptionConfig{Name: "hook", Protocol: "http", Endpoint: srv.URL + "/hook",
				NotifyContentFormat: format}); err != nil {
				t.Fatal(err)
			}
			ids, err := e.PublishMessage(ctx, "ns", "t", [][]byte{[]byte("hello & <world>")}, []string{"a", "b"}, "")
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the push to arrive", func() bool { return len(recv.received()) == 1 })
			call := recv.received()[0]
			if call.headers.Get("x-cmq-message-id") != ids[0] || call.headers.Get("x-cmq-message-tag") != "a, b" ||
				call.headers.Get("User-Agent") != "Qcloud Notification Service Agent" {
				t.Fatalf("headers: %v", call.headers)
			}
			if format == FormatSimplified {
				if call.body != "hello & <world>" {
					t.Fatalf("body %q", call.body)
				}
			} else {
				var j map[string]any
				if err := json.Unmarshal([]byte(call.body), &j); err != nil {
					t.Fatal(err)
				}
				if j["msgBody"] != "hello & <world>" || j["msgId"] != ids[0] || j["topicName"] != "t" ||
					j["subscriptionName"] != "hook" || j["TopicOwner"] != "ns" {
					t.Fatalf("JSON body: %v", j)
				}
			}
			waitFor(t, "the subscription counters", func() bool {
				info, err := e.GetSubscriptionAttributes(ctx, "ns", "t", "hook")
				return err == nil && info.Delivered == 1 && info.MsgCount == 0
			})
		})
	}
}

func TestHTTPPushSurvivesRestartMidRetry(t *testing.T) {
	recv := &pushReceiver{failures: 1 << 30}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	fs := vfs.NewMem()
	e := openPushEngine(t, fs, true)
	ctx := context.Background()
	e.CreateTopic(ctx, "ns", "t", DefaultTopicAttributes())
	e.Subscribe(ctx, "ns", "t", SubscriptionConfig{Name: "hook", Protocol: "http", Endpoint: srv.URL, NotifyContentFormat: FormatSimplified})
	var want []string
	for i := 0; i < 5; i++ {
		b := fmt.Sprintf("m%d", i)
		if _, err := e.PublishMessage(ctx, "ns", "t", [][]byte{[]byte(b)}, nil, ""); err != nil {
			t.Fatal(err)
		}
		want = append(want, b)
	}
	waitFor(t, "some failed attempts", func() bool {
		recv.mu.Lock()
		defer recv.mu.Unlock()
		return recv.calls >= 5
	})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	recv.mu.Lock()
	recv.failures = 0
	recv.mu.Unlock()
	e = openPushEngine(t, fs, true)
	defer e.Close()
	waitFor(t, "every message after the restart", func() bool { return len(recv.received()) >= 5 })
	var got []string
	for _, c := range recv.received() {
		got = append(got, c.body)
	}
	sort.Strings(got)
	wantStrings(t, got, want)
}

func TestHTTPPushNetworkPolicyAndGiveUp(t *testing.T) {
	recv := &pushReceiver{}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	// Loopback is not allowed by default: the pushes fail, are retried 3 times
	// (BACKOFF_RETRY), then dropped and counted.
	e := openPushEngine(t, vfs.NewMem(), false)
	defer e.Close()
	ctx := context.Background()
	e.CreateTopic(ctx, "ns", "t", DefaultTopicAttributes())
	if _, err := e.Subscribe(ctx, "ns", "t", SubscriptionConfig{Name: "internal", Protocol: "http", Endpoint: srv.URL,
		NotifyStrategy: StrategyBackoff}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PublishMessage(ctx, "ns", "t", [][]byte{[]byte("secret")}, nil, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the push to be given up", func() bool {
		info, err := e.GetSubscriptionAttributes(ctx, "ns", "t", "internal")
		return err == nil && info.Failed == 1 && info.MsgCount == 0
	})
	if n := len(recv.received()); n != 0 {
		t.Fatalf("the policy let %d pushes through to loopback", n)
	}
	if got := retryDelaysFor(StrategyExponential); fmt.Sprint(got[:11]) != "[1 2 4 8 16 32 64 128 256 512 512]" || len(got) != exponentialAttempts-1 {
		t.Fatalf("exponential delays: %v (%d)", got[:11], len(got))
	}
}

func retryDelaysFor(strategy string) []int {
	var out []int
	for attempt := 1; ; attempt++ {
		d, ok := retryDelay(strategy, attempt, time.Second)
		if !ok {
			return out
		}
		out = append(out, int(d/time.Second))
	}
}

func TestPushAllowed(t *testing.T) {
	def := PushOptions{}
	for _, c := range []struct {
		addr string
		want bool
	}{{"8.8.8.8", true}, {"127.0.0.1", false}, {"10.1.2.3", false}, {"192.168.0.1", false}, {"169.254.169.254", false}, {"::1", false}, {"0.0.0.0", false}} {
		if got := pushAllowed(def, netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("default policy, %s: %v", c.addr, got)
		}
	}
	only := PushOptions{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if !pushAllowed(only, netip.MustParseAddr("127.0.0.1")) || pushAllowed(only, netip.MustParseAddr("8.8.8.8")) {
		t.Error("AllowNetworks")
	}
}
