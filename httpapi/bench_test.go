package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/httpapi/signature"
	"github.com/opencmq/opencmq/segment/vfs"
	"github.com/valyala/fasthttp"
)

// stubBackend answers sends and receives at once, to measure the HTTP layer alone.
type stubBackend struct {
	nopBackend
	msgs []engine.Message
}

func (stubBackend) BatchSendMessage(_ context.Context, _, _ string, bodies [][]byte, _ int64) ([]string, error) {
	ids := make([]string, len(bodies))
	for i := range ids {
		ids[i] = "0000000000000001000000000000002a"
	}
	return ids, nil
}

func (s stubBackend) ReceiveMessage(_ context.Context, _, _ string, n int, _ int64) ([]engine.Message, error) {
	return s.msgs[:min(n, len(s.msgs))], nil
}

func benchServer(b *testing.B, backend Backend, replay bool) *Server {
	s, err := New(Config{
		Backend: backend, Accounts: []Account{accountA},
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		DisableReplayCheck: !replay,
		TimestampWindow:    -1,
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func signedRequest(s *Server, action string, kv ...string) *fasthttp.Request {
	e := &testEnv{clock: newFakeClock(time.Now().Unix()), srv: s}
	c := e.client(accountA)
	return c.request(c.sign(action, kvs(kv...)))
}

func benchHandler(b *testing.B, s *Server, req *fasthttp.Request) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		ctx.Init(req, nil, nil)
		for pb.Next() {
			ctx.Response.Reset()
			s.Handler(&ctx)
			if ctx.Response.Body()[8] != '0' { // {"code":0
				b.Fatalf("%s", ctx.Response.Body())
			}
		}
	})
}

// BenchmarkHandlerSendMessage: parse, verify, dispatch and answer a SendMessage, with a
// backend that costs nothing.
func BenchmarkHandlerSendMessage(b *testing.B) {
	s := benchServer(b, stubBackend{}, false)
	benchHandler(b, s, signedRequest(s, "SendMessage", "queueName", "orders", "msgBody", "a typical message body of some length, with spaces & symbols", "delaySeconds", "0"))
}

func BenchmarkHandlerBatchReceiveMessage(b *testing.B) {
	msgs := make([]engine.Message, 16)
	for i := range msgs {
		msgs[i] = engine.Message{ID: "0000000000000001000000000000002a", Body: []byte("a typical message body of some length, with spaces & symbols"),
			ReceiptHandle: "AAAAAAAAAAEAAAAAAAAAKgAAAAAAAAABq7PMIQ", EnqueueTime: time.Now(), NextVisibleTime: time.Now(), FirstDequeueTime: time.Now(), DequeueCount: 1}
	}
	s := benchServer(b, stubBackend{msgs: msgs}, false)
	benchHandler(b, s, signedRequest(s, "BatchReceiveMessage", "queueName", "orders", "numOfMsg", "16", "pollingWaitSeconds", "0"))
}

// BenchmarkHandlerSendMessageEngine: the same against the real engine on an in-memory file
// system (no fsync cost).
func BenchmarkHandlerSendMessageEngine(b *testing.B) {
	eng, err := engine.Open("/d", engine.Options{FS: vfs.NewMem(), NoSync: true, Limits: engine.Limits{MinMaxMsgHeapNum: 1},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	a := engine.DefaultQueueAttributes()
	a.MaxMsgHeapNum = 1e9
	if _, err := eng.CreateQueue(context.Background(), accountA.Namespace, "orders", a); err != nil {
		b.Fatal(err)
	}
	s := benchServer(b, eng, false)
	benchHandler(b, s, signedRequest(s, "SendMessage", "queueName", "orders", "msgBody", "a typical message body of some length, with spaces & symbols", "delaySeconds", "0"))
}

func BenchmarkReplayCheck(b *testing.B) {
	c := newReplayCache(5*time.Minute, DefaultReplayCacheEntries)
	base := time.Now().Unix()
	var n atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		sig := make([]byte, 28)
		for pb.Next() {
			i := n.Add(1)
			sig = strconv.AppendUint(sig[:0], i, 10)
			// 40,000 requests per simulated second: the cache fills after 25 s and then
			// evicts a second at a time.
			now := time.Unix(base+int64(i/40000), 0)
			if err := c.check(0, sig, now.Unix(), now); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSendOverTCP is the end-to-end number: 32 clients, each with its own keep-alive
// connection, sending signed SendMessage requests over loopback TCP to a server whose engine
// fsyncs to a real directory (durable) or not at all (nosync: the HTTP layer's ceiling).
// The clients run in the same process, sharing the CPUs with the server.
func BenchmarkSendOverTCP(b *testing.B) {
	b.Run("durable", func(b *testing.B) { benchSendOverTCP(b, false) })
	b.Run("nosync", func(b *testing.B) { benchSendOverTCP(b, true) })
}

func benchSendOverTCP(b *testing.B, noSync bool) {
	eng, err := engine.Open(b.TempDir(), engine.Options{NoSync: noSync, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	a := engine.DefaultQueueAttributes()
	a.MaxMsgHeapNum = 1e9
	if _, err := eng.CreateQueue(context.Background(), accountA.Namespace, "orders", a); err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Backend: eng, Accounts: []Account{accountA}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := s.NewHTTPServer()
	go srv.Serve(ln) //nolint:errcheck
	defer srv.Shutdown()
	addr := ln.Addr().String()

	const clients = 32
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			hc := &fasthttp.HostClient{Addr: addr, MaxConns: 1}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			nonce := w << 40
			var body []byte
			for next.Add(1) <= int64(b.N) {
				nonce++
				ps := []signature.Param{
					{Name: "Action", Value: "SendMessage"}, {Name: "Nonce", Value: strconv.Itoa(nonce)},
					{Name: "SecretId", Value: accountA.SecretID}, {Name: "SignatureMethod", Value: "HmacSHA1"},
					{Name: "Timestamp", Value: strconv.FormatInt(time.Now().Unix(), 10)},
					{Name: "queueName", Value: "orders"}, {Name: "msgBody", Value: "a typical message body of some length"},
					{Name: "delaySeconds", Value: "0"},
				}
				sig := signature.SignRequest(signature.MethodSHA1, accountA.SecretKey, "POST", addr, "/v2/index.php", ps)
				ps = append(ps, signature.Param{Name: "Signature", Value: sig})
				body = body[:0]
				for i, p := range ps {
					if i > 0 {
						body = append(body, '&')
					}
					body = append(body, p.Name...)
					body = append(body, '=')
					body = appendQueryEscape(body, p.Value)
				}
				req.Reset()
				req.Header.SetMethod("POST")
				req.SetRequestURI("http://" + addr + "/v2/index.php")
				req.SetBody(body)
				if err := hc.Do(req, resp); err != nil {
					b.Error(err)
					return
				}
				if resp.Body()[8] != '0' {
					b.Errorf("%s", resp.Body())
					return
				}
			}
		}(w)
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sends/s")
}

func appendQueryEscape(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', hex[c>>4], hex[c&15])
		}
	}
	return dst
}
