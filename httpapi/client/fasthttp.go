package client

import (
	"context"
	"errors"
	"time"

	"github.com/valyala/fasthttp"
)

// WithFastHTTP sends requests with a fasthttp client (keep-alive, pooled connections)
// instead of net/http: several times less CPU and allocation per request, which matters to
// load generators and to programs that send at high rates from few cores. The request's
// context bounds it only through its deadline (fasthttp has no cancellation): a canceled
// context without a deadline does not interrupt a request in flight; the client's timeout
// still does. The CMQ actions use it; the cluster admin calls keep net/http.
func WithFastHTTP() Option {
	return func(c *Client) error { c.useFast = true; return nil }
}

// newFastClient returns the fasthttp client of a Client with WithFastHTTP.
func (c *Client) newFastClient() *fasthttp.Client {
	return &fasthttp.Client{
		Name:                          "opencmq-go/" + Version,
		NoDefaultUserAgentHeader:      true,
		MaxConnsPerHost:               1024,
		MaxIdleConnDuration:           50 * time.Second,
		MaxResponseBodySize:           maxResponseBytes,
		TLSConfig:                     c.tlsConfig,
		DisableHeaderNamesNormalizing: true,
	}
}

// roundTripFast is roundTrip on fasthttp.
func (c *Client) roundTripFast(ctx context.Context, form string) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	uri := req.URI()
	uri.SetScheme(c.scheme)
	uri.SetHost(c.host)
	uri.SetPath(c.path)
	if c.method == "GET" {
		req.Header.SetMethod("GET")
		uri.SetQueryString(form)
	} else {
		req.Header.SetMethod("POST")
		req.Header.SetContentType("application/x-www-form-urlencoded")
		req.SetBodyString(form)
	}
	req.Header.Set("Accept-Encoding", "identity")
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(c.timeout)
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	if err := c.fast.DoDeadline(req, resp, deadline); err != nil {
		if errors.Is(err, fasthttp.ErrTimeout) {
			return 0, nil, context.DeadlineExceeded
		}
		if errors.Is(err, fasthttp.ErrBodyTooLarge) {
			return 0, nil, errResponseTooLarge
		}
		return 0, nil, err
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}
