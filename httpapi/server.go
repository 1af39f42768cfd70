package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opencmq/opencmq/engine"
	"github.com/valyala/fasthttp"
)

// Backend is what the API needs from the queue service; *engine.Engine implements it (and a
// replicated node will). Errors should be *engine.Error values carrying CMQ's code and module
// code; any other error is answered as 6000/10050.
type Backend interface {
	CreateQueue(ctx context.Context, ns, name string, a engine.QueueAttributes) (string, error)
	SetQueueAttributes(ctx context.Context, ns, name string, u engine.QueueAttributeUpdate) (engine.QueueAttributes, error)
	DeleteQueue(ctx context.Context, ns, name string) error
	GetQueueAttributes(ctx context.Context, ns, name string) (engine.QueueInfo, error)
	ListQueues(ctx context.Context, ns, search string, offset, limit int) (int, []engine.QueueRef, error)
	ListDeadLetterSourceQueues(ctx context.Context, ns, dlq, search string, offset, limit int) (int, []engine.QueueRef, error)
	BatchSendMessage(ctx context.Context, ns, name string, bodies [][]byte, delaySeconds int64) ([]string, error)
	ReceiveMessage(ctx context.Context, ns, name string, n int, waitSeconds int64) ([]engine.Message, error)
	BatchDeleteMessage(ctx context.Context, ns, name string, handles []string) ([]error, error)
	ChangeMessageVisibility(ctx context.Context, ns, name, handle string, seconds int64) (time.Time, error)
	RewindQueue(ctx context.Context, ns, name string, startConsumeTime int64) error
	UnbindDeadLetterQueue(ctx context.Context, ns, name string) error

	// Topics and subscriptions (engine/topic_api.go).
	CreateTopic(ctx context.Context, ns, name string, a engine.TopicAttributes) (string, error)
	SetTopicAttributes(ctx context.Context, ns, name string, maxMsgSize int64) error
	DeleteTopic(ctx context.Context, ns, name string) error
	ListTopics(ctx context.Context, ns, search string, offset, limit int) (int, []engine.TopicRef, error)
	GetTopicAttributes(ctx context.Context, ns, name string) (engine.TopicInfo, error)
	PublishMessage(ctx context.Context, ns, topic string, bodies [][]byte, tags []string, routingKey string) ([]string, error)
	Subscribe(ctx context.Context, ns, topic string, cfg engine.SubscriptionConfig) (string, error)
	SetSubscriptionAttributes(ctx context.Context, ns, topic, name string, u engine.SubscriptionUpdate) error
	Unsubscribe(ctx context.Context, ns, topic, name string) error
	ClearSubscriptionFilterTags(ctx context.Context, ns, topic, name string) error
	ListSubscriptions(ctx context.Context, ns, topic, search string, offset, limit int) (int, []engine.SubscriptionRef, error)
	GetSubscriptionAttributes(ctx context.Context, ns, topic, name string) (engine.SubscriptionInfo, error)
}

// Defaults of Config fields.
const (
	// DefaultTimestampWindow is how far a request's Timestamp may be from the server's clock.
	DefaultTimestampWindow = 5 * time.Minute
	// DefaultMaxRequestBytes is the largest accepted request body (CMQ: "request size is
	// more than 1MB" is error 4000/10420).
	DefaultMaxRequestBytes = 1 << 20
	// DefaultReplayCacheEntries bounds the replay cache.
	DefaultReplayCacheEntries = 1 << 20
	// MaxParams is the most parameters one request may carry (4000/10000 beyond).
	MaxParams = 512
)

