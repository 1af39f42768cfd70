package httpapi

import (
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// The reference's worked examples (§3.2), replayed byte for byte.

var exampleA = Account{Namespace: "example", SecretID: "AKIDexample1234567890", SecretKey: "exampleSecretKey0123456789abcdef"}

const exampleAParams = "Action=BatchSendMessage&Nonce=12345&RequestClient=SDK_Python_1.3&SecretId=AKIDexample1234567890&SignatureMethod=HmacSHA1&Timestamp=1700000000&delaySeconds=0&msgBody.1=hello+world&msgBody.2=a%26b%3Dc&queueName=orders"

func exampleEnv(t *testing.T, mod func(*Config)) *testEnv {
	e := newEnv(t, func(c *Config) {
		c.Accounts = append(c.Accounts, exampleA)
		if mod != nil {
			mod(c)
		}
	})
	e.mustCreate("example", "orders", nil)
	return e
}

// rawRequest builds a request from wire parts.
func rawRequest(method, host, uri, body, contentType string) *fasthttp.Request {
	req := &fasthttp.Request{}
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.SetHost(host)
	if contentType == "" {
		req.Header.SetNoDefaultContentType(true)
	} else {
		req.Header.SetContentType(contentType)
	}
	if body != "" {
		req.SetBodyString(body)
	}
	return req
}

func TestSignatureExampleA(t *testing.T) {
	e := exampleEnv(t, nil)
	sha256Params := strings.Replace(exampleAParams, "HmacSHA1", "HmacSHA256", 1)
	cases := []struct {
		name         string
		method, path string
		params, sig  string
	}{
		{"SHA1 POST", "POST", "/v2/index.php", exampleAParams, "hwfftpOmpCpU9x97E4j%2BsEfCzjM%3D"},
		{"SHA256 POST", "POST", "/v2/index.php", sha256Params, "MVbct2IxYGoSbArUyWN6FA%2Ff8P9leZRGsg%2Ft7ShnP%2Fg%3D"},
		{"SHA1 GET", "GET", "/v2/index.php", exampleAParams, "YtXQofe%2F40fLsnpZigIW4hAt%2Fjg%3D"},
		{"SHA1 POST to /", "POST", "/", exampleAParams, "F32xp918EfRmfPvpXrtngGyQAwM%3D"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wire := c.params + "&Signature=" + c.sig
			var req *fasthttp.Request
			if c.method == "GET" {
				req = rawRequest("GET", "127.0.0.1:8080", c.path+"?"+wire, "", "")
			} else {
				// As PY sends it: no Content-Type at all.
				req = rawRequest("POST", "127.0.0.1:8080", c.path, wire, "")
			}
			got := e.roundTrip(req)
			wantJSON(t, got, `{`+ok+`,"msgList":[{"msgId":"<msgId>"},{"msgId":"<msgId>"}]}`)
			// The very same request again is a replay.
			wantCode(t, e.roundTrip(req), 4100, 10030)
		})
	}
	// The bodies arrived decoded.
	c := e.client(exampleA)
	got := c.do("BatchReceiveMessage", "queueName", "orders", "numOfMsg", "16")
	var bodies []string
	for _, m := range got["msgInfoList"].([]any) {
		bodies = append(bodies, m.(map[string]any)["msgBody"].(string))
	}
	if strings.Join(bodies, "|") != strings.Repeat("hello world|a&b=c|", 4)[:4*18-1] {
		t.Fatalf("bodies %q", bodies)
	}
}

