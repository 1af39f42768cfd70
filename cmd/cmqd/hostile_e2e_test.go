package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencmq/opencmq/httpapi/client"
	"github.com/opencmq/opencmq/httpapi/signature"
)

// signedSend builds the wire form of a signed SendMessage for host (as a client configured
// with that endpoint signs it), with the given Nonce.
func signedSend(host, queue, body string, nonce int) string {
	a := e2eAccounts[0]
	ps := []signature.Param{
		{Name: "Action", Value: "SendMessage"}, {Name: "Nonce", Value: strconv.Itoa(nonce)},
		{Name: "SecretId", Value: a.SecretID}, {Name: "SignatureMethod", Value: "HmacSHA256"},
		{Name: "Timestamp", Value: strconv.FormatInt(time.Now().Unix(), 10)},
		{Name: "queueName", Value: queue}, {Name: "msgBody", Value: body},
	}
	ps = append(ps, signature.Param{Name: "Signature", Value: signature.SignRequest(signature.MethodSHA256, a.SecretKey, "POST", host, "/v2/index.php", ps)})
	form := url.Values{}
	for _, p := range ps {
		form.Set(p.Name, p.Value)
	}
	return form.Encode()
}

// postRaw sends body to node's HTTP port with the given Host header, byte for byte as a
// replayer would, and returns the CMQ code and message.
func postRaw(t *testing.T, n *e2eNode, host, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/v2/index.php", n.httpPort), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("node %d: %v", n.id, err)
	}
	defer resp.Body.Close()
	var got struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatalf("node %d: %v", n.id, err)
	}
	return got.Code, got.Message
}

// TestE2EClusterReplay: a signed send accepted by one node of a 3-node cluster is refused
// when the very same bytes (Host header included) are replayed to the other nodes, and to
// the first node after it was killed with SIGKILL and restarted; the queue holds the
// message once. Another request that reuses the Nonce is accepted.
func TestE2EClusterReplay(t *testing.T) {
	c := newE2ECluster(t, 3)
	n1 := c.leader()
	ctx := context.Background()
	c.retry("create queue", func(n *e2eNode) error { _, err := n.api.CreateQueue(ctx, "replayed", nil); return err })
	host := fmt.Sprintf("127.0.0.1:%d", n1.httpPort)
	send := signedSend(host, "replayed", "once", 4242)
	if code, msg := postRaw(t, n1, host, send); code != 0 {
		t.Fatalf("first send: %d %s", code, msg)
	}
	for _, n := range c.nodes {
		c.waitCaughtUp(n)
		code, msg := postRaw(t, n, host, send)
		if code != 4100 || !strings.Contains(msg, "replayed request") {
			t.Fatalf("replay to node %d: %d %s", n.id, code, msg)
		}
	}
	// Another request, same Nonce (SDKs repeat them): accepted.
	if code, msg := postRaw(t, c.nodes[1], host, signedSend(host, "replayed", "twice", 4242)); code != 0 {
		t.Fatalf("same Nonce, other request: %d %s", code, msg)
	}
	// The node that accepted it restarts after a SIGKILL: it still refuses.
	c.kill(n1)
	c.start(n1)
	n1.proc.waitReady(t)
	c.waitCaughtUp(n1)
	if code, msg := postRaw(t, n1, host, send); code != 4100 || !strings.Contains(msg, "replayed request") {
		t.Fatalf("replay after a restart: %d %s", code, msg)
	}
	var info *client.QueueInfo
	c.retry("queue attributes", func(n *e2eNode) error {
		var err error
		info, err = n.api.GetQueueAttributes(ctx, "replayed")
		return err
	})
	if info.ActiveMsgNum != 2 {
		t.Fatalf("%d messages, want 2 (each request once)", info.ActiveMsgNum)
	}
}

// TestE2ETLSHostile: plaintext HTTP, old TLS versions and a client that stalls the
// handshake get nowhere on the TLS port, and the server keeps serving.
func TestE2ETLSHostile(t *testing.T) {
	t.Parallel()
	certFile, keyFile := selfSignedCert(t)
	p := startCmqd(t, "--data", filepath.Join(t.TempDir(), "data"), "--accounts", writeAccounts(t, e2eAccounts), "--tls-cert", certFile, "--tls-key", keyFile)
	p.waitReady(t)
	addr := strings.TrimPrefix(p.endpoint, "https://")
	dial := func() net.Conn {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second)) // a bound, not a timing assertion
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	// A client that connects and says nothing (its handshake stalls) holds up nobody.
	dial()
	// Plaintext HTTP: no API answer.
	conn := dial()
	body := signedSend(addr, "q", "x", 1)
	fmt.Fprintf(conn, "POST /v2/index.php HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body)
	reply, _ := io.ReadAll(bufio.NewReader(conn))
	if strings.Contains(string(reply), `"code"`) {
		t.Fatalf("plaintext request answered by the API: %q", reply)
	}
	// TLS 1.0 and 1.1 are refused.
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		tc := tls.Client(dial(), &tls.Config{InsecureSkipVerify: true, MinVersion: v, MaxVersion: v})
		if err := tc.Handshake(); err == nil {
			t.Fatalf("TLS version %x accepted", v)
		}
	}
	// The server still serves over TLS 1.2+.
	cl := newClient(t, p.endpoint, e2eAccounts[0], client.WithTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	if _, err := cl.CreateQueue(context.Background(), "still-serving", nil); err != nil {
		t.Fatal(err)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