// Config configures a Server. Backend is required; everything else has a default.
type Config struct {
	Backend  Backend
	Accounts []Account
	// Logger receives one Debug record per request (requestId, action, code) and an Error
	// record for every internal error (codes 6000–6999). Default slog.Default().
	Logger *slog.Logger
	// Now is the clock for the Timestamp check and the replay cache; default time.Now.
	Now func() time.Time
	// TimestampWindow is how far |Timestamp − now| may be; default 5 minutes; a negative
	// value disables the check (Timestamp then becomes optional).
	TimestampWindow time.Duration
	// DisableReplayCheck turns off the refusal of byte-identical replays of state-changing
	// requests (see the package documentation).
	DisableReplayCheck bool
	// PublicHosts are extra host[:port] names clients may have signed with (the server's
	// DNS names, the address behind a proxy or load balancer).
	PublicHosts []string
	// TrustForwardedHost also accepts the X-Forwarded-Host header's names (with the
	// X-Forwarded-Proto scheme's default port added or removed). Only set it behind a proxy
	// that overwrites the header.
	TrustForwardedHost bool
	// Ready answers /readyz; nil means always ready.
	Ready func() bool

	// MaxRequestBytes bounds the request body (POST) or query string (GET); larger requests
	// are answered 4000/10420. Default DefaultMaxRequestBytes (1 MiB).
	MaxRequestBytes int
	// ReplayCacheEntries bounds the replay cache; default DefaultReplayCacheEntries. See the
	// package documentation for what happens when it is full.
	ReplayCacheEntries int
}

// Server serves CMQ's HTTP action API in front of a Backend. Its methods are safe for
// concurrent use.
type Server struct {
	backend     Backend
	accounts    map[string]*account // by SecretId
	logger      *slog.Logger
	now         func() time.Time
	window      time.Duration // < 0: no Timestamp check
	replay      *replayCache  // nil: no replay check
	publicHosts []string
	trustXFH    bool
	ready       func() bool
	maxBody     int

	ridPrefix  string // random per process, so request ids stay unique across restarts
	ridCounter atomic.Uint64
}

// account is an Account with its pooled HMAC states.
type account struct {
	Account
	idx  uint32
	macs [2]sync.Pool // by signature.Method
}

// New validates cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if cfg.Backend == nil {
		return nil, errors.New("httpapi: Config.Backend is nil")
	}
	if err := validateAccounts(cfg.Accounts); err != nil {
		return nil, fmt.Errorf("httpapi: %w", err)
	}
	s := &Server{
		backend:  cfg.Backend,
		accounts: make(map[string]*account, len(cfg.Accounts)),
		logger:   cfg.Logger,
		now:      cfg.Now,
		window:   cfg.TimestampWindow,
		trustXFH: cfg.TrustForwardedHost,
		ready:    cfg.Ready,
		maxBody:  cfg.MaxRequestBytes,
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.window == 0 {
		s.window = DefaultTimestampWindow
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxRequestBytes
	}
	for i, a := range cfg.Accounts {
		s.accounts[a.SecretID] = newAccount(a, uint32(i))
	}
	for _, h := range cfg.PublicHosts {
		if h = strings.TrimSpace(h); h != "" {
			s.publicHosts = append(s.publicHosts, h)
		}
	}
	if !cfg.DisableReplayCheck {
		retention := s.window
		if retention < 0 {
			retention = DefaultTimestampWindow
		}
		entries := cfg.ReplayCacheEntries
		if entries <= 0 {
			entries = DefaultReplayCacheEntries
		}
		s.replay = newReplayCache(retention, entries)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	s.ridPrefix = hex.EncodeToString(b[:]) + "-"
	return s, nil
}

// Handler is the whole HTTP surface: GET /healthz and GET /readyz, and the CMQ action API on
// every other path and method.
func (s *Server) Handler(ctx *fasthttp.RequestCtx) {
	if ctx.IsGet() {
		switch string(ctx.Path()) {
		case "/healthz":
			ctx.SetContentType("text/plain; charset=utf-8")
			ctx.SetStatusCode(fasthttp.StatusOK)
			ctx.SetBodyString("ok\n")
			return
		case "/readyz":
			ctx.SetContentType("text/plain; charset=utf-8")
			if s.ready == nil || s.ready() {
				ctx.SetStatusCode(fasthttp.StatusOK)
				ctx.SetBodyString("ready\n")
			} else {
				ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
				ctx.SetBodyString("not ready\n")
			}
			return
		}
	}
	r := acquireRequest()
	defer s.recoverPanic(ctx)
	s.serve(ctx, r)
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	ctx.SetBody(r.w.b)
	s.log(r)
	releaseRequest(r)
}

// recoverPanic turns a panic in an action (a backend bug) into a 6000 answer and an Error
// log record instead of a crashed server. The request's pooled state is abandoned.
func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	p := recover()
	if p == nil {
		return
	}
	rid := s.ridPrefix + "panic-" + strconv.FormatUint(s.ridCounter.Add(1), 10)
	s.logger.Error("panic while serving a request", "requestId", rid, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	ctx.ResetBody()
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	w := jsonWriter{}
	w.b = append(w.b, `{"code":6000`...)
	w.comma = true
	w.errMessage("message", engine.ErrInternal)
	w.str("requestId", rid)
	w.b = append(w.b, '}')
	ctx.SetBody(w.b)
}

// NewHTTPServer returns a fasthttp server configured for the API: Handler, Name "opencmq",
// a body limit a little above MaxRequestBytes (so that the handler, not fasthttp, refuses a
// request just over it, with a JSON 4000/10420 under HTTP 200), read/write/idle timeouts
// that suit long polling and SDK connection pools, and no request-body streaming.
func (s *Server) NewHTTPServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            s.Handler,
		Name:               "opencmq",
		MaxRequestBodySize: s.maxBody + 64<<10,
		ReadBufferSize:     16 << 10, // GET URLs (SDKs allow up to 2048 chars) and headers
		ReadTimeout:        60 * time.Second,
		// The response of a long poll is written after up to 30 s + 2 s; the write timeout
		// only starts when the handler returns.
		WriteTimeout: 30 * time.Second,
		// Longer than OkHttp's 5-minute pool keep-alive, so the client closes idle
		// connections first and never sends on one the server is closing.
		IdleTimeout:                  330 * time.Second,
		StreamRequestBody:            false,
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		Logger:                       fasthttpLogger{s.logger},
		ErrorHandler:                 s.unparsable,
	}
}

