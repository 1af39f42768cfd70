// Package client is a Go client for CMQ's HTTP action API (v2), as served by opencmq's cmqd
// and by Tencent Cloud CMQ. It builds and signs requests exactly like the official SDKs:
// public parameters Action, Nonce, SecretId, SignatureMethod, Timestamp and RequestClient,
// 1-based indexed parameters (msgBody.1, receiptHandle.1, …), a form-encoded POST body (or a
// query string with WithGET), and the signature of package signature over the host as
// written in the endpoint (with its :port if one was written) and the request path.
//
// Every API error (a response whose "code" is not 0) is returned as an *Error; IsNoMessage
// reports the "no message" result of a receive (code 7000).
//
//	c, err := client.New("http://127.0.0.1:8080", secretID, secretKey)
//	id, err := c.SendMessage(ctx, "orders", "hello", 0)
//	msg, err := c.ReceiveMessage(ctx, "orders", 10)
//	if client.IsNoMessage(err) { … }
//	err = c.DeleteMessage(ctx, "orders", msg.ReceiptHandle)
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opencmq/opencmq/httpapi/signature"
	"github.com/valyala/fasthttp"
)

// Version is the client version, sent as RequestClient "opencmq-go/<Version>".
const Version = "0.1.0"

// DefaultPath is the API path every CMQ SDK uses.
const DefaultPath = "/v2/index.php"

// DefaultTimeout bounds one request (long-polling receives get their wait on top, see
// LongPollSlack).
const DefaultTimeout = 10 * time.Second

// LongPollSlack is added to a receive's polling wait to get its HTTP timeout, so that the
// server's "no message" answer at the end of the wait arrives before the client gives up.
const LongPollSlack = 5 * time.Second

// MaxPollingWaitSeconds is CMQ's largest long-polling wait; a receive that leaves the wait to
// the queue's pollingWaitSeconds is given this much time.
const MaxPollingWaitSeconds = 30

// maxResponseBytes bounds a response body (a batch receive of 16 × 1 MiB bodies, escaped).
const maxResponseBytes = 128 << 20

var errResponseTooLarge = fmt.Errorf("response larger than %d bytes", maxResponseBytes)

// Client sends signed CMQ requests to one endpoint. It is safe for concurrent use; reuse one
// Client (and its connection pool) rather than creating one per request.
type Client struct {
	scheme    string // "http" or "https"
	host      string // as written in the endpoint, with :port if written
	path      string
	secretID  string
	secretKey string

	method    string // http.MethodPost or http.MethodGet
	sigMethod signature.Method
	timeout   time.Duration
	hc        *http.Client
	fast      *fasthttp.Client // with WithFastHTTP: used instead of hc
	useFast   bool
	now       func() time.Time
	reqClient string

	// option staging
	pathSet   bool
	tlsConfig *tls.Config

	// adminToken is sent with the cluster admin requests (see cluster.go).
	adminToken string
}

// Option configures a Client.
type Option func(*Client) error

// WithPath sets the request path (default DefaultPath, or the endpoint's own path when it has
// one other than "/").
func WithPath(path string) Option {
	return func(c *Client) error {
		if path == "" || path[0] != '/' {
			return fmt.Errorf("client: path %q must start with /", path)
		}
		c.path, c.pathSet = path, true
		return nil
	}
}

// WithSignatureMethod selects HmacSHA1 (default) or HmacSHA256.
func WithSignatureMethod(m signature.Method) Option {
	return func(c *Client) error { c.sigMethod = m; return nil }
}

// WithSignatureMethodName selects the signature method by its parameter value: "HmacSHA1"
// or "HmacSHA256".
func WithSignatureMethodName(name string) Option {
	return func(c *Client) error {
		switch name {
		case "HmacSHA1", "":
			c.sigMethod = signature.MethodSHA1
		case "HmacSHA256":
			c.sigMethod = signature.MethodSHA256
		default:
			return fmt.Errorf("client: unknown signature method %q (HmacSHA1 or HmacSHA256)", name)
		}
		return nil
	}
}

