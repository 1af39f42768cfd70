package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/httpapi/signature"
	"github.com/opencmq/opencmq/internal/testkit"
	"github.com/opencmq/opencmq/segment/vfs"
	"github.com/valyala/fasthttp"
)

// testEpoch is the fake clock's start (the reference's Example A timestamp).
const testEpoch = 1700000000

// fakeClock is a settable clock shared by the engine and the server.
type fakeClock = testkit.Clock

func newFakeClock(unix int64) *fakeClock { return testkit.NewClock(time.Unix(unix, 0)) }

var (
	accountA = Account{Namespace: "ns-a", SecretID: "AKIDaaaaaaaaaaaaaaaa", SecretKey: "secret-key-a-0123456789abcdef"}
	accountB = Account{Namespace: "ns-b", SecretID: "AKIDbbbbbbbbbbbbbbbb", SecretKey: "secret-key-b-0123456789abcdef"}
)

type testEnv struct {
	t     testing.TB
	clock *fakeClock
	eng   *engine.Engine
	srv   *Server
}

// newEnv starts an engine on an in-memory file system and a server in front of it, sharing
// a fake clock. mod may adjust the config.
func newEnv(t testing.TB, mod func(*Config)) *testEnv {
	t.Helper()
	clock := newFakeClock(testEpoch)
	eng, err := engine.Open("/d", engine.Options{
		FS:         vfs.NewMem(),
		Now:        clock.Now,
		Limits:     engine.Limits{MinMaxMsgHeapNum: 1},
		ManualTick: true,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		// No pushes to HTTP subscriptions: their messages stay counted in msgCount.
		Push: engine.PushOptions{Disabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	cfg := Config{
		Backend:  eng,
		Accounts: []Account{accountA, accountB},
		Now:      clock.Now,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, clock: clock, eng: eng, srv: srv}
}

// client builds requests the way the SDKs do.
type client struct {
	env        *testEnv
	acct       Account
	method     string // POST (default) or GET
	host       string // Host header; also signed unless signHost is set
	signHost   string
	path       string
	sigMethod  string // SignatureMethod parameter; "" sends none (SHA1)
	ctype      string // Content-Type; "" sends none (PY)
	nonce      int
	omitAt     bool // sign the PY way: leave out values that start with '@'
	extraHdr   map[string]string
	timeOffset int64  // added to the Timestamp
	reqClient  string // RequestClient; default SDK_Python_1.3, "-" for none
}

func (e *testEnv) client(a Account) *client {
	// A random Nonce base, like the SDKs: clients with the same clock and requests would
	// otherwise sign identically (and be refused as replays).
	return &client{env: e, acct: a, method: "POST", host: "127.0.0.1:8080", path: "/v2/index.php",
		sigMethod: "HmacSHA1", ctype: "application/x-www-form-urlencoded", nonce: rand.Intn(1 << 40)}
}

// kvs turns "k", "v", ... into params.
func kvs(kv ...string) []signature.Param {
	if len(kv)%2 != 0 {
		panic("odd kv")
	}
	var ps []signature.Param
	for i := 0; i < len(kv); i += 2 {
		ps = append(ps, signature.Param{Name: kv[i], Value: kv[i+1]})
	}
	return ps
}

// sign returns the params with the public ones and Signature added.
func (c *client) sign(action string, params []signature.Param) []signature.Param {
	return c.signParams(c.public(action, params))
}

// public returns params with the public parameters an SDK adds.
func (c *client) public(action string, params []signature.Param) []signature.Param {
	c.nonce++
	ps := append([]signature.Param{
		{Name: "Action", Value: action},
		{Name: "Nonce", Value: strconv.Itoa(c.nonce)},
		{Name: "SecretId", Value: c.acct.SecretID},
		{Name: "Timestamp", Value: strconv.FormatInt(c.env.clock.Now().Unix()+c.timeOffset, 10)},
	}, params...)
	switch c.reqClient {
	case "":
		ps = append(ps, signature.Param{Name: "RequestClient", Value: "SDK_Python_1.3"})
	case "-":
	default:
		ps = append(ps, signature.Param{Name: "RequestClient", Value: c.reqClient})
	}
	if c.sigMethod != "" {
		ps = append(ps, signature.Param{Name: "SignatureMethod", Value: c.sigMethod})
	}
	return ps
}

// signParams appends the Signature of ps.
func (c *client) signParams(ps []signature.Param) []signature.Param {
	signed := ps
	if c.omitAt {
		signed = nil
		for _, p := range ps {
			if !strings.HasPrefix(p.Value, "@") {
				signed = append(signed, p)
			}
		}
	}
	host := c.host
	if c.signHost != "" {
		host = c.signHost
	}
	sig := signature.SignRequest(signature.ParseMethod(c.sigMethod), c.acct.SecretKey, c.method, host, c.path, signed)
	return append(ps, signature.Param{Name: "Signature", Value: sig})
}

// signWithout signs an action with one public parameter left out.
func (c *client) signWithout(action, drop string) []signature.Param {
	var kept []signature.Param
	for _, p := range c.public(action, nil) {
		if p.Name != drop {
			kept = append(kept, p)
		}
	}
	return c.signParams(kept)
}

// encode form-encodes params in the given order (keys escaped too, so NGO's "offset " key
// travels as "offset+").
func encode(ps []signature.Param) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.Name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.Value))
	}
	return b.String()
}

