package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/opencmq/opencmq/engine"
)

func TestBodiesRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	e.mustCreate("ns-a", "q", nil)
	e.mustCreate("ns-a", "tiny", func(a *engine.QueueAttributes) { a.MaxMsgSize = 1024 })
	// exactly 65536 bytes, with multi-byte characters in it
	big := strings.Repeat("é", 30000) + strings.Repeat("&=+%\n", 1107)
	big += strings.Repeat("x", 65536-len(big))
	bodies := []string{
		"héllo wörld ✓ 🚀 中文",
		"a&b=c",
		"1+1=2",
		"100%",
		"%41%zz%",
		"line1\nline2\r\nline3",
		"tab\there",
		`"quoted" \ back\\slash /`,
		"<html>&amp;</html>",
		"\u2028\u2029",
		"\x00\x01\x1f\x7f",
		" leading and trailing ",
		"@at",
		big,
	}
	for _, method := range []string{"POST", "GET"} {
		for _, batch := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s batch=%v", method, batch), func(t *testing.T) {
				c := e.client(accountA)
				c.method = method
				if batch {
					ps := []string{"queueName", "q"}
					for i, b := range bodies {
						ps = append(ps, fmt.Sprintf("msgBody.%d", i), b)
					}
					wantCode(t, c.do("BatchSendMessage", ps...), 0, 0)
				} else {
					for _, b := range bodies {
						wantCode(t, c.do("SendMessage", "queueName", "q", "msgBody", b), 0, 0)
					}
				}
				var got []string
				for len(got) < len(bodies) {
					resp := c.do("BatchReceiveMessage", "queueName", "q", "numOfMsg", "16")
					wantCode(t, resp, 0, 0)
					for _, m := range resp["msgInfoList"].([]any) {
						got = append(got, m.(map[string]any)["msgBody"].(string))
						wantCode(t, c.do("DeleteMessage", "queueName", "q", "receiptHandle", m.(map[string]any)["receiptHandle"].(string)), 0, 0)
					}
				}
				for i := range bodies {
					if got[i] != bodies[i] {
						t.Fatalf("body %d: got %q, want %q", i, clipS(got[i]), clipS(bodies[i]))
					}
				}
			})
		}
	}
	t.Run("no HTML escaping", func(t *testing.T) {
		c := e.client(accountA)
		wantCode(t, c.do("SendMessage", "queueName", "q", "msgBody", "<a href='x'>&</a>"), 0, 0)
		resp := e.serveRaw(c.request(c.sign("ReceiveMessage", kvs("queueName", "q"))))
		if !bytes.Contains(resp.Body(), []byte(`"msgBody":"<a href='x'>&</a>"`)) {
			t.Fatalf("body %s", resp.Body())
		}
	})
	t.Run("maxMsgSize exactly and one more", func(t *testing.T) {
		c := e.client(accountA)
		wantCode(t, c.do("SendMessage", "queueName", "tiny", "msgBody", strings.Repeat("ü", 512)), 0, 0)
		wantCode(t, c.do("SendMessage", "queueName", "tiny", "msgBody", strings.Repeat("ü", 512)+"!"), 4400, 10230)
	})
	t.Run("invalid UTF-8 refused", func(t *testing.T) {
		c := e.client(accountA)
		for _, b := range []string{"\xff", "ok\xc3", "\xed\xa0\x80" /* surrogate */, "\xc0\xaf" /* overlong */} {
			got := c.do("SendMessage", "queueName", "q", "msgBody", b)
			wantCode(t, got, 4000, 10110)
			if !strings.Contains(got["message"].(string), "UTF-8") {
				t.Fatalf("unclear message %q", got["message"])
			}
		}
	})
}

