package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencmq/opencmq/httpapi/signature"
)

const (
	testID  = "AKIDtest0123456789abcdefghijklmnopq"
	testKey = "testSecretKey0123456789abcdefghij"
)

// seenRequest is what the fake server recorded of one request.
type seenRequest struct {
	Method string
	Path   string
	Params url.Values
}

// fakeServer is a CMQ endpoint that verifies every signature with package signature and
// answers each action with a canned response.
type fakeServer struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	seen   []seenRequest
	answer func(action string, p url.Values) (status int, body string)
	delay  func(action string) time.Duration
	conns  atomic.Int64
}

func newFakeServer(t *testing.T, answer func(action string, p url.Values) (int, string)) *fakeServer {
	f := &fakeServer{t: t, answer: answer}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	var raw string
	if r.Method == http.MethodGet {
		raw = r.URL.RawQuery
	} else {
		b, _ := io.ReadAll(r.Body)
		raw = string(b)
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			writeJSON(w, 200, `{"code":4000,"message":"(10000)bad content type `+ct+`","requestId":"r"}`)
			return
		}
	}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		writeJSON(w, 200, `{"code":4000,"message":"(10420)cannot parse","requestId":"r"}`)
		return
	}
	var params []signature.Param
	for k, vs := range vals {
		if len(vs) != 1 {
			writeJSON(w, 200, `{"code":4000,"message":"(10330)repeated `+k+`","requestId":"r"}`)
			return
		}
		params = append(params, signature.Param{Name: k, Value: vs[0]})
	}
	for _, name := range []string{"Action", "Nonce", "SecretId", "SignatureMethod", "Timestamp", "RequestClient", "Signature"} {
		if vals.Get(name) == "" {
			writeJSON(w, 200, `{"code":4000,"message":"(10390)lacked of required parameter `+name+`","requestId":"r"}`)
			return
		}
	}
	if n, err := strconv.ParseUint(vals.Get("Nonce"), 10, 64); err != nil || n == 0 {
		writeJSON(w, 200, `{"code":4000,"message":"(10110)bad Nonce","requestId":"r"}`)
		return
	}
	ts, err := strconv.ParseInt(vals.Get("Timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
		writeJSON(w, 200, `{"code":4000,"message":"(10110)bad Timestamp","requestId":"r"}`)
		return
	}
	if vals.Get("SecretId") != testID {
		writeJSON(w, 200, `{"code":4100,"message":"(10270)secret id is not existed","requestId":"r"}`)
		return
	}
	want := signature.SignRequest(signature.ParseMethod(vals.Get("SignatureMethod")), testKey, r.Method, r.Host, r.URL.Path, params)
	if !signature.Equal(want, vals.Get("Signature")) {
		writeJSON(w, 200, `{"code":4100,"message":"(10030)authentication failed","requestId":"r"}`)
		return
	}
	action := vals.Get("Action")
	f.mu.Lock()
	f.seen = append(f.seen, seenRequest{Method: r.Method, Path: r.URL.Path, Params: vals})
	f.mu.Unlock()
	if f.delay != nil {
		time.Sleep(f.delay(action))
	}
	status, body := f.answer(action, vals)
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func (f *fakeServer) last() seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) == 0 {
		f.t.Fatal("no request reached the server")
	}
	return f.seen[len(f.seen)-1]
}

func ok(fields string) string {
	if fields != "" {
		fields = "," + fields
	}
	return `{"code":0,"message":"","requestId":"req-1"` + fields + `}`
}

