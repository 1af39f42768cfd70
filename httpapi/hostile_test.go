package httpapi

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/httpapi/signature"
	"github.com/valyala/fasthttp"
)

// Hostile input (RELIABILITY.md §5, HTTP): every request below is refused with a clear CMQ
// error, and the state both accounts can observe is the same after it as before.

// fingerprint renders everything a client of either test account can observe: queues with
// their attributes and counters, topics with their subscriptions.
func (e *testEnv) fingerprint() string {
	e.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	// show prints one observation; an error in observing fails the test.
	show := func(what string, v any, err error) {
		if err != nil {
			e.t.Fatalf("%s: %v", what, err)
		}
		fmt.Fprintf(&b, "%s %+v\n", what, v)
	}
	for _, ns := range []string{accountA.Namespace, accountB.Namespace} {
		_, qs, err := e.eng.ListQueues(ctx, ns, "", 0, 1000)
		show(ns+" queues", qs, err)
		for _, q := range qs {
			info, err := e.eng.GetQueueAttributes(ctx, ns, q.Name)
			show(ns+" queue", info, err)
			show(ns+" policy", info.Attributes.DeadLetter, nil)
		}
		_, ts, err := e.eng.ListTopics(ctx, ns, "", 0, 1000)
		show(ns+" topics", ts, err)
		for _, tr := range ts {
			info, err := e.eng.GetTopicAttributes(ctx, ns, tr.Name)
			show(ns+" topic", info, err)
			_, subs, err := e.eng.ListSubscriptions(ctx, ns, tr.Name, "", 0, 100)
			show(ns+" subscriptions", subs, err)
			for _, s := range subs {
				si, err := e.eng.GetSubscriptionAttributes(ctx, ns, tr.Name, s.Name)
				show(ns+" subscription", si, err)
			}
		}
	}
	return b.String()
}

// hostileCase is one refused request: code and (if not 0) module of the answer.
type hostileCase struct {
	name         string
	req          func() *fasthttp.Request
	code, module int
}

