package httpapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/opencmq/opencmq/httpapi/signature"
	"github.com/valyala/fasthttp"
)

// FuzzParseRequest feeds arbitrary methods, paths, query strings and bodies to the handler
// (which must answer every one with a JSON object under HTTP 200, and never panic), and
// then re-sends the parameters the parser found, properly encoded and signed, which must
// pass authentication: parsing and canonicalisation agree with the signer for any input.
func FuzzParseRequest(f *testing.F) {
	f.Add(uint8(0), "/v2/index.php", "", exampleAParams+"&Signature=hwfftpOmpCpU9x97E4j%2BsEfCzjM%3D")
	f.Add(uint8(1), "/v2/index.php", exampleAParams, "")
	f.Add(uint8(0), "/", "Action=x", "msgBody.1=%E4%B8%AD&msgBody.0=+&offset+=1&=v&k=&@=@x")
	f.Add(uint8(0), "http://h:1/p?q", "", "a=%zz&b=%&c=%4&%41=1&&&==&a+b=c+d")
	f.Add(uint8(1), "/x/../y//z", "Action=ListQueue&SecretId=AKIDaaaaaaaaaaaaaaaa&Signature=%2B%2F", "")
	f.Add(uint8(2), "*", "", "\x00\xff\xfe")
	f.Add(uint8(0), "/", "", "Signature=a&Signature=b")
	f.Add(uint8(0), "/", "", "receiptHandle.1=a&receiptHandle.2=b&receiptHandle.x=c&msgBody.999999999999=d")

	e := newEnv(f, nil)
	methods := []string{"POST", "GET", "PUT", "HEAD", "post"}
	f.Fuzz(func(t *testing.T, m uint8, path, query, body string) {
		method := methods[int(m)%len(methods)]
		req := &fasthttp.Request{}
		req.Header.SetMethod(method)
		uri := path
		if query != "" {
			uri += "?" + query
		}
		req.Header.SetRequestURI(uri)
		req.Header.SetHost("127.0.0.1:8080")
		req.SetBodyString(body)
		resp := e.serveRaw(req)
		if resp.StatusCode() != 200 && !bytes.HasPrefix([]byte(path), []byte("/healthz")) && !bytes.HasPrefix([]byte(path), []byte("/readyz")) {
			t.Fatalf("status %d", resp.StatusCode())
		}
		if resp.StatusCode() == 200 && string(resp.Header.ContentType()) == "application/json" && method != "HEAD" {
			var v map[string]any
			if err := json.Unmarshal(resp.Body(), &v); err != nil {
				t.Fatalf("invalid JSON %q: %v", resp.Body(), err)
			}
		}

		// Signed round trip of whatever the parser makes of the body.
		src := body
		if method == "GET" {
			src = query
		}
		r := acquireRequest()
		defer releaseRequest(r)
		if len(src) > DefaultMaxRequestBytes || r.parse([]byte(src)) != nil {
			return
		}
		reserved := map[string]bool{"Action": true, "Nonce": true, "SecretId": true, "Timestamp": true,
			"RequestClient": true, "SignatureMethod": true, "Signature": true}
		var params []signature.Param
		for _, p := range r.params {
			if reserved[string(p.name)] {
				return
			}
			params = append(params, signature.Param{Name: string(p.raw), Value: string(p.value)})
		}
		if len(params)+8 >= MaxParams {
			return
		}
		c := e.client(accountA)
		c.path = path
		// A path a request line can carry: no '?' or '#', no space or control character
		// (fasthttp turns CR and LF into spaces).
		if c.path == "" || strings.ContainsAny(c.path, "?# \x7f") || !strings.HasPrefix(c.path, "/") ||
			strings.IndexFunc(c.path, func(r rune) bool { return r < 0x20 }) >= 0 {
			c.path = "/"
		}
		if method == "GET" {
			c.method = "GET"
		}
		got := decodeResponse(t, e.serveRaw(c.request(c.sign("FuzzAction", params))).Body())
		wantCode(t, got, 4000, 10430) // authenticated; the action is unknown
	})
}