func clipS(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func TestTransport(t *testing.T) {
	e := newEnv(t, nil)
	e.mustCreate("ns-a", "q", nil)
	t.Run("other methods", func(t *testing.T) {
		for _, m := range []string{"PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"} {
			got := e.roundTrip(rawRequest(m, "h", "/v2/index.php", "", ""))
			if m == "HEAD" {
				continue // no body to decode; the status must still be 200
			}
			wantJSON(t, got, `{"code":4000,"message":"(10410)unexpected http `+m+`, only GET or POST is supported","requestId":"<rid>"}`)
		}
	})
	t.Run("body over 1MB", func(t *testing.T) {
		c := e.client(accountA)
		body := strings.Repeat("x", 1<<20)
		got := c.do("SendMessage", "queueName", "q", "msgBody", body)
		wantJSON(t, got, `{"code":4000,"message":"(10420)cannot parse request, or request size is more than 1MB","requestId":"<rid>"}`)
	})
	t.Run("too many parameters", func(t *testing.T) {
		c := e.client(accountA)
		var ps []string
		for i := 0; i < MaxParams; i++ {
			ps = append(ps, fmt.Sprintf("p%d", i), "v")
		}
		got := c.do("ListQueue", ps...)
		wantJSON(t, got, `{"code":4000,"message":"(10000)invalid request parameters: more than 512 parameters","requestId":"<rid>"}`)
		// Some unknown parameters are fine (and signed over).
		wantCode(t, c.do("ListQueue", ps[:100]...), 0, 0)
	})
	t.Run("repeated parameter", func(t *testing.T) {
		c := e.client(accountA)
		got := c.do("SendMessage", "queueName", "q", "msgBody", "a", "msgBody", "b")
		wantJSON(t, got, `{"code":4000,"message":"(10330)parameter msgBody is NOT a repeatable parameter","requestId":"<rid>"}`)
	})
	t.Run("empty and junk bodies", func(t *testing.T) {
		for _, body := range []string{"", "&&&", "=", "%", "a=%zz&b", "\x00\xff"} {
			got := e.roundTrip(rawRequest("POST", "h", "/", body, ""))
			wantCode(t, got, 4100, 10030)
		}
	})
	t.Run("request ids are unique", func(t *testing.T) {
		seen := map[string]bool{}
		for i := 0; i < 100; i++ {
			got := e.roundTrip(rawRequest("POST", "h", "/", "", ""))
			rid := got["requestId"].(string)
			if seen[rid] {
				t.Fatalf("requestId %s repeated", rid)
			}
			seen[rid] = true
		}
	})
}

func TestHealth(t *testing.T) {
	ready := false
	e := newEnv(t, func(c *Config) { c.Ready = func() bool { return ready } })
	get := func(path string) (int, string) {
		resp := e.serveRaw(rawRequest("GET", "h", path, "", ""))
		return resp.StatusCode(), string(resp.Body())
	}
	if st, body := get("/healthz"); st != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", st, body)
	}
	if st, _ := get("/readyz"); st != 503 {
		t.Fatalf("/readyz not ready: %d", st)
	}
	ready = true
	if st, _ := get("/readyz"); st != 200 {
		t.Fatalf("/readyz ready: %d", st)
	}
	// Only exact paths with GET: anything else is the API.
	for _, req := range []struct{ m, p string }{{"POST", "/healthz"}, {"GET", "/healthz/x"}, {"GET", "/v2/healthz"}} {
		got := e.roundTrip(rawRequest(req.m, "h", req.p, "", ""))
		wantCode(t, got, 4100, 10030)
	}
	e2 := newEnv(t, nil)
	if resp := e2.serveRaw(rawRequest("GET", "h", "/readyz", "", "")); resp.StatusCode() != 200 {
		t.Fatalf("nil Ready: %d", resp.StatusCode())
	}
}

func TestNamespaceIsolation(t *testing.T) {
	e := newEnv(t, nil)
	a, b := e.client(accountA), e.client(accountB)
	wantCode(t, a.do("CreateQueue", "queueName", "shared"), 0, 0)
	wantCode(t, b.do("CreateQueue", "queueName", "shared"), 0, 0)
	wantCode(t, a.do("CreateQueue", "queueName", "only-a"), 0, 0)
	wantCode(t, a.do("SendMessage", "queueName", "shared", "msgBody", "for a"), 0, 0)
	wantCode(t, b.do("ReceiveMessage", "queueName", "shared", "pollingWaitSeconds", "0"), 7000, 10200)
	got := a.do("ReceiveMessage", "queueName", "shared")
	wantCode(t, got, 0, 0)
	h := got["receiptHandle"].(string)
	wantCode(t, b.do("DeleteMessage", "queueName", "shared", "receiptHandle", h), 4430, 10261)
	for _, action := range []string{"GetQueueAttributes", "DeleteQueue", "ReceiveMessage", "QueryQueueRoute", "UnbindDeadLetterQueue"} {
		wantCode(t, b.do(action, "queueName", "only-a"), 4440, 10100)
	}
	wantCode(t, b.do("SendMessage", "queueName", "only-a", "msgBody", "x"), 4440, 10100)
	wantCode(t, b.do("SetQueueAttributes", "queueName", "only-a", "visibilityTimeout", "5"), 4440, 10100)
	wantCode(t, b.do("RewindQueue", "queueName", "only-a", "startConsumeTime", "1700000000"), 4440, 10100)
	wantCode(t, b.do("ListDeadLetterSourceQueues", "deadLetterQueueName", "only-a"), 4440, 10100)
	got = b.do("ListQueue")
	if got["totalCount"].(json.Number) != "1" {
		t.Fatalf("B lists %v", got)
	}
	// A dead-letter policy can only name a queue of the same namespace.
	wantCode(t, b.do("CreateQueue", "queueName", "src", "deadLetterPolicy", `{"deadLetterQueue":"only-a","policy":0,"maxReceiveCount":1}`), 4000, 10730)
	wantCode(t, a.do("DeleteMessage", "queueName", "shared", "receiptHandle", h), 0, 0)
}