// unparsable answers a request fasthttp could not read (a body beyond MaxRequestBodySize,
// headers beyond the read buffer, a timeout, malformed framing) with a CMQ error in JSON,
// under the HTTP status that says why: 413, 431, 408 or 400. fasthttp closes the
// connection afterwards.
func (s *Server) unparsable(ctx *fasthttp.RequestCtx, err error) {
	status, e := fasthttp.StatusBadRequest, errUnparsable
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		status, e = fasthttp.StatusRequestEntityTooLarge, errTooLarge(s.maxBody).(*engine.Error)
	case errors.As(err, &small):
		status, e = fasthttp.StatusRequestHeaderFieldsTooLarge, errHeadersTooLarge
	case errors.As(err, &netErr) && netErr.Timeout():
		status, e = fasthttp.StatusRequestTimeout, errRequestTimeout
	}
	w := jsonWriter{}
	w.b = strconv.AppendInt(append(w.b, `{"code":`...), int64(e.Code), 10)
	w.comma = true
	w.errMessage("message", e)
	w.str("requestId", s.ridPrefix+"unparsable-"+strconv.FormatUint(s.ridCounter.Add(1), 10))
	w.b = append(w.b, '}')
	ctx.Response.Reset()
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(w.b)
	s.logger.Debug("unparsable request", "status", status, "err", err.Error())
}

// fasthttpLogger sends fasthttp's own messages (connection errors) to slog at Warn.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Warn(fmt.Sprintf(format, args...), "component", "fasthttp")
}

// log records one request.
func (s *Server) log(r *request) {
	if r.code >= 6000 && r.code < 7000 {
		s.logger.LogAttrs(context.Background(), slog.LevelError, "request failed",
			slog.String("requestId", string(r.rid)), slog.String("action", r.actionName()),
			slog.Int("code", r.code), slog.String("message", r.errText))
		return
	}
	if s.logger.Enabled(context.Background(), slog.LevelDebug) {
		s.logger.LogAttrs(context.Background(), slog.LevelDebug, "request",
			slog.String("requestId", string(r.rid)), slog.String("action", r.actionName()),
			slog.Int("code", r.code))
	}
}