func TestSignatureExampleB(t *testing.T) {
	b := Account{Namespace: "doc", SecretID: "AKIDPcYDclDJCn8D0Xypa4f3pKYUCVYLn3zT", SecretKey: "pPgfLipfEXZ7VcRzhAMIyPaU7UbQyFFx"}
	e := newEnv(t, func(c *Config) { c.Accounts = []Account{b} })
	// The clock goes back before anything is applied: the state machine's time never
	// runs backwards, and a request five years older than its last command is too old.
	e.clock.Set(time.Unix(1534154812, 0))
	e.mustCreate("doc", "test1", nil)
	body := "Action=SendMessage&Nonce=2889712707386595659&RequestClient=SDK_Python_1.3&SecretId=AKIDPcYDclDJCn8D0Xypa4f3pKYUCVYLn3zT" +
		"&SignatureMethod=HmacSHA1&Timestamp=1534154812&clientRequestId=1231231231&delaySeconds=0&msgBody=msg&queueName=test1" +
		"&Signature=C16WEtEXsD5v5tnaUMLAbZewXhI%3D"
	got := e.roundTrip(rawRequest("POST", "cmq-queue-gz.api.tencentyun.com", "/v2/index.php", body, "application/x-www-form-urlencoded"))
	wantJSON(t, got, `{`+ok+`,"clientRequestId":1231231231,"msgId":"<msgId>"}`)
	// Signed for another host: refused.
	got = e.roundTrip(rawRequest("POST", "cmq-queue-sh.api.tencentyun.com", "/v2/index.php", body, ""))
	wantJSON(t, got, `{"code":4100,"message":"(10030)authentication failed","requestId":"<rid>","clientRequestId":1231231231}`)
}

func TestSignatureRefusals(t *testing.T) {
	e := exampleEnv(t, nil)
	post := func(body string) map[string]any {
		return e.roundTrip(rawRequest("POST", "127.0.0.1:8080", "/v2/index.php", body, ""))
	}
	authFailed := `{"code":4100,"message":"(10030)authentication failed","requestId":"<rid>"}`
	t.Run("tampered", func(t *testing.T) {
		body := strings.Replace(exampleAParams, "hello+world", "hello+worle", 1) + "&Signature=hwfftpOmpCpU9x97E4j%2BsEfCzjM%3D"
		wantJSON(t, post(body), authFailed)
	})
	t.Run("extra parameter", func(t *testing.T) {
		wantJSON(t, post(exampleAParams+"&delay=1&Signature=hwfftpOmpCpU9x97E4j%2BsEfCzjM%3D"), authFailed)
	})
	t.Run("forged", func(t *testing.T) {
		wantJSON(t, post(exampleAParams+"&Signature=AAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"), authFailed)
		wantJSON(t, post(exampleAParams+"&Signature=short"), authFailed)
	})
	t.Run("method mismatch", func(t *testing.T) {
		// The GET signature, POSTed.
		wantJSON(t, post(exampleAParams+"&Signature=YtXQofe%2F40fLsnpZigIW4hAt%2Fjg%3D"), authFailed)
	})
	t.Run("another account's key", func(t *testing.T) {
		c := e.client(accountA)
		c.acct.SecretKey = accountB.SecretKey
		wantJSON(t, c.do("ListQueue"), authFailed)
	})
	t.Run("unknown SecretId", func(t *testing.T) {
		c := e.client(Account{SecretID: "AKIDnobody", SecretKey: "k"})
		wantJSON(t, c.do("ListQueue"), `{"code":4100,"message":"(10270)secret id is not existed","requestId":"<rid>"}`)
	})
	t.Run("missing SecretId", func(t *testing.T) {
		wantJSON(t, post("Action=ListQueue&Signature=x"), `{"code":4100,"message":"(10030)authentication failed: parameter SecretId is missing","requestId":"<rid>"}`)
	})
	t.Run("missing Signature", func(t *testing.T) {
		wantJSON(t, post(exampleAParams), `{"code":4100,"message":"(10030)authentication failed: parameter Signature is missing","requestId":"<rid>"}`)
	})
	t.Run("expired", func(t *testing.T) {
		for _, off := range []int64{-301, 301, -1 << 40} {
			c := e.client(accountA)
			c.timeOffset = off
			got := c.do("ListQueue")
			wantCode(t, got, 4100, 10030)
			if msg := got["message"].(string); !strings.Contains(msg, "Timestamp") || !strings.Contains(msg, "300 seconds") {
				t.Fatalf("unclear message %q", msg)
			}
		}
		for _, off := range []int64{-300, 300} {
			c := e.client(accountA)
			c.timeOffset = off
			wantCode(t, c.do("ListQueue"), 0, 0)
		}
	})
	t.Run("missing Timestamp", func(t *testing.T) {
		c := e.client(accountA)
		got := e.roundTrip(c.request(c.signWithout("ListQueue", "Timestamp")))
		wantJSON(t, got, `{"code":4100,"message":"(10030)authentication failed: parameter Timestamp is missing","requestId":"<rid>"}`)
	})
	t.Run("bad Timestamp", func(t *testing.T) {
		c := e.client(accountA)
		ps := c.public("ListQueue", nil)
		for i := range ps {
			if ps[i].Name == "Timestamp" {
				ps[i].Value = "2023-11-14T22:13:20Z"
			}
		}
		got := e.roundTrip(c.request(c.signParams(ps)))
		wantJSON(t, got, `{"code":4100,"message":"(10030)authentication failed: parameter Timestamp must be unix seconds","requestId":"<rid>"}`)
	})
}