func TestLoadAccounts(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, fmt.Sprintf("a%d.json", rand.Int()))
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	accts, err := LoadAccounts(write(`[{"namespace":"a","secretId":"AKIDa","secretKey":"ka"},{"namespace":"b","secretId":"AKIDb","secretKey":"kb"}]`))
	if err != nil || len(accts) != 2 || accts[1] != (Account{"b", "AKIDb", "kb"}) {
		t.Fatalf("%v %v", accts, err)
	}
	for name, bad := range map[string]string{
		"not json":          `{`,
		"not an array":      `{"namespace":"a"}`,
		"empty namespace":   `[{"namespace":"","secretId":"AKIDa","secretKey":"ka"}]`,
		"empty secretId":    `[{"namespace":"a","secretId":"","secretKey":"ka"}]`,
		"empty secretKey":   `[{"namespace":"a","secretId":"AKIDa"}]`,
		"dup secretId":      `[{"namespace":"a","secretId":"AKIDa","secretKey":"ka"},{"namespace":"b","secretId":"AKIDa","secretKey":"kb"}]`,
		"dup namespace":     `[{"namespace":"a","secretId":"AKIDa","secretKey":"ka"},{"namespace":"a","secretId":"AKIDb","secretKey":"kb"}]`,
		"unknown field":     `[{"namespace":"a","secretId":"AKIDa","secretKey":"ka","role":"admin"}]`,
		"trailing garbage":  `[] []`,
		"missing file":      "",
		"misspelt key only": `[{"namespace":"a","secretId":"AKIDa","secret_key":"ka"}]`,
	} {
		p := filepath.Join(dir, "missing.json")
		if bad != "" {
			p = write(bad)
		}
		if _, err := LoadAccounts(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := New(Config{Backend: nopBackend{}, Accounts: []Account{{"a", "x", "k"}, {"b", "x", "k"}}}); err == nil {
		t.Error("New accepted duplicate secretIds")
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted a nil Backend")
	}
}

// nopBackend is a Backend for tests that never reach it.
type nopBackend struct{ *engine.Engine }

func TestAppendEscaped(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	alphabet := []string{"a", "\"", "\\", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "é", "✓", "🚀", "\u2028", "<", ">", "&", "\xff", "\xc3"}
	for i := 0; i < 2000; i++ {
		var b strings.Builder
		for n := r.Intn(20); n > 0; n-- {
			b.WriteString(alphabet[r.Intn(len(alphabet))])
		}
		s := b.String()
		enc := appendString(nil, s)
		var back string
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, enc, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if !utf8.ValidString(s) {
			// encoding/json replaces each invalid byte; so do we.
			want = string([]rune(s))
		}
		if back != want {
			t.Fatalf("%q round-trips to %q", s, back)
		}
		if bytes.ContainsAny(enc, "\n\r\t") {
			t.Fatalf("unescaped control character in %s", enc)
		}
	}
}

func TestPanicRecovered(t *testing.T) {
	e := newEnv(t, nil)
	s, err := New(Config{Backend: nopBackend{}, Accounts: []Account{accountA}, Now: e.clock.Now,
		Logger: e.srv.logger})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = s
	c := e.client(accountA)
	got := c.do("ListQueue") // the nil engine panics
	wantCode(t, got, 6000, 10050)
	// The server still serves.
	wantCode(t, c.do("FlyToTheMoon"), 4000, 10430)
}

// recordHandler keeps slog records.
type recordHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r)
	h.mu.Unlock()
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordHandler) last() (slog.Level, map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.recs[len(h.recs)-1]
	attrs := map[string]string{}
	r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value.String(); return true })
	return r.Level, attrs
}

func TestLogging(t *testing.T) {
	h := &recordHandler{}
	e := newEnv(t, func(c *Config) { c.Logger = slog.New(h) })
	c := e.client(accountA)
	got := c.do("ListQueue")
	level, attrs := h.last()
	if level != slog.LevelDebug || attrs["requestId"] != got["requestId"] || attrs["action"] != "ListQueue" || attrs["code"] != "0" {
		t.Fatalf("%v %v", level, attrs)
	}
	c.do("ReceiveMessage", "queueName", "nosuch")
	if level, attrs = h.last(); level != slog.LevelDebug || attrs["code"] != "4440" || attrs["action"] != "ReceiveMessage" {
		t.Fatalf("%v %v", level, attrs)
	}
	e.eng.Close() // every call now fails internally
	c.do("SendMessage", "queueName", "q", "msgBody", "x")
	if level, attrs = h.last(); level != slog.LevelError || attrs["code"] != "6000" || !strings.Contains(attrs["message"], "closed") {
		t.Fatalf("%v %v", level, attrs)
	}
}