// runRefused runs every case and checks its answer and that the state did not change.
func runRefused(t *testing.T, e *testEnv, cases []hostileCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.fingerprint()
			got := e.roundTrip(c.req())
			wantCode(t, got, c.code, c.module)
			if msg := got["message"].(string); len(msg) > 400 {
				t.Fatalf("message of %d bytes: client input is not clipped", len(msg))
			}
			if after := e.fingerprint(); after != before {
				t.Fatalf("a refused request changed the state:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// hostileEnv has queues, messages (one received), a topic with a subscription, in both
// accounts; it returns the env, a client of account A and the handle of A's received message.
func hostileEnv(t *testing.T) (*testEnv, *client, string) {
	e := newEnv(t, nil)
	for _, ns := range []string{accountA.Namespace, accountB.Namespace} {
		e.mustCreate(ns, "q", nil)
		e.mustCreate(ns, "other", nil)
	}
	e.mustCreate(accountA.Namespace, "rw", func(a *engine.QueueAttributes) { a.RewindSeconds = 600 })
	a := e.client(accountA)
	for _, kv := range [][]string{
		{"SendMessage", "queueName", "q", "msgBody", "first"},
		{"SendMessage", "queueName", "q", "msgBody", "second"},
		{"CreateTopic", "topicName", "t"},
		{"Subscribe", "topicName", "t", "subscriptionName", "s", "protocol", "queue", "endpoint", "other"},
	} {
		wantCode(t, a.do(kv[0], kv[1:]...), 0, 0)
	}
	got := a.do("ReceiveMessage", "queueName", "q")
	wantCode(t, got, 0, 0)
	return e, a, got["receiptHandle"].(string)
}

// signed returns a request builder for a signed action.
func signed(c *client, action string, kv ...string) func() *fasthttp.Request {
	return func() *fasthttp.Request { return c.request(c.sign(action, kvs(kv...))) }
}

// signedParams returns a request builder for a signed action with raw params.
func signedParams(c *client, action string, ps []signature.Param) func() *fasthttp.Request {
	return func() *fasthttp.Request { return c.request(c.sign(action, ps)) }
}

func TestHostileNumbers(t *testing.T) {
	e, a, handle := hostileEnv(t)
	bad := []struct {
		value  string
		module int // 10360 not an integer, 10350 out of range
	}{
		{"abc", 10360}, {"1.5", 10360}, {"1e9", 10360}, {"0x10", 10360}, {" 1", 10360}, {"1 ", 10360},
		{"--1", 10360}, {"+", 10360}, {"１", 10360}, // full-width digit
		{"99999999999999999999", 10350}, {"-99999999999999999999", 10350},
	}
	// Each numeric parameter of each action, with the other parameters valid; out-of-range
	// integers for it and their module.
	params := []struct {
		action, param string
		others        []string
		outOfRange    []string
		rangeModule   int
	}{
		{"SendMessage", "delaySeconds", []string{"queueName", "q", "msgBody", "x"}, []string{"-1", "1000000000", "345600"}, 10350},
		{"BatchSendMessage", "delaySeconds", []string{"queueName", "q", "msgBody.1", "x"}, []string{"-1", "1000000000"}, 10350},
		{"ReceiveMessage", "pollingWaitSeconds", []string{"queueName", "q"}, []string{"-1", "31", "30000"}, 10350},
		{"BatchReceiveMessage", "numOfMsg", []string{"queueName", "q"}, []string{"0", "17", "-1", "1000000000"}, 10350},
		{"BatchReceiveMessage", "pollingWaitSeconds", []string{"queueName", "q", "numOfMsg", "1"}, []string{"-1", "31"}, 10350},
		{"CreateQueue", "maxMsgHeapNum", []string{"queueName", "new"}, []string{"-1", "0", "1000000001"}, 10350},
		{"CreateQueue", "pollingWaitSeconds", []string{"queueName", "new"}, []string{"-1", "31"}, 10350},
		{"CreateQueue", "visibilityTimeout", []string{"queueName", "new"}, []string{"-1", "43201"}, 10350},
		{"CreateQueue", "maxMsgSize", []string{"queueName", "new"}, []string{"-1", "1023", "1048577"}, 10350},
		{"CreateQueue", "msgRetentionSeconds", []string{"queueName", "new"}, []string{"-1", "59", "1296001"}, 10350},
		{"CreateQueue", "rewindSeconds", []string{"queueName", "new"}, []string{"-1", "1296001"}, 0}, // 10350 or 10700
		{"SetQueueAttributes", "visibilityTimeout", []string{"queueName", "q"}, []string{"-1", "0", "43201"}, 10350},
		{"SetQueueAttributes", "maxMsgSize", []string{"queueName", "q"}, []string{"-1", "1048577"}, 10350},
		{"ChangeMessageVisibility", "visibilityTimeout", []string{"queueName", "q", "receiptHandle", handle}, []string{"-1", "43201"}, 10350},
		{"RewindQueue", "startConsumeTime", []string{"queueName", "rw"}, []string{"-1", "0", "99999999999"}, 10680},
		{"ListQueue", "offset", nil, []string{"-1"}, 10350},
		{"ListQueue", "limit", nil, []string{"-1", "1001"}, 10350},
		{"ListTopic", "limit", nil, []string{"-1", "1001"}, 10350},
		{"ListSubscriptionByTopic", "limit", []string{"topicName", "t"}, []string{"-1", "101"}, 10350},
		{"CreateTopic", "maxMsgSize", []string{"topicName", "new"}, []string{"-1", "1023", "1048577"}, 10350},
		{"CreateTopic", "filterType", []string{"topicName", "new"}, []string{"-1", "0", "3"}, 10350},
		{"SetTopicAttributes", "maxMsgSize", []string{"topicName", "t"}, []string{"-1", "1048577"}, 10350},
	}
	var cases []hostileCase
	for _, p := range params {
		for _, b := range bad {
			kv := append(append([]string(nil), p.others...), p.param, b.value)
			cases = append(cases, hostileCase{fmt.Sprintf("%s %s=%q", p.action, p.param, b.value), signed(a, p.action, kv...), 4000, b.module})
		}
		for _, v := range p.outOfRange {
			kv := append(append([]string(nil), p.others...), p.param, v)
			cases = append(cases, hostileCase{fmt.Sprintf("%s %s=%s", p.action, p.param, v), signed(a, p.action, kv...), 4000, p.rangeModule})
		}
	}
	runRefused(t, e, cases)
}

func TestHostileNames(t *testing.T) {
	e, a, _ := hostileEnv(t)
	names := []string{
		"", "..", "../../etc", "a/b", `a\b`, "%2e%2e%2f", "../", "a\x00b", "\x00", "队列", "queue✓",
		"1queue", "-queue", "_queue", "queue ", " queue", "q.q", "q:q", "q\r\nq", "\xff",
		strings.Repeat("a", 65), strings.Repeat("a", 100_000), "queues", "checkpoint", "journal",
	}
	var cases []hostileCase
	for _, n := range names {
		q := fmt.Sprintf("%.20q", n)
		createModule := 10020
		if n == "" {
			createModule = 10390
		}
		if n == "queues" || n == "checkpoint" || n == "journal" {
			continue // valid names: they name no file (queues live under their ids)
		}
		cases = append(cases,
			hostileCase{"CreateQueue " + q, signed(a, "CreateQueue", "queueName", n), 4000, createModule},
			hostileCase{"CreateTopic " + q, signed(a, "CreateTopic", "topicName", n), 4000, map[bool]int{true: 10390, false: 10590}[n == ""]},
			hostileCase{"Subscribe " + q, signed(a, "Subscribe", "topicName", "t", "subscriptionName", n, "protocol", "queue", "endpoint", "q"), 4000, map[bool]int{true: 10390, false: 10620}[n == ""]},
			hostileCase{"Subscribe endpoint " + q, signed(a, "Subscribe", "topicName", "t", "subscriptionName", "s2", "protocol", "queue", "endpoint", n), 4000, 0},
		)
		if n != "" {
			cases = append(cases,
				hostileCase{"SendMessage " + q, signed(a, "SendMessage", "queueName", n, "msgBody", "x"), 4440, 10100},
				hostileCase{"GetQueueAttributes " + q, signed(a, "GetQueueAttributes", "queueName", n), 4440, 10100},
				hostileCase{"DeleteQueue " + q, signed(a, "DeleteQueue", "queueName", n), 4440, 10100},
				hostileCase{"PublishMessage " + q, signed(a, "PublishMessage", "topicName", n, "msgBody", "x"), 4440, 0},
			)
		}
	}
	runRefused(t, e, cases)
	// Queue names are case-insensitive: another case is the same queue, not a new one.
	wantCode(t, a.do("CreateQueue", "queueName", "Q"), 4460, 0)
	// The names that look like files are ordinary queues.
	for _, n := range []string{"queues", "checkpoint", "journal"} {
		wantCode(t, a.do("CreateQueue", "queueName", n), 0, 0)
		wantCode(t, a.do("SendMessage", "queueName", n, "msgBody", "x"), 0, 0)
	}
}

func TestHostileParameters(t *testing.T) {
	e, a, _ := hostileEnv(t)
	flood := func(n int, name func(i int) string, value string) []signature.Param {
		ps := kvs("queueName", "q", "msgBody", "x")
		for i := 0; i < n; i++ {
			ps = append(ps, signature.Param{Name: name(i), Value: value})
		}
		return ps
	}
	cases := []hostileCase{
		{"10k parameters", signedParams(a, "SendMessage", flood(10_000, func(i int) string { return fmt.Sprintf("p%d", i) }, "v")), 4000, 10000},
		{"1M parameters", signedParams(a, "SendMessage", flood(1_000_000, func(i int) string { return "p" }, "")), 4000, 10420},
		{"huge name", signedParams(a, "SendMessage", flood(1, func(int) string { return strings.Repeat("n", 1<<20) }, "v")), 4000, 10420},
		{"huge value", signed(a, "SendMessage", "queueName", "q", "msgBody", "x", "extra", strings.Repeat("v", 2<<20)), 4000, 10420},
		{"queueName twice", signed(a, "SendMessage", "queueName", "q", "queueName", "other", "msgBody", "x"), 4000, 10330},
		{"queueName and queueName+space", signed(a, "SendMessage", "queueName", "q", "queueName ", "other", "msgBody", "x"), 4000, 10330},
		{"msgBody.1 and msgBody_1", signed(a, "BatchSendMessage", "queueName", "q", "msgBody.1", "a", "msgBody_1", "b"), 4000, 10330},
		{"msgBody.1 and msgBody.01", signed(a, "BatchSendMessage", "queueName", "q", "msgBody.1", "a", "msgBody.01", "b"), 4000, 10330},
		{"msgBody.0 to .16", signedParams(a, "BatchSendMessage", func() []signature.Param {
			ps := kvs("queueName", "q")
			for i := 0; i <= 16; i++ {
				ps = append(ps, signature.Param{Name: fmt.Sprintf("msgBody.%d", i), Value: "x"})
			}
			return ps
		}()), 4000, 10370},
		{"msgBody.2 alone", signed(a, "BatchSendMessage", "queueName", "q", "msgBody.2", "x"), 4000, 10380},
		{"msgBody.x", signed(a, "BatchSendMessage", "queueName", "q", "msgBody.x", "x"), 4000, 10310},
		{"msgBody.99999999999", signed(a, "BatchSendMessage", "queueName", "q", "msgBody.99999999999", "x"), 4000, 10310},
		{"empty body", signed(a, "SendMessage", "queueName", "q", "msgBody", ""), 4000, 0},
		{"invalid UTF-8 body", signed(a, "SendMessage", "queueName", "q", "msgBody", "ok\xff"), 4000, 10110},
		{"surrogate body", signed(a, "SendMessage", "queueName", "q", "msgBody", "\xed\xa0\x80"), 4000, 10110},
		{"invalid UTF-8 in batch", signed(a, "BatchSendMessage", "queueName", "q", "msgBody.1", "ok", "msgBody.2", "\xc0\xaf"), 4000, 10110},
		{"invalid UTF-8 publish", signed(a, "PublishMessage", "topicName", "t", "msgBody", "\xff"), 4000, 10110},
		{"tag with CRLF", signed(a, "PublishMessage", "topicName", "t", "msgBody", "x", "msgTag.1", "a\r\nX-Evil: 1"), 4000, 10693},
		{"tag invalid UTF-8", signed(a, "PublishMessage", "topicName", "t", "msgBody", "x", "msgTag.1", "\xff"), 4000, 10693},
		{"tag NUL", signed(a, "PublishMessage", "topicName", "t", "msgBody", "x", "msgTag.1", "a\x00"), 4000, 10693},
		{"filterTag with LF", signed(a, "Subscribe", "topicName", "t", "subscriptionName", "s2", "protocol", "queue", "endpoint", "q", "filterTag.1", "a\nb"), 4000, 10693},
		{"routingKey invalid UTF-8", signed(a, "PublishMessage", "topicName", "t", "msgBody", "x", "routingKey", "a.\xfe"), 4000, 10691},
		{"endpoint invalid UTF-8", signed(a, "Subscribe", "topicName", "t", "subscriptionName", "s2", "protocol", "http", "endpoint", "http://h/\xff"), 4000, 10500},
		{"endpoint CRLF", signed(a, "Subscribe", "topicName", "t", "subscriptionName", "s2", "protocol", "http", "endpoint", "http://h/\r\nx"), 4510, 0},
		{"unknown action", signed(a, "DropEverything", "queueName", "q"), 4000, 10430},
		{"huge action", signed(a, strings.Repeat("A", 100_000)), 4000, 10430},
		{"action with NUL", signed(a, "SendMessage\x00", "queueName", "q", "msgBody", "x"), 4000, 10430},
		{"empty action", signed(a, "", "queueName", "q"), 4000, 10390},
		{"deadLetterPolicy not JSON", signed(a, "SetQueueAttributes", "queueName", "q", "deadLetterPolicy", "{"), 4000, 10710},
		{"deadLetterPolicy huge number", signed(a, "SetQueueAttributes", "queueName", "q", "deadLetterPolicy", `{"deadLetterQueue":"other","policy":0,"maxReceiveCount":1e400}`), 4000, 0},
		{"deadLetterPolicy self", signed(a, "SetQueueAttributes", "queueName", "q", "deadLetterPolicy", `{"deadLetterQueue":"q","policy":0,"maxReceiveCount":1}`), 4000, 0},
	}
	runRefused(t, e, cases)
	// Huge names and values within the request cap are unknown parameters like any other:
	// signed over, ignored.
	wantCode(t, e.roundTrip(signedParams(a, "SendMessage", flood(1, func(int) string { return strings.Repeat("n", 900_000) }, "v"))()), 0, 0)
	wantCode(t, a.do("SendMessage", "queueName", "q", "msgBody", "x", "extra", strings.Repeat("v", 900_000)), 0, 0)
}

func TestHostileReceiptHandles(t *testing.T) {
	e, a, handle := hostileEnv(t)
	b := e.client(accountB)
	// A handle of another queue of A's, and one of a deleted message.
	wantCode(t, a.do("SendMessage", "queueName", "other", "msgBody", "o"), 0, 0)
	otherHandle := a.do("ReceiveMessage", "queueName", "other")["receiptHandle"].(string)
	wantCode(t, a.do("SendMessage", "queueName", "q", "msgBody", "third"), 0, 0)
	deleted := a.do("ReceiveMessage", "queueName", "q")["receiptHandle"].(string)
	wantCode(t, a.do("DeleteMessage", "queueName", "q", "receiptHandle", deleted), 0, 0)
	// A handle from a previous incarnation of a queue with the same name.
	wantCode(t, a.do("CreateQueue", "queueName", "reborn"), 0, 0)
	wantCode(t, a.do("SendMessage", "queueName", "reborn", "msgBody", "old"), 0, 0)
	oldHandle := a.do("ReceiveMessage", "queueName", "reborn")["receiptHandle"].(string)
	wantCode(t, a.do("DeleteQueue", "queueName", "reborn"), 0, 0)
	wantCode(t, a.do("CreateQueue", "queueName", "reborn"), 0, 0)
	wantCode(t, a.do("SendMessage", "queueName", "reborn", "msgBody", "new"), 0, 0)

	flip := []byte(handle)
	flip[5] ^= 1
	forged := map[string]struct {
		h      string
		module int
	}{
		"flipped":        {string(flip), 10260},
		"truncated":      {handle[:20], 10260},
		"one short":      {handle[:len(handle)-1], 10260},
		"one more":       {handle + "A", 10260},
		"oversized":      {strings.Repeat(handle, 300), 10260},
		"not base64":     {"!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", 10260},
		"digits":         {"283748239349283", 10260},
		"padded":         {handle + "==", 10260},
		"NUL":            {handle[:10] + "\x00" + handle[11:], 10260},
		"another queue":  {otherHandle, 10261},
		"deleted":        {deleted, 10263},
		"old incarnaton": {oldHandle, 10261},
	}
	var cases []hostileCase
	for name, f := range forged {
		queue := "q"
		if name == "old incarnaton" {
			queue = "reborn"
		}
		cases = append(cases,
			hostileCase{"DeleteMessage " + name, signed(a, "DeleteMessage", "queueName", queue, "receiptHandle", f.h), 4430, f.module},
			hostileCase{"ChangeMessageVisibility " + name, signed(a, "ChangeMessageVisibility", "queueName", queue, "receiptHandle", f.h, "visibilityTimeout", "0"), 4430, f.module},
			hostileCase{"BatchDeleteMessage " + name, signed(a, "BatchDeleteMessage", "queueName", queue, "receiptHandle.1", f.h), 6020, 10290},
		)
	}
	// Tenancy: B uses A's handle on B's queue of the same name, and on A's queue name.
	cases = append(cases,
		hostileCase{"B deletes with A's handle", signed(b, "DeleteMessage", "queueName", "q", "receiptHandle", handle), 4430, 10261},
		hostileCase{"B changes visibility with A's handle", signed(b, "ChangeMessageVisibility", "queueName", "q", "receiptHandle", handle, "visibilityTimeout", "0"), 4430, 10261},
		hostileCase{"B names A's queue", signed(b, "DeleteMessage", "queueName", "reborn", "receiptHandle", oldHandle), 4440, 10100},
		hostileCase{"empty handle", signed(a, "DeleteMessage", "queueName", "q", "receiptHandle", ""), 4000, 10390},
	)
	runRefused(t, e, cases)
	// A's handle still works for A.
	wantCode(t, a.do("DeleteMessage", "queueName", "q", "receiptHandle", handle), 0, 0)
}

func TestHostileAuthentication(t *testing.T) {
	e, a, _ := hostileEnv(t)
	withParam := func(c *client, action, name, value string, kv ...string) func() *fasthttp.Request {
		return func() *fasthttp.Request {
			ps := c.public(action, kvs(kv...))
			found := false
			for i := range ps {
				if ps[i].Name == name {
					ps[i].Value, found = value, true
				}
			}
			if !found {
				ps = append(ps, signature.Param{Name: name, Value: value})
			}
			return c.request(c.signParams(ps))
		}
	}
	// Signed correctly, then changed on the way.
	tamper := func(c *client, change func(ps []signature.Param) []signature.Param, action string, kv ...string) func() *fasthttp.Request {
		return func() *fasthttp.Request { return c.request(change(c.sign(action, kvs(kv...)))) }
	}
	setParam := func(name, value string) func([]signature.Param) []signature.Param {
		return func(ps []signature.Param) []signature.Param {
			for i := range ps {
				if ps[i].Name == name {
					ps[i].Value = value
				}
			}
			return ps
		}
	}
	dropParam := func(name string) func([]signature.Param) []signature.Param {
		return func(ps []signature.Param) []signature.Param {
			var out []signature.Param
			for _, p := range ps {
				if p.Name != name {
					out = append(out, p)
				}
			}
			return out
		}
	}
	sha256 := e.client(accountA)
	sha256.sigMethod = "HmacSHA256"
	otherHost := e.client(accountA)
	otherHost.signHost = "evil.example:8080"
	otherPath := e.client(accountA)
	otherPath.path = "/v2/index.php/../x"
	getSigned := e.client(accountA)
	getSigned.method = "GET"
	send := []string{"queueName", "q", "msgBody", "x"}
	cases := []hostileCase{
		{"no Signature", tamper(a, dropParam("Signature"), "SendMessage", send...), 4100, 10030},
		{"no SecretId", tamper(a, dropParam("SecretId"), "SendMessage", send...), 4100, 10030},
		{"unknown SecretId", tamper(a, setParam("SecretId", "AKIDnobody"), "SendMessage", send...), 4100, 10270},
		{"B's SecretId on A's signature", tamper(a, setParam("SecretId", accountB.SecretID), "SendMessage", send...), 4100, 10030},
		{"downgraded to SHA1", tamper(sha256, setParam("SignatureMethod", "HmacSHA1"), "SendMessage", send...), 4100, 10030},
		{"method dropped", tamper(sha256, dropParam("SignatureMethod"), "SendMessage", send...), 4100, 10030},
		{"method unknown", tamper(sha256, setParam("SignatureMethod", "HmacSHA512"), "SendMessage", send...), 4100, 10030},
		{"method mis-cased", tamper(sha256, setParam("SignatureMethod", "hmacsha256"), "SendMessage", send...), 4100, 10030},
		{"body changed", tamper(a, setParam("msgBody", "y"), "SendMessage", send...), 4100, 10030},
		{"queue changed", tamper(a, setParam("queueName", "other"), "SendMessage", send...), 4100, 10030},
		{"signature truncated", tamper(a, func(ps []signature.Param) []signature.Param {
			for i := range ps {
				if ps[i].Name == "Signature" {
					ps[i].Value = ps[i].Value[:20]
				}
			}
			return ps
		}, "SendMessage", send...), 4100, 10030},
		{"signature of zeros", tamper(a, setParam("Signature", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="), "SendMessage", send...), 4100, 10030},
		{"signature huge", tamper(a, setParam("Signature", strings.Repeat("A", 100_000)), "SendMessage", send...), 4100, 10030},
		{"signed for another host", signed(otherHost, "SendMessage", send...), 4100, 10030},
		{"signed as GET, sent as POST", func() *fasthttp.Request {
			req := a.request(getSigned.sign("SendMessage", kvs(send...)))
			return req
		}, 4100, 10030},
		{"signed for another path", func() *fasthttp.Request {
			req := otherPath.request(otherPath.sign("SendMessage", kvs(send...)))
			req.SetRequestURI("/v2/index.php")
			return req
		}, 4100, 10030},
		{"no Host header", func() *fasthttp.Request {
			req := a.request(a.sign("SendMessage", kvs(send...)))
			req.Header.SetHost("")
			return req
		}, 4100, 10030},
		{"Timestamp 301s old", withParam(a, "SendMessage", "Timestamp", fmt.Sprint(testEpoch-301), send...), 4100, 10030},
		{"Timestamp 301s ahead", withParam(a, "SendMessage", "Timestamp", fmt.Sprint(testEpoch+301), send...), 4100, 10030},
		{"Timestamp negative", withParam(a, "SendMessage", "Timestamp", "-1700000000", send...), 4100, 10030},
		{"Timestamp not a number", withParam(a, "SendMessage", "Timestamp", "yesterday", send...), 4100, 10030},
		{"Timestamp in ms", withParam(a, "SendMessage", "Timestamp", fmt.Sprint(testEpoch*1000), send...), 4100, 10030},
		{"Timestamp 20 digits", withParam(a, "SendMessage", "Timestamp", "99999999999999999999", send...), 4100, 10030},
		{"Timestamp 1.7e9", withParam(a, "SendMessage", "Timestamp", "1.7e9", send...), 4100, 10030},
		{"Timestamp empty", withParam(a, "SendMessage", "Timestamp", "", send...), 4100, 10030},
	}
	runRefused(t, e, cases)
	// Unknown or absent SignatureMethod means SHA1 (CMQ's rule), signed as such: accepted.
	for _, m := range []string{"", "HmacSHA512", "hmacsha256"} {
		c := e.client(accountA)
		c.sigMethod = m
		wantCode(t, c.do("GetQueueAttributes", "queueName", "q"), 0, 0)
	}
}

// TestHostileTransport: methods, paths, content types and where parameters come from.
func TestHostileTransport(t *testing.T) {
	e, a, _ := hostileEnv(t)
	raw := func(method, uri, body string) func() *fasthttp.Request {
		return func() *fasthttp.Request { return rawRequest(method, "127.0.0.1:8080", uri, body, "") }
	}
	cases := []hostileCase{
		{"PUT", raw("PUT", "/v2/index.php", ""), 4000, 10410},
		{"OPTIONS", raw("OPTIONS", "*", ""), 4000, 10410},
		{"DELETE", raw("DELETE", "/", ""), 4000, 10410},
		{"TRACE", raw("TRACE", "/", ""), 4000, 10410},
		{"lower-case post", raw("post", "/", "Action=ListQueue"), 4000, 10410},
		{"GET without parameters", raw("GET", "/v2/index.php", ""), 4100, 10030},
		{"odd path", raw("GET", "/v2/index.php/../x?Action=ListQueue", ""), 4100, 10030},
		{"encoded dots", raw("GET", "/%2e%2e/%2e%2e/etc/passwd?Action=ListQueue", ""), 4100, 10030},
		{"absolute URI", raw("GET", "http://evil/v2/index.php?Action=ListQueue", ""), 4100, 10030},
		{"JSON body", func() *fasthttp.Request {
			return rawRequest("POST", "h", "/", `{"Action":"SendMessage","queueName":"q"}`, "application/json")
		}, 4100, 10030},
		{"NUL and 0xFF body", raw("POST", "/", "\x00\xff\xfe=\x00&\xff"), 4100, 10030},
	}
	runRefused(t, e, cases)

	// A POST's query string is ignored: only the signed body counts, whatever the query says.
	req := a.request(a.sign("SendMessage", kvs("queueName", "q", "msgBody", "body wins")))
	req.SetRequestURI("/v2/index.php?queueName=other&msgBody=query&Action=DeleteQueue")
	wantCode(t, e.roundTrip(req), 0, 0)
	if got := a.do("GetQueueAttributes", "queueName", "other"); code(got) != 0 || got["activeMsgNum"].(interface{ String() string }).String() != "0" {
		t.Fatalf("the query string reached queue other: %v", got)
	}
	// A GET's body is ignored likewise.
	g := e.client(accountA)
	g.method = "GET"
	req = g.request(g.sign("SendMessage", kvs("queueName", "q", "msgBody", "query wins")))
	req.SetBodyString("queueName=other&msgBody=body")
	wantCode(t, e.roundTrip(req), 0, 0)
	// Mis-cased actions are the action (JAVA's ClearSUbscriptionFIlterTags).
	wantCode(t, a.do("sEnDmEsSaGe", "queueName", "q", "msgBody", "x"), 0, 0)
	// Form encodings the signer does not see: '+' or %20, lower- or upper-case hex, a
	// double encoding decoded once.
	for _, enc := range []string{"a+b%c3%a9%2541", "a%20b%C3%A9%2541"} {
		c := e.client(accountA)
		ps := c.sign("SendMessage", kvs("queueName", "other", "msgBody", "a bé%41"))
		body := encode(ps)
		body = strings.Replace(body, "msgBody=a+b%C3%A9%2541", "msgBody="+enc, 1)
		req := c.request(ps)
		req.SetBodyString(body)
		wantCode(t, e.roundTrip(req), 0, 0)
		got := c.do("ReceiveMessage", "queueName", "other")
		if got["msgBody"] != "a bé%41" {
			t.Fatalf("%s arrived as %q", enc, got["msgBody"])
		}
		wantCode(t, c.do("DeleteMessage", "queueName", "other", "receiptHandle", got["receiptHandle"].(string)), 0, 0)
	}
}

// TestHostileBodiesRoundTrip: what is accepted comes back byte for byte (NUL, CRLF, DEL,
// U+FFFD itself, the largest code point), in the JSON of receives.
func TestHostileBodiesRoundTrip(t *testing.T) {
	_, a, _ := hostileEnv(t)
	for _, body := range []string{"\x00", "a\r\nb\r\n", "\x7f", "\ufffd", "\U0010ffff", "\u2028", `\u0000`, "%00", "\"}{", strings.Repeat("\x00", 1000)} {
		wantCode(t, a.do("SendMessage", "queueName", "other", "msgBody", body), 0, 0)
		got := a.do("ReceiveMessage", "queueName", "other")
		if got["msgBody"] != body {
			t.Fatalf("%q came back as %q", body, got["msgBody"])
		}
		wantCode(t, a.do("DeleteMessage", "queueName", "other", "receiptHandle", got["receiptHandle"].(string)), 0, 0)
	}
}