// request builds the HTTP request for signed params.
func (c *client) request(ps []signature.Param) *fasthttp.Request {
	req := &fasthttp.Request{}
	req.Header.SetMethod(c.method)
	body := encode(ps)
	if c.method == "GET" {
		req.SetRequestURI(c.path + "?" + body)
	} else {
		req.SetRequestURI(c.path)
		req.SetBodyString(body)
	}
	req.Header.SetHost(c.host)
	if c.ctype != "" {
		req.Header.SetContentType(c.ctype)
	} else {
		req.Header.SetNoDefaultContentType(true)
	}
	for k, v := range c.extraHdr {
		req.Header.Set(k, v)
	}
	return req
}

// do signs and sends an action, and returns the decoded response.
func (c *client) do(action string, kv ...string) map[string]any {
	c.env.t.Helper()
	return c.env.roundTrip(c.request(c.sign(action, kvs(kv...))))
}

// serveRaw runs the handler on req and returns the response.
func (e *testEnv) serveRaw(req *fasthttp.Request) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Init(req, nil, nil)
	e.srv.Handler(&ctx)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return resp
}

// roundTrip runs req and decodes the JSON answer, checking the envelope's invariants.
func (e *testEnv) roundTrip(req *fasthttp.Request) map[string]any {
	e.t.Helper()
	resp := e.serveRaw(req)
	if resp.StatusCode() != 200 {
		e.t.Fatalf("HTTP status %d, want 200", resp.StatusCode())
	}
	if ct := string(resp.Header.ContentType()); ct != "application/json" {
		e.t.Fatalf("Content-Type %q", ct)
	}
	return decodeResponse(e.t, resp.Body())
}

func decodeResponse(t testing.TB, body []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("response is not a JSON object: %v: %q", err, body)
	}
	if _, ok := m["code"].(json.Number); !ok {
		t.Fatalf("code is not a number: %s", body)
	}
	if _, ok := m["message"].(string); !ok {
		t.Fatalf("message is not a string: %s", body)
	}
	if rid, ok := m["requestId"].(string); !ok || rid == "" {
		t.Fatalf("requestId is not a non-empty string: %s", body)
	}
	return m
}

func code(m map[string]any) int {
	n, _ := m["code"].(json.Number).Int64()
	return int(n)
}

// volatile fields are replaced by placeholders before comparing (strings only: a volatile
// field of the wrong JSON type still fails the comparison).
var volatile = map[string]string{
	"requestId":      "<rid>",
	"msgId":          "<msgId>",
	"receiptHandle":  "<handle>",
	"queueId":        "<queueId>",
	"topicId":        "<topicId>",
	"subscriptionId": "<subscriptionId>",
}

func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if ph, ok := volatile[k]; ok {
				if _, isStr := x.(string); isStr {
					out[k] = ph
					continue
				}
			}
			out[k] = normalize(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x)
		}
		return out
	}
	return v
}

// wantJSON compares a response with the expected JSON after normalization.
func wantJSON(t testing.TB, got map[string]any, want string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(want))
	dec.UseNumber()
	var w map[string]any
	if err := dec.Decode(&w); err != nil {
		t.Fatalf("bad expected JSON %s: %v", want, err)
	}
	g := normalize(got)
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		t.Fatalf("response mismatch\n got: %s\nwant: %s", gb, wb)
	}
}

// wantCode checks code and (if module != 0) the "(module)" prefix of message.
func wantCode(t testing.TB, m map[string]any, c, module int) {
	t.Helper()
	if code(m) != c {
		t.Fatalf("code %d, want %d: %v", code(m), c, m)
	}
	if module != 0 {
		prefix := fmt.Sprintf("(%d)", module)
		if msg := m["message"].(string); !strings.HasPrefix(msg, prefix) {
			t.Fatalf("message %q, want prefix %s", msg, prefix)
		}
	}
}

// mustCreate creates a queue straight in the engine.
func (e *testEnv) mustCreate(ns, name string, mod func(*engine.QueueAttributes)) {
	e.t.Helper()
	a := engine.DefaultQueueAttributes()
	if mod != nil {
		mod(&a)
	}
	if _, err := e.eng.CreateQueue(context.Background(), ns, name, a); err != nil {
		e.t.Fatal(err)
	}
}

// sortedKeys is for messages.
func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// lookup follows a dotted path ("msgInfoList.0.receiptHandle") into a response.
func lookup(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}
