package httpapi

import (
	"strconv"
	"strings"
	"testing"

	"github.com/opencmq/opencmq/httpapi/signature"
)

// Requests shaped like each SDK's (reference §1–§3).

func TestSDKShapes(t *testing.T) {
	e := newEnv(t, nil)
	e.mustCreate("ns-a", "q", nil)
	recvAll := func(t *testing.T) []string {
		t.Helper()
		c := e.client(accountA)
		got := c.do("BatchReceiveMessage", "queueName", "q", "numOfMsg", "16", "pollingWaitSeconds", "0")
		if code(got) != 0 {
			t.Fatalf("receive: %v", got)
		}
		var bodies []string
		var handles []string
		for _, m := range got["msgInfoList"].([]any) {
			bodies = append(bodies, m.(map[string]any)["msgBody"].(string))
			handles = append(handles, m.(map[string]any)["receiptHandle"].(string))
		}
		ps := []string{"queueName", "q"}
		for i, h := range handles {
			ps = append(ps, "receiptHandle."+strconv.Itoa(i+1), h)
		}
		wantCode(t, c.do("BatchDeleteMessage", ps...), 0, 0)
		return bodies
	}

	t.Run("PY: no Content-Type, 1-based, UserpollingWaitSeconds", func(t *testing.T) {
		c := e.client(accountA)
		c.ctype = ""
		wantCode(t, c.do("BatchSendMessage", "queueName", "q", "msgBody.1", "py1", "msgBody.2", "py2", "delaySeconds", "0"), 0, 0)
		got := c.do("ReceiveMessage", "queueName", "q", "pollingWaitSeconds", "0", "UserpollingWaitSeconds", "10")
		wantCode(t, got, 0, 0)
		wantCode(t, c.do("DeleteMessage", "queueName", "q", "receiptHandle", got["receiptHandle"].(string)), 0, 0)
		if b := recvAll(t); len(b) != 1 || b[0] != "py2" {
			t.Fatalf("bodies %q", b)
		}
	})
	t.Run("JAVA (OkHttp): Content-Type */*;charset=utf-8", func(t *testing.T) {
		c := e.client(accountA)
		c.ctype = "*/*;charset=utf-8"
		wantCode(t, c.do("SendMessage", "queueName", "q", "msgBody", "java", "delaySeconds", "0"), 0, 0)
		if b := recvAll(t); len(b) != 1 || b[0] != "java" {
			t.Fatalf("bodies %q", b)
		}
	})
	t.Run("GET (DOC walk-through), no SignatureMethod", func(t *testing.T) {
		c := e.client(accountA)
		c.method, c.sigMethod, c.ctype = "GET", "", ""
		wantCode(t, c.do("SendMessage", "queueName", "q", "msgBody", "via get & more"), 0, 0)
		if b := recvAll(t); len(b) != 1 || b[0] != "via get & more" {
			t.Fatalf("bodies %q", b)
		}
	})
	t.Run("GET ignores the body, POST ignores the query", func(t *testing.T) {
		c := e.client(accountA)
		ps := c.sign("ListQueue", nil)
		req := c.request(ps)
		req.SetRequestURI(c.path + "?Action=DeleteQueue&queueName=q")
		wantCode(t, e.roundTrip(req), 0, 0) // the body counted
		c.method = "GET"
		req = c.request(c.sign("ListQueue", nil))
		req.SetBodyString("Action=DeleteQueue&queueName=q")
		wantCode(t, e.roundTrip(req), 0, 0) // the query counted
	})
	t.Run("TGO: path /, 0-based, form Content-Type", func(t *testing.T) {
		c := e.client(accountA)
		c.path = "/"
		wantCode(t, c.do("BatchSendMessage", "queueName", "q", "msgBody.0", "tgo0", "msgBody.1", "tgo1"), 0, 0)
		if b := recvAll(t); strings.Join(b, ",") != "tgo0,tgo1" {
			t.Fatalf("bodies %q", b)
		}
	})
	t.Run("msgBody.10 sorts after msgBody.9", func(t *testing.T) {
		c := e.client(accountA)
		ps := []string{"queueName", "q"}
		for i := 1; i <= 12; i++ {
			ps = append(ps, "msgBody."+strconv.Itoa(i), "b"+strconv.Itoa(i))
		}
		wantCode(t, c.do("BatchSendMessage", ps...), 0, 0)
		want := "b1,b2,b3,b4,b5,b6,b7,b8,b9,b10,b11,b12"
		if b := recvAll(t); strings.Join(b, ",") != want {
			t.Fatalf("bodies %q", b)
		}
	})
	t.Run("action case (JAVA's ClearSUbscriptionFIlterTags)", func(t *testing.T) {
		c := e.client(accountA)
		wantCode(t, c.do("sendmessage", "queueName", "q", "msgBody", "lower"), 0, 0)
		wantCode(t, c.do("SENDMESSAGE", "queueName", "q", "msgBody", "upper"), 0, 0)
		if b := recvAll(t); strings.Join(b, ",") != "lower,upper" {
			t.Fatalf("bodies %q", b)
		}
	})
	t.Run("NGO: trailing spaces in keys, signed with the space", func(t *testing.T) {
		e.mustCreate("ns-a", "ngo-one", nil)
		e.mustCreate("ns-a", "ngo-two", nil)
		c := e.client(accountA)
		got := c.do("ListQueue", "searchWord ", "ngo", "offset ", "1", "limit ", "5")
		wantJSON(t, got, `{`+ok+`,"totalCount":2,"queueList":[{"queueId":"<queueId>","queueName":"ngo-two"}]}`)
		// A key both with and without the space is ambiguous.
		wantCode(t, c.do("ListQueue", "limit ", "1", "limit", "2"), 4000, 10330)
	})
	t.Run("CPP: HmacSHA256, %20 for spaces", func(t *testing.T) {
		c := e.client(accountA)
		c.sigMethod = "HmacSHA256"
		ps := c.sign("SendMessage", kvs("queueName", "q", "msgBody", "cpp body + plus"))
		req := c.request(ps)
		req.SetBodyString(strings.ReplaceAll(encode(ps), "+", "%20"))
		wantCode(t, e.roundTrip(req), 0, 0)
		if b := recvAll(t); len(b) != 1 || b[0] != "cpp body + plus" {
			t.Fatalf("bodies %q", b)
		}
	})
	t.Run("PHP/NODE: Region, no RequestClient, Token", func(t *testing.T) {
		c := e.client(accountA)
		var ps []signature.Param
		for _, p := range c.public("SendMessage", kvs("queueName", "q", "msgBody", "php", "Region", "gz", "Token", "sts-token")) {
			if p.Name != "RequestClient" {
				ps = append(ps, p)
			}
		}
		wantCode(t, e.roundTrip(c.request(c.signParams(ps))), 0, 0)
		if b := recvAll(t); len(b) != 1 || b[0] != "php" {
			t.Fatalf("bodies %q", b)
		}
	})
	t.Run("@ body signed the PY way and the JAVA way", func(t *testing.T) {
		py := e.client(accountA)
		py.omitAt = true
		wantCode(t, py.do("SendMessage", "queueName", "q", "msgBody", "@file.txt"), 0, 0)
		java := e.client(accountA)
		wantCode(t, java.do("SendMessage", "queueName", "q", "msgBody", "@other"), 0, 0)
		if b := recvAll(t); strings.Join(b, ",") != "@file.txt,@other" {
			t.Fatalf("bodies %q", b)
		}
		php := e.client(accountA)
		php.omitAt, php.reqClient = true, "-"
		wantCode(t, php.do("SendMessage", "queueName", "q", "msgBody", "@php"), 0, 0)
		if b := recvAll(t); strings.Join(b, ",") != "@php" {
			t.Fatalf("bodies %q", b)
		}
		// The server only tries the variant without them for POST (PY drops them only
		// there), and only for PY and PHP: an '@' parameter appended to another SDK's
		// request does not pass.
		py.method = "GET"
		wantCode(t, py.do("SendMessage", "queueName", "q", "msgBody", "@get"), 4100, 10030)
		forged := e.client(accountA)
		forged.omitAt, forged.reqClient = true, "SDK_JAVA_1.3"
		wantCode(t, forged.do("SendMessage", "queueName", "q", "msgBody", "@appended"), 4100, 10030)
	})
	t.Run("clientRequestId echo", func(t *testing.T) {
		c := e.client(accountA)
		wantJSON(t, c.do("ListQueue", "clientRequestId", "4294967295", "limit", "0"), `{`+ok+`,"clientRequestId":4294967295,"totalCount":3,"queueList":[]}`)
		wantJSON(t, c.do("ListQueue", "clientRequestId", "req-7", "limit", "0"), `{`+ok+`,"clientRequestId":"req-7","totalCount":3,"queueList":[]}`)
		wantJSON(t, c.do("ListQueue", "clientRequestId", "007", "limit", "0"), `{`+ok+`,"clientRequestId":"007","totalCount":3,"queueList":[]}`)
		// Echoed on errors too.
		wantJSON(t, c.do("GetQueueAttributes", "clientRequestId", "12", "queueName", "nosuch"),
			`{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>","clientRequestId":12}`)
	})
	t.Run("absolute request URI (via a proxy)", func(t *testing.T) {
		c := e.client(accountA)
		req := c.request(c.sign("ListQueue", nil))
		req.Header.SetRequestURI("http://127.0.0.1:8080/v2/index.php")
		wantCode(t, e.roundTrip(req), 0, 0)
	})
	t.Run("keys are decoded too", func(t *testing.T) {
		c := e.client(accountA)
		ps := c.sign("ListQueue", nil)
		body := encode(ps)
		body = strings.Replace(body, "Action=", "%41ction=", 1)
		req := c.request(ps)
		req.SetBodyString(body)
		wantCode(t, e.roundTrip(req), 0, 0)
	})
}