// WithGET sends requests as GET with every parameter in the query string, instead of the
// default POST with a form-encoded body.
func WithGET() Option {
	return func(c *Client) error { c.method = http.MethodGet; return nil }
}

// WithTimeout sets the timeout of one request (default DefaultTimeout). Receives that long
// poll get at least their wait plus LongPollSlack.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) error {
		if d <= 0 {
			return fmt.Errorf("client: timeout must be positive")
		}
		c.timeout = d
		return nil
	}
}

// WithHTTPClient sends requests through hc instead of the default keep-alive client. The
// Client applies its own per-request timeouts through the request context; if hc.Timeout is
// set it must exceed the longest long poll (30 s + LongPollSlack).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return fmt.Errorf("client: nil http.Client")
		}
		c.hc = hc
		return nil
	}
}

// WithTLSConfig sets the TLS configuration of the default transport (for example a private
// CA). It is ignored when WithHTTPClient is given.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *Client) error { c.tlsConfig = cfg; return nil }
}

// WithClock sets the clock used for the Timestamp parameter (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *Client) error { c.now = now; return nil }
}

// WithRequestClient overrides the RequestClient parameter (default "opencmq-go/<Version>").
func WithRequestClient(s string) Option {
	return func(c *Client) error { c.reqClient = s; return nil }
}

// NewTransport returns the default transport: keep-alive with enough idle connections per
// host for 64+ concurrent callers.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     false, // CMQ servers speak HTTP/1.1
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       50 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}

// New returns a client for endpoint ("http://host[:port]" or "https://host[:port]",
// optionally followed by a path) with the given credentials.
func New(endpoint, secretID, secretKey string, opts ...Option) (*Client, error) {
	if secretID == "" || secretKey == "" {
		return nil, errors.New("client: secret id and secret key are required")
	}
	return newUnchecked(endpoint, secretID, secretKey, opts...)
}

