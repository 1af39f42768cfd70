package client

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/opencmq/opencmq/httpapi/signature"
)

// TestFastHTTPTransport: the fasthttp transport sends the same signed requests as net/http
// (the fake server verifies every signature), and reports statuses, timeouts and answers
// the same way.
func TestFastHTTPTransport(t *testing.T) {
	f := newFakeServer(t, func(action string, p url.Values) (int, string) {
		switch action {
		case "DeleteQueue":
			return 502, "bad gateway"
		case "SendMessage":
			return 200, ok(`"msgId":"m-1"`)
		}
		return 200, ok("")
	})
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		endpoint   string
		opts       []Option
		wantMethod string
		wantPath   string
	}{
		{"POST SHA1", f.srv.URL, nil, "POST", "/v2/index.php"},
		{"SHA256", f.srv.URL, []Option{WithSignatureMethod(signature.MethodSHA256)}, "POST", "/v2/index.php"},
		{"GET", f.srv.URL, []Option{WithGET()}, "GET", "/v2/index.php"},
		{"endpoint path", f.srv.URL + "/cmq/api", nil, "POST", "/cmq/api"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.endpoint, testID, testKey, append(tc.opts, WithFastHTTP())...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			body := "a&b=c + d%20é/?#\n"
			id, err := c.SendMessage(ctx, "q1", body, 0)
			if err != nil || id != "m-1" {
				t.Fatalf("send: %q %v", id, err)
			}
			r := f.last()
			if r.Method != tc.wantMethod || r.Path != tc.wantPath || r.Params.Get("msgBody") != body {
				t.Fatalf("server saw %s %s msgBody %q", r.Method, r.Path, r.Params.Get("msgBody"))
			}
			var he *HTTPError
			if err := c.DeleteQueue(ctx, "q"); !errors.As(err, &he) || he.StatusCode != 502 {
				t.Fatalf("502: %v", err)
			}
		})
	}

	t.Run("timeout", func(t *testing.T) {
		slow := newFakeServer(t, echoOK)
		slow.delay = func(string) time.Duration { return 300 * time.Millisecond }
		c := newClient(t, slow, WithFastHTTP(), WithTimeout(50*time.Millisecond))
		if _, err := c.SetQueueAttributes(ctx, "q", QueueAttributes{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("past its timeout: %v", err)
		}
	})

	t.Run("connections reused", func(t *testing.T) {
		before := f.conns.Load()
		c := newClient(t, f, WithFastHTTP())
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 25 {
					if _, err := c.SendMessage(ctx, "q", "x", 0); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if n := f.conns.Load() - before; n > 4 {
			t.Fatalf("100 requests from 4 workers opened %d connections", n)
		}
	})
}
