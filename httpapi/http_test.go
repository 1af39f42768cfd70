package httpapi

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// httpEnv runs the server's NewHTTPServer on an in-memory listener.
type httpEnv struct {
	*testEnv
	hc *fasthttp.Client
}

// serveInMemory serves e's API through NewHTTPServer on an in-memory listener until the
// test ends.
func serveInMemory(t *testing.T, e *testEnv) *fasthttputil.InmemoryListener {
	ln := fasthttputil.NewInmemoryListener()
	srv := e.srv.NewHTTPServer()
	go srv.Serve(ln) //nolint:errcheck
	t.Cleanup(func() {
		srv.Shutdown() //nolint:errcheck
		ln.Close()
	})
	return ln
}

func newHTTPEnv(t *testing.T) *httpEnv {
	e := newEnv(t, nil)
	ln := serveInMemory(t, e)
	hc := &fasthttp.Client{
		Dial:        func(string) (net.Conn, error) { return ln.Dial() },
		ReadTimeout: 40 * time.Second,
	}
	return &httpEnv{testEnv: e, hc: hc}
}

// do sends a signed action over HTTP.
func (h *httpEnv) do(t *testing.T, c *client, action string, kv ...string) map[string]any {
	t.Helper()
	req := c.request(c.sign(action, kvs(kv...)))
	uri := "http://" + c.host + string(req.Header.RequestURI())
	req.SetRequestURI(uri)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := h.hc.Do(req, resp); err != nil {
		t.Errorf("%s: %v", action, err)
		return nil
	}
	if resp.StatusCode() != 200 || string(resp.Header.ContentType()) != "application/json" {
		t.Errorf("%s: status %d, Content-Type %q", action, resp.StatusCode(), resp.Header.ContentType())
		return nil
	}
	if string(resp.Header.Server()) != "opencmq" {
		t.Errorf("Server header %q", resp.Header.Server())
	}
	return decodeResponse(t, resp.Body())
}

func TestLongPollOverHTTP(t *testing.T) {
	h := newHTTPEnv(t)
	h.mustCreate("ns-a", "q", nil)
	consumer, producer := h.client(accountA), h.client(accountA)

	// The wait ends empty.
	wantCode(t, h.do(t, consumer, "ReceiveMessage", "queueName", "q", "pollingWaitSeconds", "1"), 7000, 10200)

	// A message sent while a receive waits is delivered to it at once.
	got := make(chan map[string]any, 1)
	go func() {
		got <- h.do(t, consumer, "BatchReceiveMessage", "queueName", "q", "numOfMsg", "16", "pollingWaitSeconds", "5")
	}()
	time.Sleep(200 * time.Millisecond) // let the receive start waiting (it works either way)
	wantCode(t, h.do(t, producer, "SendMessage", "queueName", "q", "msgBody", "wake up"), 0, 0)
	m := <-got
	wantCode(t, m, 0, 0)
	list := m["msgInfoList"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["msgBody"] != "wake up" {
		t.Fatalf("got %v", m)
	}
}

func TestConcurrentOverHTTP(t *testing.T) {
	h := newHTTPEnv(t)
	h.mustCreate("ns-a", "q", nil)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := h.client(accountA)
			for i := 0; i < each; i++ {
				if m := h.do(t, c, "SendMessage", "queueName", "q", "msgBody", "m"); m == nil || code(m) != 0 {
					t.Errorf("send: %v", m)
					return
				}
			}
		}()
	}
	wg.Wait()
	received := 0
	var rwg sync.WaitGroup
	var mu sync.Mutex
	for w := 0; w < workers; w++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			c := h.client(accountA)
			for {
				m := h.do(t, c, "BatchReceiveMessage", "queueName", "q", "numOfMsg", "16", "pollingWaitSeconds", "0")
				if m == nil || code(m) == 7000 {
					return
				}
				ps := []string{"queueName", "q"}
				for i, x := range m["msgInfoList"].([]any) {
					ps = append(ps, "receiptHandle."+strconv.Itoa(i), x.(map[string]any)["receiptHandle"].(string))
				}
				if d := h.do(t, c, "BatchDeleteMessage", ps...); d == nil || code(d) != 0 {
					t.Errorf("delete: %v", d)
					return
				}
				mu.Lock()
				received += len(m["msgInfoList"].([]any))
				mu.Unlock()
			}
		}()
	}
	rwg.Wait()
	if received != workers*each {
		t.Fatalf("received %d of %d", received, workers*each)
	}
}

func TestOversizedBodyOverHTTP(t *testing.T) {
	h := newHTTPEnv(t)
	h.mustCreate("ns-a", "q", nil)
	c := h.client(accountA)
	// Just over the 1 MB cap: fasthttp still reads it, the handler answers in JSON.
	got := h.do(t, c, "SendMessage", "queueName", "q", "msgBody", strings.Repeat("x", 1<<20))
	wantJSON(t, got, `{"code":4000,"message":"(10420)cannot parse request, or request size is more than 1MB","requestId":"<rid>"}`)
	// The connection is still usable.
	wantCode(t, h.do(t, c, "SendMessage", "queueName", "q", "msgBody", "small"), 0, 0)
}