func TestTimestampWindowDisabled(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TimestampWindow = -1 })
	c := e.client(accountA)
	c.timeOffset = -86400 * 365
	wantCode(t, c.do("ListQueue"), 0, 0)
	// Timestamp becomes optional.
	wantCode(t, e.roundTrip(c.request(c.signWithout("ListQueue", "Timestamp"))), 0, 0)
	// Replays are still refused, for the default window from now.
	e.mustCreate("ns-a", "q", nil)
	req := c.request(c.sign("SendMessage", kvs("queueName", "q", "msgBody", "x")))
	wantCode(t, e.roundTrip(req), 0, 0)
	e.clock.Advance(4 * time.Minute)
	wantCode(t, e.roundTrip(req), 4100, 10030)
}

func TestReplay(t *testing.T) {
	e := newEnv(t, nil)
	e.mustCreate("ns-a", "q", nil)
	c := e.client(accountA)
	send := c.request(c.sign("SendMessage", kvs("queueName", "q", "msgBody", "once")))
	wantCode(t, e.roundTrip(send), 0, 0)
	got := e.roundTrip(send)
	wantCode(t, got, 4100, 10030)
	if !strings.Contains(got["message"].(string), "replayed request") {
		t.Fatalf("unclear message %q", got["message"])
	}
	// Identical polls (CPP, NODE repeat their Nonce within a second) are fine.
	recv := c.request(c.sign("ReceiveMessage", kvs("queueName", "q", "pollingWaitSeconds", "0")))
	wantCode(t, e.roundTrip(recv), 0, 0)
	wantCode(t, e.roundTrip(recv), 7000, 10200)
	wantCode(t, e.roundTrip(recv), 7000, 10200)
	get := c.request(c.sign("GetQueueAttributes", kvs("queueName", "q")))
	wantCode(t, e.roundTrip(get), 0, 0)
	wantCode(t, e.roundTrip(get), 0, 0)
	// Same request, other moment (new Timestamp): a new signature, accepted.
	e.clock.Advance(time.Second)
	c.nonce-- // same Nonce as before
	wantCode(t, e.roundTrip(c.request(c.sign("SendMessage", kvs("queueName", "q", "msgBody", "once")))), 0, 0)
	// After the window the remembered signature is forgotten, and the Timestamp check
	// refuses the request instead.
	e.clock.Advance(10 * time.Minute)
	wantCode(t, e.roundTrip(send), 4100, 10030)
	wantCode(t, c.do("SendMessage", "queueName", "q", "msgBody", "new"), 0, 0)
	if n := e.srv.replay.len(); n != 1 {
		t.Fatalf("replay cache holds %d entries after the window, want 1", n)
	}

	// Disabled.
	e2 := newEnv(t, func(c *Config) { c.DisableReplayCheck = true })
	e2.mustCreate("ns-a", "q", nil)
	c2 := e2.client(accountA)
	send2 := c2.request(c2.sign("SendMessage", kvs("queueName", "q", "msgBody", "twice")))
	wantCode(t, e2.roundTrip(send2), 0, 0)
	wantCode(t, e2.roundTrip(send2), 0, 0)
}

