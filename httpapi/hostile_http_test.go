package httpapi

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// Hostile input on the wire, through NewHTTPServer: framing the handler never sees.

// rawServer serves the API on an in-memory listener and returns a dialer of raw
// connections to it.
func rawServer(t *testing.T, e *testEnv) func() net.Conn {
	ln := serveInMemory(t, e)
	return func() net.Conn {
		c, err := ln.Dial()
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second)) // a bound, not a timing assertion
		t.Cleanup(func() { c.Close() })
		return c
	}
}

// readResponse reads one response from r; for a JSON answer it returns its decoded body.
func readResponse(t *testing.T, r *bufio.Reader) (*fasthttp.Response, map[string]any) {
	t.Helper()
	resp := &fasthttp.Response{}
	if err := resp.Read(r); err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	if string(resp.Header.ContentType()) != "application/json" {
		return resp, nil
	}
	return resp, decodeResponse(t, resp.Body())
}

func TestHostileWire(t *testing.T) {
	e, a, _ := hostileEnv(t)
	dial := rawServer(t, e)
	signedBody := func(action string, kv ...string) string { return encode(a.sign(action, kvs(kv...))) }

	t.Run("chunked body", func(t *testing.T) {
		c := dial()
		body := signedBody("SendMessage", "queueName", "q", "msgBody", "chunked")
		var b strings.Builder
		fmt.Fprintf(&b, "POST /v2/index.php HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n", a.host)
		for len(body) > 0 {
			n := min(len(body), 7)
			fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
			body = body[n:]
		}
		b.WriteString("0\r\n\r\n")
		io.WriteString(c, b.String())
		_, got := readResponse(t, bufio.NewReader(c))
		wantCode(t, got, 0, 0)
	})

	t.Run("chunked body over the cap", func(t *testing.T) {
		before := e.fingerprint()
		c := dial()
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
		chunk := strings.Repeat("x", 64<<10)
		go func() {
			// Written concurrently: the server may answer and close before reading it all.
			for i := 0; i < 40; i++ {
				if _, err := fmt.Fprintf(c, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
					return
				}
			}
			io.WriteString(c, "0\r\n\r\n")
		}()
		resp, got := readResponse(t, bufio.NewReader(c))
		if resp.StatusCode() != fasthttp.StatusRequestEntityTooLarge || got == nil {
			t.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
		}
		wantCode(t, got, 4000, 10420)
		if e.fingerprint() != before {
			t.Fatal("state changed")
		}
	})

	t.Run("100 MiB announced", func(t *testing.T) {
		c := dial()
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\nAction=", 100<<20)
		// Answered from the Content-Length, before the body: 413 with a CMQ error.
		resp, got := readResponse(t, bufio.NewReader(c))
		if resp.StatusCode() != fasthttp.StatusRequestEntityTooLarge || got == nil {
			t.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
		}
		wantCode(t, got, 4000, 10420)
	})

	t.Run("HTTP/1.0", func(t *testing.T) {
		c := dial()
		body := signedBody("GetQueueAttributes", "queueName", "q")
		fmt.Fprintf(c, "POST /v2/index.php HTTP/1.0\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", a.host, len(body), body)
		r := bufio.NewReader(c)
		_, got := readResponse(t, r)
		wantCode(t, got, 0, 0)
		// Without keep-alive the server closes the connection.
		if _, err := r.ReadByte(); err != io.EOF {
			t.Fatalf("connection still open after an HTTP/1.0 answer: %v", err)
		}
	})

	t.Run("pipelining", func(t *testing.T) {
		c := dial()
		var b strings.Builder
		var wantBodies []string
		for i := 0; i < 5; i++ {
			msg := fmt.Sprintf("piped-%d", i)
			wantBodies = append(wantBodies, msg)
			body := signedBody("SendMessage", "queueName", "other", "msgBody", msg)
			fmt.Fprintf(&b, "POST /v2/index.php HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", a.host, len(body), body)
		}
		body := "Action=ListQueue" // unsigned: refused, in order, without breaking the stream
		fmt.Fprintf(&b, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		io.WriteString(c, b.String())
		r := bufio.NewReader(c)
		for i := 0; i < 5; i++ {
			_, got := readResponse(t, r)
			wantCode(t, got, 0, 0)
		}
		_, got := readResponse(t, r)
		wantCode(t, got, 4100, 10030)
		var gotBodies []string
		for i := 0; i < 5; i++ {
			m := a.do("ReceiveMessage", "queueName", "other")
			gotBodies = append(gotBodies, m["msgBody"].(string))
			wantCode(t, a.do("DeleteMessage", "queueName", "other", "receiptHandle", m["receiptHandle"].(string)), 0, 0)
		}
		if strings.Join(gotBodies, ",") != strings.Join(wantBodies, ",") {
			t.Fatalf("bodies %v", gotBodies)
		}
	})

	t.Run("headers too large", func(t *testing.T) {
		c := dial()
		fmt.Fprintf(c, "GET /?%s HTTP/1.1\r\nHost: h\r\n\r\n", strings.Repeat("a", 32<<10))
		resp, got := readResponse(t, bufio.NewReader(c))
		if resp.StatusCode() != fasthttp.StatusRequestHeaderFieldsTooLarge || got == nil {
			t.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
		}
		wantCode(t, got, 4000, 10420)
	})

	t.Run("garbage request line", func(t *testing.T) {
		for _, line := range []string{"\x00\xff\r\n\r\n", "GET\r\n\r\n", "POST / HTTP/9.9\r\nHost: h\r\n\r\n", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"} {
			c := dial()
			io.WriteString(c, line)
			resp := &fasthttp.Response{}
			if err := resp.Read(bufio.NewReader(c)); err == nil && resp.StatusCode() == 200 && len(resp.Body()) > 0 {
				if code(decodeResponse(t, resp.Body())) == 0 {
					t.Fatalf("%q was served", line)
				}
			}
		}
		// The server still serves.
		c := dial()
		body := signedBody("GetQueueAttributes", "queueName", "q")
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", a.host, len(body), body)
		_, got := readResponse(t, bufio.NewReader(c))
		wantCode(t, got, 4100, 10030) // signed for /v2/index.php
	})
}

// TestHTTPServerLimits pins the limits NewHTTPServer sets against slow and large clients.
func TestHTTPServerLimits(t *testing.T) {
	e := newEnv(t, nil)
	srv := e.srv.NewHTTPServer()
	if srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 {
		t.Fatalf("timeouts %v %v %v: a slow client could hold a connection forever", srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	if srv.MaxRequestBodySize <= 0 || srv.MaxRequestBodySize > DefaultMaxRequestBytes+64<<10 {
		t.Fatalf("MaxRequestBodySize %d", srv.MaxRequestBodySize)
	}
	if srv.StreamRequestBody || srv.ReadBufferSize <= 0 || srv.ReadBufferSize > 64<<10 {
		t.Fatalf("streaming %v, read buffer %d", srv.StreamRequestBody, srv.ReadBufferSize)
	}
}