func newClient(t *testing.T, f *fakeServer, opts ...Option) *Client {
	t.Helper()
	c, err := New(f.srv.URL, testID, testKey, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func echoOK(string, url.Values) (int, string) { return 200, ok("") }

func TestSignatureVariants(t *testing.T) {
	f := newFakeServer(t, echoOK)
	ctx := context.Background()
	cases := []struct {
		name       string
		endpoint   string
		opts       []Option
		wantMethod string
		wantPath   string
		wantSig    string
	}{
		{"default POST SHA1", f.srv.URL, nil, "POST", "/v2/index.php", "HmacSHA1"},
		{"SHA256", f.srv.URL, []Option{WithSignatureMethod(signature.MethodSHA256)}, "POST", "/v2/index.php", "HmacSHA256"},
		{"SHA256 by name", f.srv.URL, []Option{WithSignatureMethodName("HmacSHA256")}, "POST", "/v2/index.php", "HmacSHA256"},
		{"GET", f.srv.URL, []Option{WithGET()}, "GET", "/v2/index.php", "HmacSHA1"},
		{"custom path", f.srv.URL, []Option{WithPath("/")}, "POST", "/", "HmacSHA1"},
		{"endpoint path", f.srv.URL + "/cmq/api", nil, "POST", "/cmq/api", "HmacSHA1"},
		{"trailing slash", f.srv.URL + "/", nil, "POST", "/v2/index.php", "HmacSHA1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.endpoint, testID, testKey, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Awkward values must survive encoding and still verify.
			if _, err := c.SendMessage(ctx, "q1", "a&b=c + d%20é/?#\n", 0); err != nil {
				t.Fatal(err)
			}
			r := f.last()
			if r.Method != tc.wantMethod || r.Path != tc.wantPath {
				t.Fatalf("got %s %s, want %s %s", r.Method, r.Path, tc.wantMethod, tc.wantPath)
			}
			if got := r.Params.Get("SignatureMethod"); got != tc.wantSig {
				t.Fatalf("SignatureMethod %q, want %q", got, tc.wantSig)
			}
			if got := r.Params.Get("msgBody"); got != "a&b=c + d%20é/?#\n" {
				t.Fatalf("msgBody %q", got)
			}
			if got := r.Params.Get("RequestClient"); got != "opencmq-go/"+Version {
				t.Fatalf("RequestClient %q", got)
			}
		})
	}
}

func TestWrongKeyIsAuthError(t *testing.T) {
	f := newFakeServer(t, echoOK)
	c, err := New(f.srv.URL, testID, "wrong", WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	err = c.DeleteQueue(context.Background(), "q")
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeAuthFailed || e.Module != 10030 || e.Action != "DeleteQueue" {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "code 4100") || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("message %q", err.Error())
	}
}

func TestNoncesDiffer(t *testing.T) {
	f := newFakeServer(t, echoOK)
	c := newClient(t, f)
	nonces := map[string]bool{}
	for i := 0; i < 20; i++ {
		if err := c.DeleteQueue(context.Background(), "q"); err != nil {
			t.Fatal(err)
		}
		nonces[f.last().Params.Get("Nonce")] = true
	}
	if len(nonces) != 20 {
		t.Fatalf("%d distinct nonces in 20 requests", len(nonces))
	}
}

func TestCreateQueueSendsOnlySetAttributes(t *testing.T) {
	f := newFakeServer(t, func(string, url.Values) (int, string) { return 200, ok(`"queueId":"queue-1"`) })
	c := newClient(t, f)
	ctx := context.Background()
	id, err := c.CreateQueue(ctx, "orders", nil)
	if err != nil || id != "queue-1" {
		t.Fatalf("CreateQueue = %q, %v", id, err)
	}
	if p := f.last().Params; p.Get("queueName") != "orders" || p.Has("visibilityTimeout") || p.Has("deadLetterPolicy") || len(p) != 8 {
		t.Fatalf("params %v", p)
	}
	_, err = c.CreateQueue(ctx, "orders2", &QueueAttributes{
		VisibilityTimeout:  Int64(60),
		PollingWaitSeconds: Int64(0),
		DeadLetterPolicy:   &DeadLetterPolicy{Queue: "dlq", Policy: 0, MaxReceiveCount: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := f.last().Params
	if p.Get("visibilityTimeout") != "60" || p.Get("pollingWaitSeconds") != "0" || p.Has("maxMsgSize") || p.Has("rewindSeconds") {
		t.Fatalf("params %v", p)
	}
	var dl map[string]any
	if err := json.Unmarshal([]byte(p.Get("deadLetterPolicy")), &dl); err != nil || dl["deadLetterQueue"] != "dlq" || dl["maxReceiveCount"] != 3.0 || dl["policy"] != 0.0 {
		t.Fatalf("deadLetterPolicy %q (%v)", p.Get("deadLetterPolicy"), err)
	}
}

func TestSetAndGetQueueAttributes(t *testing.T) {
	f := newFakeServer(t, func(action string, _ url.Values) (int, string) {
		switch action {
		case "SetQueueAttributes":
			return 200, ok(`"maxMsgHeapNum":100000000,"pollingWaitSeconds":0,"visibilityTimeout":30,"maxMsgSize":65536,"msgRetentionSeconds":345600,"rewindSeconds":3600,"deadLetterPolicy":""`)
		default:
			return 200, ok(`"queueId":"queue-7","queueName":"orders","maxMsgHeapNum":100000000,"pollingWaitSeconds":2,"visibilityTimeout":30,"maxMsgSize":65536,"msgRetentionSeconds":345600,"createTime":1700000000,"lastModifyTime":1700000001,"activeMsgNum":3,"inactiveMsgNum":1,"delayMsgNum":2,"rewindSeconds":3600,"rewindmsgNum":5,"rewindMsgNum":5,"minMsgTime":1700000002,"deadLetterPolicy":"{\"deadLetterQueue\":\"dlq\",\"policy\":0,\"maxReceiveCount\":3}"`)
		}
	})
	c := newClient(t, f)
	ctx := context.Background()
	s, err := c.SetQueueAttributes(ctx, "orders", QueueAttributes{RewindSeconds: Int64(3600)})
	if err != nil || s.RewindSeconds != 3600 || s.VisibilityTimeout != 30 {
		t.Fatalf("Set = %+v, %v", s, err)
	}
	if p := f.last().Params; p.Get("rewindSeconds") != "3600" || p.Has("visibilityTimeout") {
		t.Fatalf("params %v", p)
	}
	info, err := c.GetQueueAttributes(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	want := QueueInfo{QueueID: "queue-7", QueueName: "orders", MaxMsgHeapNum: 100000000, PollingWaitSeconds: 2,
		VisibilityTimeout: 30, MaxMsgSize: 65536, MsgRetentionSeconds: 345600, RewindSeconds: 3600,
		DeadLetterPolicy: `{"deadLetterQueue":"dlq","policy":0,"maxReceiveCount":3}`, CreateTime: 1700000000,
		LastModifyTime: 1700000001, ActiveMsgNum: 3, InactiveMsgNum: 1, DelayMsgNum: 2, RewindMsgNum: 5, MinMsgTime: 1700000002}
	if *info != want {
		t.Fatalf("info\n%+v\nwant\n%+v", *info, want)
	}
}

func TestListQueueParamsAndResult(t *testing.T) {
	f := newFakeServer(t, func(string, url.Values) (int, string) {
		return 200, ok(`"totalCount":3,"queueList":[{"queueId":"queue-1","queueName":"a"},{"queueId":"queue-2","queueName":"b"}]`)
	})
	c := newClient(t, f)
	ctx := context.Background()
	l, err := c.ListQueue(ctx, ListOptions{})
	if err != nil || l.TotalCount != 3 || !reflect.DeepEqual(l.Queues, []QueueRef{{"queue-1", "a"}, {"queue-2", "b"}}) {
		t.Fatalf("ListQueue = %+v, %v", l, err)
	}
	if p := f.last().Params; p.Has("offset") || p.Has("limit") || p.Has("searchWord") {
		t.Fatalf("params %v", p)
	}
	if _, err := c.ListQueue(ctx, ListOptions{SearchWord: "or", Offset: 2}); err != nil {
		t.Fatal(err)
	}
	if p := f.last().Params; p.Get("offset") != "2" || p.Get("limit") != "20" || p.Get("searchWord") != "or" {
		t.Fatalf("params %v", p)
	}
	if _, err := c.ListDeadLetterSourceQueues(ctx, "dlq", ListOptions{Limit: 5}); err != nil {
		t.Fatal(err)
	}
	if p := f.last().Params; p.Get("deadLetterQueueName") != "dlq" || p.Get("limit") != "5" || p.Get("Action") != "ListDeadLetterSourceQueues" {
		t.Fatalf("params %v", p)
	}
}

func TestSendAndBatchSend(t *testing.T) {
	f := newFakeServer(t, func(action string, p url.Values) (int, string) {
		if action == "SendMessage" {
			return 200, ok(`"msgId":"m1"`)
		}
		return 200, ok(`"msgList":[{"msgId":"m1"},{"msgId":"m2"},{"msgId":"m3"}]`)
	})
	c := newClient(t, f)
	ctx := context.Background()
	id, err := c.SendMessage(ctx, "q", "hello", 5)
	if err != nil || id != "m1" {
		t.Fatalf("SendMessage = %q, %v", id, err)
	}
	if p := f.last().Params; p.Get("delaySeconds") != "5" || p.Get("msgBody") != "hello" || p.Get("queueName") != "q" {
		t.Fatalf("params %v", p)
	}
	ids, err := c.BatchSendMessage(ctx, "q", []string{"a", "b", "c"}, 0)
	if err != nil || !reflect.DeepEqual(ids, []string{"m1", "m2", "m3"}) {
		t.Fatalf("BatchSendMessage = %v, %v", ids, err)
	}
	p := f.last().Params
	if p.Get("msgBody.1") != "a" || p.Get("msgBody.2") != "b" || p.Get("msgBody.3") != "c" || p.Has("msgBody.0") || p.Has("msgBody.4") || p.Get("delaySeconds") != "0" {
		t.Fatalf("params %v", p)
	}
}

func TestReceiveAndNoMessage(t *testing.T) {
	var empty atomic.Bool
	f := newFakeServer(t, func(action string, p url.Values) (int, string) {
		if empty.Load() {
			return 200, `{"code":7000,"message":"(10200)no message","requestId":"req-9"}`
		}
		m := `"msgId":"m1","msgBody":"hi","receiptHandle":"h1","enqueueTime":1700000000,"nextVisibleTime":1700000030,"firstDequeueTime":1700000000,"dequeueCount":1`
		if action == "ReceiveMessage" {
			return 200, ok(m)
		}
		return 200, ok(`"msgInfoList":[{` + m + `},{"msgId":"m2","msgBody":"yo","receiptHandle":"h2","enqueueTime":1,"nextVisibleTime":2,"firstDequeueTime":0,"dequeueCount":2}]`)
	})
	c := newClient(t, f)
	ctx := context.Background()
	m, err := c.ReceiveMessage(ctx, "q", 3)
	if err != nil {
		t.Fatal(err)
	}
	want := Message{MsgID: "m1", Body: "hi", ReceiptHandle: "h1", EnqueueTime: 1700000000, NextVisibleTime: 1700000030, FirstDequeueTime: 1700000000, DequeueCount: 1}
	if *m != want || !m.Enqueued().Equal(time.Unix(1700000000, 0)) || !m.NextVisible().Equal(time.Unix(1700000030, 0)) {
		t.Fatalf("message %+v", *m)
	}
	if p := f.last().Params; p.Get("pollingWaitSeconds") != "3" {
		t.Fatalf("params %v", p)
	}
	if _, err := c.ReceiveMessage(ctx, "q", QueueWait); err != nil {
		t.Fatal(err)
	}
	if p := f.last().Params; p.Has("pollingWaitSeconds") {
		t.Fatalf("QueueWait sent pollingWaitSeconds: %v", p)
	}
	ms, err := c.BatchReceiveMessage(ctx, "q", 16, 0)
	if err != nil || len(ms) != 2 || ms[1].ReceiptHandle != "h2" || ms[1].DequeueCount != 2 {
		t.Fatalf("BatchReceiveMessage = %+v, %v", ms, err)
	}
	if p := f.last().Params; p.Get("numOfMsg") != "16" || p.Get("pollingWaitSeconds") != "0" {
		t.Fatalf("params %v", p)
	}
	empty.Store(true)
	_, err = c.ReceiveMessage(ctx, "q", 0)
	if !IsNoMessage(err) {
		t.Fatalf("err %v, want no message", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Module != 10200 || e.RequestID != "req-9" || e.Message != "(10200)no message" {
		t.Fatalf("err %#v", err)
	}
	if _, err := c.BatchReceiveMessage(ctx, "q", 2, 0); !IsNoMessage(err) {
		t.Fatalf("batch err %v", err)
	}
}

func TestDeleteAndBatchDelete(t *testing.T) {
	var mode atomic.Int32
	f := newFakeServer(t, func(action string, p url.Values) (int, string) {
		switch {
		case action == "DeleteMessage":
			return 200, `{"code":4430,"message":"(10260)receipt handle is invalid","requestId":"r2"}`
		case mode.Load() == 0:
			return 200, ok("")
		case mode.Load() == 1:
			return 200, `{"code":6010,"message":"(10150)delete message partially failed","requestId":"r3","errorList":[{"code":4430,"message":"(10262)receipt handle is stale","receiptHandle":"h2"}]}`
		case mode.Load() == 2:
			return 200, `{"code":6020,"message":"(10290)batch delete message failed","requestId":"r4","errorList":[{"code":4430,"message":"(10260)receipt handle is invalid","receiptHandle":"h1"},{"code":4430,"message":"(10260)receipt handle is invalid","receiptHandle":"h2"}]}`
		default:
			return 200, `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"r5"}`
		}
	})
	c := newClient(t, f)
	ctx := context.Background()
	err := c.DeleteMessage(ctx, "q", "hx")
	if CodeOf(err) != CodeInvalidHandle || f.last().Params.Get("receiptHandle") != "hx" {
		t.Fatalf("DeleteMessage err %v", err)
	}
	errs, err := c.BatchDeleteMessage(ctx, "q", []string{"h1", "h2"})
	if err != nil || len(errs) != 2 || errs[0] != nil || errs[1] != nil {
		t.Fatalf("all ok: %v, %v", errs, err)
	}
	if p := f.last().Params; p.Get("receiptHandle.1") != "h1" || p.Get("receiptHandle.2") != "h2" {
		t.Fatalf("params %v", p)
	}
	mode.Store(1)
	errs, err = c.BatchDeleteMessage(ctx, "q", []string{"h1", "h2", "h3"})
	if CodeOf(err) != CodeBatchDeletePart || len(errs) != 3 || errs[0] != nil || errs[2] != nil {
		t.Fatalf("partial: %v, %v", errs, err)
	}
	var e *Error
	if !errors.As(errs[1], &e) || e.Code != 4430 || e.Module != 10262 || e.ReceiptHandle != "h2" || e.RequestID != "r3" {
		t.Fatalf("errs[1] %#v", errs[1])
	}
	mode.Store(2)
	errs, err = c.BatchDeleteMessage(ctx, "q", []string{"h1", "h2"})
	if CodeOf(err) != CodeBatchDeleteAll || CodeOf(errs[0]) != 4430 || CodeOf(errs[1]) != 4430 {
		t.Fatalf("all failed: %v, %v", errs, err)
	}
	mode.Store(3)
	errs, err = c.BatchDeleteMessage(ctx, "q", []string{"h1"})
	if !IsQueueNotExist(err) || errs != nil {
		t.Fatalf("no queue: %v, %v", errs, err)
	}
}

func TestOtherActions(t *testing.T) {
	f := newFakeServer(t, func(action string, p url.Values) (int, string) {
		if action == "ChangeMessageVisibility" {
			return 200, ok(`"nextVisibleTime":1700000099`)
		}
		return 200, ok("")
	})
	c := newClient(t, f)
	ctx := context.Background()
	nv, err := c.ChangeMessageVisibility(ctx, "q", "h1", 40)
	if err != nil || nv != 1700000099 {
		t.Fatalf("ChangeMessageVisibility = %d, %v", nv, err)
	}
	if p := f.last().Params; p.Get("receiptHandle") != "h1" || p.Get("visibilityTimeout") != "40" {
		t.Fatalf("params %v", p)
	}
	if err := c.RewindQueue(ctx, "q", 1700000000); err != nil {
		t.Fatal(err)
	}
	if p := f.last().Params; p.Get("startConsumeTime") != "1700000000" || p.Get("Action") != "RewindQueue" {
		t.Fatalf("params %v", p)
	}
	if err := c.UnbindDeadLetterQueue(ctx, "q"); err != nil || f.last().Params.Get("Action") != "UnbindDeadLetterQueue" {
		t.Fatal(err)
	}
	if err := c.DeleteQueue(ctx, "q"); err != nil || f.last().Params.Get("Action") != "DeleteQueue" {
		t.Fatal(err)
	}
}

func TestCallGeneric(t *testing.T) {
	f := newFakeServer(t, func(action string, p url.Values) (int, string) {
		if action == "Broken" {
			return 200, `{"code":4000,"message":"(10430)action name Broken is not existed","requestId":"r"}`
		}
		return 200, ok(`"msgId":"m1","big":12345678901234567`)
	})
	c := newClient(t, f)
	ctx := context.Background()
	m, err := c.Call(ctx, "SendMessage", map[string]string{"queueName": "q", "msgBody": "x", "extra_param": "1"})
	if err != nil || m["msgId"] != "m1" || m["big"] != json.Number("12345678901234567") {
		t.Fatalf("Call = %v, %v", m, err)
	}
	if p := f.last().Params; p.Get("extra_param") != "1" {
		t.Fatalf("params %v", p)
	}
	m, err = c.Call(ctx, "Broken", nil)
	if CodeOf(err) != 4000 || m["code"] != json.Number("4000") {
		t.Fatalf("Call broken = %v, %v", m, err)
	}
	raw, err := c.CallRaw(ctx, "SendMessage", map[string]string{"queueName": "q", "msgBody": "x"})
	if err != nil || !strings.Contains(string(raw), `"msgId":"m1"`) {
		t.Fatalf("CallRaw = %s, %v", raw, err)
	}
}

func TestHTTPStatusIsTransportError(t *testing.T) {
	f := newFakeServer(t, func(string, url.Values) (int, string) { return 502, "bad gateway" })
	c := newClient(t, f)
	err := c.DeleteQueue(context.Background(), "q")
	var he *HTTPError
	if !errors.As(err, &he) || he.StatusCode != 502 || CodeOf(err) != 0 {
		t.Fatalf("err %v", err)
	}
}

func TestLongPollExtendsTimeout(t *testing.T) {
	f := newFakeServer(t, func(action string, _ url.Values) (int, string) {
		return 200, `{"code":7000,"message":"(10200)no message","requestId":"r"}`
	})
	f.delay = func(action string) time.Duration {
		if strings.HasSuffix(action, "ReceiveMessage") {
			return 1200 * time.Millisecond // the server holds the long poll for its 1 s wait
		}
		return 400 * time.Millisecond
	}
	c := newClient(t, f, WithTimeout(200*time.Millisecond))
	ctx := context.Background()
	if _, err := c.ReceiveMessage(ctx, "q", 1); !IsNoMessage(err) {
		t.Fatalf("long poll: %v", err)
	}
	if _, err := c.BatchReceiveMessage(ctx, "q", 4, 1); !IsNoMessage(err) {
		t.Fatalf("batch long poll: %v", err)
	}
	if _, err := c.CallRaw(ctx, "ReceiveMessage", map[string]string{"queueName": "q", "pollingWaitSeconds": "1"}); !IsNoMessage(err) {
		t.Fatalf("Call long poll: %v", err)
	}
	if err := c.DeleteQueue(ctx, "q"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("plain request past its timeout: %v", err)
	}
	if got := c.requestTimeout(-1); got != 200*time.Millisecond {
		t.Fatalf("requestTimeout(-1) = %v", got)
	}
	if got := c.requestTimeout(30); got != 30*time.Second+LongPollSlack {
		t.Fatalf("requestTimeout(30) = %v", got)
	}
}

func TestConnectionsAreReused(t *testing.T) {
	f := newFakeServer(t, func(string, url.Values) (int, string) { return 200, ok(`"msgId":"m"`) })
	c := newClient(t, f)
	ctx := context.Background()
	const callers = 64
	burst := func(rounds int) {
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		for i := 0; i < callers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for r := 0; r < rounds; r++ {
					if _, err := c.SendMessage(ctx, "q", "x", 0); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	// Warm up: net/http may dial a few more connections than callers (a dial started while
	// another connection became free is kept), but every one of them fits in the idle pool…
	burst(3)
	warm := f.conns.Load()
	// …so the next bursts of 64 concurrent callers reuse them (Go's default transport keeps
	// only 2 idle connections per host and would dial again and again).
	burst(10)
	burst(10)
	if n := f.conns.Load() - warm; n > 4 {
		t.Fatalf("%d new connections after warm-up (%d) for %d concurrent callers: keep-alive pool too small", n, warm, callers)
	}
}

func TestNewValidation(t *testing.T) {
	bad := []string{"", "127.0.0.1:8080", "ftp://h", "http://", "http://h?x=1"}
	for _, ep := range bad {
		if _, err := New(ep, "id", "key"); err == nil {
			t.Errorf("New(%q) accepted", ep)
		}
	}
	if _, err := New("http://h", "", "key"); err == nil {
		t.Error("empty secret id accepted")
	}
	if _, err := New("http://h", "id", "key", WithPath("v2")); err == nil {
		t.Error("relative path accepted")
	}
	if _, err := New("http://h", "id", "key", WithSignatureMethodName("md5")); err == nil {
		t.Error("unknown signature method accepted")
	}
	c, err := New("https://cmq.example.com:8443", "id", "key")
	if err != nil || c.Endpoint() != "https://cmq.example.com:8443/v2/index.php" {
		t.Fatalf("%v %v", c, err)
	}
}

func TestFixedClockTimestamp(t *testing.T) {
	now := time.Now().Add(-10 * time.Second).Truncate(time.Second)
	f := newFakeServer(t, echoOK)
	c := newClient(t, f, WithClock(func() time.Time { return now }), WithRequestClient("custom/1"))
	if err := c.DeleteQueue(context.Background(), "q"); err != nil {
		t.Fatal(err)
	}
	p := f.last().Params
	if p.Get("Timestamp") != strconv.FormatInt(now.Unix(), 10) || p.Get("RequestClient") != "custom/1" {
		t.Fatalf("params %v", p)
	}
}

func TestResponseHookSeesRawBodies(t *testing.T) {
	f := newFakeServer(t, func(action string, _ url.Values) (int, string) {
		if action == "DeleteQueue" {
			return 200, `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"r"}`
		}
		return 200, ok(`"msgId":"m1"`)
	})
	c := newClient(t, f)
	var got []string
	ctx := WithResponseHook(context.Background(), func(action string, body []byte) {
		got = append(got, action+" "+string(body))
	})
	if _, err := c.SendMessage(ctx, "q", "x", 0); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteQueue(ctx, "q"); !IsQueueNotExist(err) {
		t.Fatal(err)
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], `SendMessage {"code":0`) || !strings.HasPrefix(got[1], `DeleteQueue {"code":4440`) {
		t.Fatalf("hook saw %q", got)
	}
}