func TestReplayCacheBounded(t *testing.T) {
	c := newReplayCache(5*time.Minute, 100)
	now := time.Unix(testEpoch, 0)
	sig := func(i int) []byte {
		return []byte(strings.Repeat("x", 20) + string(rune('A'+i%26)) + string(rune('A'+i/26%26)) + string(rune('A'+i/676)))
	}
	// Fill across several seconds.
	for i := 0; i < 100; i++ {
		if err := c.check(0, sig(i), now.Unix()+int64(i/10), now.Add(time.Duration(i/10)*time.Second)); err != nil {
			t.Fatal(i, err)
		}
	}
	if c.len() != 100 {
		t.Fatalf("len %d", c.len())
	}
	later := now.Add(10 * time.Second)
	// Full: the earliest-expiring second (10 entries) is evicted to make room.
	if err := c.check(0, sig(100), later.Unix(), later); err != nil {
		t.Fatal(err)
	}
	if c.len() != 91 {
		t.Fatalf("len %d after eviction", c.len())
	}
	// A request stamped in the evicted second may be a replay of a forgotten one: refused.
	if err := c.check(0, sig(0), now.Unix(), later); err != errReplayFull {
		t.Fatalf("got %v, want errReplayFull", err)
	}
	// Remembered ones are replays.
	if err := c.check(0, sig(50), now.Unix()+5, later); err != errReplay {
		t.Fatalf("got %v, want errReplay", err)
	}
	// The same signature under another account is not.
	if err := c.check(1, sig(50), now.Unix()+5, later); err != nil {
		t.Fatal(err)
	}
	// Everything goes when the window has passed.
	end := now.Add(11 * time.Minute)
	if err := c.check(0, sig(7), end.Unix(), end); err != nil {
		t.Fatal(err)
	}
	if c.len() != 1 {
		t.Fatalf("len %d after the window", c.len())
	}
}

func TestHostVariants(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.PublicHosts = []string{"cmq.example.com"}
	})
	for _, tc := range []struct {
		name, header, signed string
		xfh                  string
		ok                   bool
	}{
		{"as sent", "h.example:8080", "h.example:8080", "", true},
		{"default port added by client config", "h.example", "h.example:80", "", true},
		{"default port dropped by client config", "h.example:80", "h.example", "", true},
		{"other port", "h.example:8080", "h.example:8081", "", false},
		{"https port on http", "h.example", "h.example:443", "", false},
		{"public host", "10.0.0.1:8080", "cmq.example.com", "", true},
		{"unknown host", "10.0.0.1:8080", "evil.example.com", "", false},
		{"forwarded host, untrusted", "10.0.0.1:8080", "front.example.com", "front.example.com", false},
		{"IPv6 default port", "[::1]", "[::1]:80", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client(accountA)
			c.host, c.signHost = tc.header, tc.signed
			if tc.xfh != "" {
				c.extraHdr = map[string]string{"X-Forwarded-Host": tc.xfh}
			}
			got := c.do("ListQueue")
			if (code(got) == 0) != tc.ok {
				t.Fatalf("got %v", got)
			}
		})
	}
	e2 := newEnv(t, func(c *Config) { c.TrustForwardedHost = true })
	for _, tc := range []struct {
		signed, xfh, proto string
		ok                 bool
	}{
		{"front.example.com", "front.example.com", "", true},
		{"front.example.com:80", "front.example.com", "", true},
		{"front.example.com:443", "front.example.com", "https", true},
		{"front.example.com", "proxy1, front.example.com", "", true},
		{"other.example.com", "front.example.com", "", false},
	} {
		c := e2.client(accountA)
		c.host, c.signHost = "10.0.0.1:8080", tc.signed
		c.extraHdr = map[string]string{"X-Forwarded-Host": tc.xfh}
		if tc.proto != "" {
			c.extraHdr["X-Forwarded-Proto"] = tc.proto
		}
		if got := c.do("ListQueue"); (code(got) == 0) != tc.ok {
			t.Fatalf("%+v: got %v", tc, got)
		}
	}
}

func TestTogglePort(t *testing.T) {
	for _, tc := range [][3]string{
		{"h", ":80", "h:80"},
		{"h:80", ":80", "h"},
		{"h:8080", ":80", ""},
		{"h:443", ":443", "h"},
		{"[::1]", ":443", "[::1]:443"},
		{"[::1]:443", ":443", "[::1]"},
		{"[::1]:8", ":443", ""},
	} {
		if got := togglePort(tc[0], tc[1]); got != tc[2] {
			t.Errorf("togglePort(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}