// newUnchecked is New without the credential check (NewAdmin makes clients without them).
func newUnchecked(endpoint, secretID, secretKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil {
		return nil, fmt.Errorf("client: endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("client: endpoint %q: scheme must be http or https", endpoint)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("client: endpoint %q has no host", endpoint)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: endpoint %q must not have a query or fragment", endpoint)
	}
	c := &Client{
		scheme:    u.Scheme,
		host:      u.Host,
		path:      DefaultPath,
		secretID:  secretID,
		secretKey: secretKey,
		method:    http.MethodPost,
		sigMethod: signature.MethodSHA1,
		timeout:   DefaultTimeout,
		now:       time.Now,
		reqClient: "opencmq-go/" + Version,
	}
	if p := u.EscapedPath(); p != "" && p != "/" {
		c.path = p
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.useFast {
		c.fast = c.newFastClient()
	}
	if c.hc == nil { // also with WithFastHTTP: the admin calls (cluster.go) use net/http
		tr := NewTransport()
		if c.tlsConfig != nil {
			tr.TLSClientConfig = c.tlsConfig
		}
		c.hc = &http.Client{Transport: tr}
	}
	return c, nil
}

// Endpoint returns the endpoint the client talks to, "scheme://host" plus the path.
func (c *Client) Endpoint() string { return c.scheme + "://" + c.host + c.path }

// Close releases idle connections of the client's HTTP transport.
func (c *Client) Close() {
	if c.fast != nil {
		c.fast.CloseIdleConnections()
	}
	c.hc.CloseIdleConnections()
}

// Error is an API error: a response whose code is not 0.
type Error struct {
	// Action is the request's action.
	Action string
	// Code is CMQ's error class (4440 queue not found, 7000 no message, …).
	Code int
	// Module is the module error code CMQ prints in front of the message, e.g. 10200 for
	// "(10200)no message"; 0 if the message has none.
	Module int
	// Message is the server's message as sent.
	Message   string
	RequestID string
	// ReceiptHandle is set on the per-handle errors of BatchDeleteMessage.
	ReceiptHandle string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("cmq")
	if e.Action != "" {
		b.WriteString(" ")
		b.WriteString(e.Action)
	}
	fmt.Fprintf(&b, ": code %d: %s", e.Code, e.Message)
	if e.ReceiptHandle != "" {
		fmt.Fprintf(&b, " (receiptHandle %s)", e.ReceiptHandle)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (requestId %s)", e.RequestID)
	}
	return b.String()
}

// Error codes (the JSON "code") a caller commonly tests for.
const (
	CodeInvalidParameter = 4000
	CodeAuthFailed       = 4100
	CodeMsgTooLarge      = 4400
	CodeQueueFull        = 4410
	CodeInvalidHandle    = 4430
	CodeQueueNotExist    = 4440
	CodeQueueExists      = 4460
	CodeInternal         = 6000
	CodeBatchDeletePart  = 6010
	CodeBatchDeleteAll   = 6020
	CodeNoMessage        = 7000
)

// CodeOf returns the CMQ code of err if it is (or wraps) an *Error, else 0.
func CodeOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// IsNoMessage reports whether err is CMQ's "no message" (code 7000): a receive found nothing
// within its wait.
func IsNoMessage(err error) bool { return CodeOf(err) == CodeNoMessage }

// IsQueueNotExist reports whether err is "queue does not exist" (code 4440).
func IsQueueNotExist(err error) bool { return CodeOf(err) == CodeQueueNotExist }

// HTTPError is a response that is not HTTP 200: CMQ answers every API error with 200, so
// this means something between the client and the API (a proxy, a wrong path) failed.
type HTTPError struct {
	StatusCode int
	Body       string // the first bytes of the body
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("cmq: HTTP status %d: %s", e.StatusCode, e.Body)
}

// parseModule extracts the module code from a message like "(10200)no message".
func parseModule(msg string) int {
	if len(msg) < 3 || msg[0] != '(' {
		return 0
	}
	end := strings.IndexByte(msg, ')')
	if end < 2 {
		return 0
	}
	n, err := strconv.Atoi(msg[1:end])
	if err != nil {
		return 0
	}
	return n
}

type responseHookKey struct{}

// WithResponseHook returns a context under which every HTTP-200 response body (the raw CMQ
// JSON, successful or not) of a call made with it is handed to fn before it is decoded. It is
// how a caller using the typed methods can still see the raw JSON (cmqctl's --json). body is not
// reused, so fn may keep it.
func WithResponseHook(ctx context.Context, fn func(action string, body []byte)) context.Context {
	return context.WithValue(ctx, responseHookKey{}, fn)
}

// envelope is the part of every response the client always reads.
type envelope struct {
	Code      json.Number `json:"code"`
	Message   string      `json:"message"`
	RequestID string      `json:"requestId"`
}

// Param is one action parameter; the order of a request's parameters does not matter.
type Param = signature.Param

// CallRaw sends one action with the given parameters and returns the raw JSON response body.
// If the response's code is not 0, it returns the body and an *Error. For the receive actions
// the timeout covers the pollingWaitSeconds parameter (30 s if absent) plus LongPollSlack.
func (c *Client) CallRaw(ctx context.Context, action string, params map[string]string) ([]byte, error) {
	ps := make([]Param, 0, len(params))
	for k, v := range params {
		ps = append(ps, Param{Name: k, Value: v})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	wait := -1
	if strings.HasSuffix(strings.ToLower(action), "receivemessage") {
		wait = MaxPollingWaitSeconds
		if w, err := strconv.Atoi(params["pollingWaitSeconds"]); err == nil && w >= 0 {
			wait = w
		}
	}
	body, _, err := c.do(ctx, action, ps, wait)
	return body, err
}

// Call sends one action with the given parameters and returns the decoded JSON response
// (numbers as json.Number). If the response's code is not 0, it returns the decoded response
// and an *Error.
func (c *Client) Call(ctx context.Context, action string, params map[string]string) (map[string]any, error) {
	body, err := c.CallRaw(ctx, action, params)
	if body == nil {
		return nil, err
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if derr := d.Decode(&m); derr != nil {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("cmq %s: bad response: %w", action, derr)
	}
	return m, err
}

// requestTimeout is the timeout of a request with the given long-poll wait (negative: none).
func (c *Client) requestTimeout(wait int) time.Duration {
	t := c.timeout
	if wait >= 0 {
		if w := time.Duration(wait)*time.Second + LongPollSlack; w > t {
			t = w
		}
	}
	return t
}

// buildParams returns the full, signed parameter list of a request.
func (c *Client) buildParams(action string, params []Param) []Param {
	all := make([]Param, 0, len(params)+7)
	all = append(all,
		Param{Name: "Action", Value: action},
		Param{Name: "Nonce", Value: strconv.FormatUint(rand.Uint64N(1<<63-1)+1, 10)},
		Param{Name: "RequestClient", Value: c.reqClient},
		Param{Name: "SecretId", Value: c.secretID},
		Param{Name: "SignatureMethod", Value: c.sigMethod.String()},
		Param{Name: "Timestamp", Value: strconv.FormatInt(c.now().Unix(), 10)},
	)
	all = append(all, params...)
	sig := signature.SignRequest(c.sigMethod, c.secretKey, c.method, c.host, c.path, all)
	return append(all, Param{Name: "Signature", Value: sig})
}

// encodeParams form-encodes params (space as '+', like the Python and Java SDKs).
func encodeParams(params []Param) string {
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.Name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.Value))
	}
	return b.String()
}

// do sends one request and returns the body and its envelope. A code != 0 is returned as an
// *Error together with the body.
func (c *Client) do(ctx context.Context, action string, params []Param, wait int) ([]byte, *envelope, error) {
	if c.secretID == "" {
		return nil, nil, fmt.Errorf("cmq %s: %w", action, errNoCredentials)
	}
	ctx, cancel := context.WithTimeout(ctx, c.requestTimeout(wait))
	defer cancel()
	form := encodeParams(c.buildParams(action, params))
	var status int
	var body []byte
	var err error
	if c.fast != nil {
		status, body, err = c.roundTripFast(ctx, form)
	} else {
		status, body, err = c.roundTrip(ctx, form)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cmq %s: %w", action, err)
	}
	if len(body) > maxResponseBytes {
		return nil, nil, fmt.Errorf("cmq %s: %w", action, errResponseTooLarge)
	}
	if status != http.StatusOK {
		snippet := string(body)
		if len(snippet) > 512 {
			snippet = snippet[:512] + "…"
		}
		return nil, nil, fmt.Errorf("cmq %s: %w", action, &HTTPError{StatusCode: status, Body: strings.TrimSpace(snippet)})
	}
	if hook, _ := ctx.Value(responseHookKey{}).(func(string, []byte)); hook != nil {
		hook(action, body)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, nil, fmt.Errorf("cmq %s: response is not a CMQ JSON object: %w", action, err)
	}
	code, err := strconv.Atoi(env.Code.String())
	if err != nil {
		return nil, nil, fmt.Errorf("cmq %s: response has no numeric code: %q", action, env.Code)
	}
	if code != 0 {
		return body, &env, &Error{Action: action, Code: code, Module: parseModule(env.Message), Message: env.Message, RequestID: env.RequestID}
	}
	return body, &env, nil
}

// roundTrip sends the form-encoded request with net/http and returns the status and body
// (at most maxResponseBytes+1 bytes of it).
func (c *Client) roundTrip(ctx context.Context, form string) (int, []byte, error) {
	base := c.scheme + "://" + c.host + c.path
	var req *http.Request
	var err error
	if c.method == http.MethodGet {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, base+"?"+form, nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, base, strings.NewReader(form))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return 0, nil, fmt.Errorf("reading response: %w", err)
	}
	return resp.StatusCode, body, nil
}

// call sends an action and decodes a successful response into out (if not nil).
func (c *Client) call(ctx context.Context, action string, params []Param, wait int, out any) error {
	body, _, err := c.do(ctx, action, params, wait)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("cmq %s: bad response: %w", action, err)
		}
	}
	return nil
}
