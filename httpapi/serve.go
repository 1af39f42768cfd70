package httpapi

import (
	"bytes"
	"strconv"

	"github.com/valyala/fasthttp"
)

// serve answers one API request into r.w.
func (s *Server) serve(ctx *fasthttp.RequestCtx, r *request) {
	r.rid = strconv.AppendUint(append(r.rid[:0], s.ridPrefix...), s.ridCounter.Add(1), 10)

	var src []byte
	method := ctx.Method()
	r.path, src = splitURI(ctx.Request.Header.RequestURI())
	switch {
	case bytes.Equal(method, []byte(fasthttp.MethodPost)):
		// POST: the raw body is the form, whatever the Content-Type; the query is ignored.
		r.post = true
		src = ctx.PostBody()
	case bytes.Equal(method, []byte(fasthttp.MethodGet)):
		// GET: the query string.
	default:
		r.fail(errMethod(method))
		r.finish()
		return
	}
	if len(src) > s.maxBody {
		r.fail(errTooLarge(s.maxBody))
		r.finish()
		return
	}
	if err := r.parse(src); err != nil {
		r.fail(err)
		r.finish()
		return
	}
	err := s.dispatch(ctx, r)
	if err != nil {
		r.fail(err)
	}
	r.finish()
}

// dispatch authenticates the request and runs its action.
func (s *Server) dispatch(ctx *fasthttp.RequestCtx, r *request) error {
	ts, err := s.authenticate(ctx, r)
	if err != nil {
		return err
	}
	r.ns = r.acct.Namespace
	name, _ := r.get("Action")
	if len(name) == 0 {
		return errMissing("Action")
	}
	r.act = lookupAction(name, r.lower[:0])
	if r.act == nil {
		return errUnknownAction(name)
	}
	if s.replay != nil && r.act.writes {
		sig, _ := r.get("Signature")
		now := s.now()
		if err := s.replay.check(r.acct.idx, sig, ts, now); err != nil {
			return err
		}
		// The command carries the key, so that the replicated state machine refuses the
		// request on every other node and after restarts too.
		r.replay = replayKey(r.acct.SecretID, sig, s.replay.expiry(ts, now.Unix())+replayClockSkew)
	}
	return r.act.fn(s, r)
}

// splitURI returns the path and the query string of a raw request URI. An absolute URI
// (sent to proxies) loses its scheme and authority; an empty path is "/".
func splitURI(uri []byte) (string, []byte) {
	if i := bytes.Index(uri, []byte("://")); i >= 0 && bytes.IndexByte(uri[:i], '/') < 0 && bytes.IndexByte(uri[:i], '?') < 0 {
		rest := uri[i+3:]
		j := bytes.IndexAny(rest, "/?")
		if j < 0 {
			uri = nil
		} else {
			uri = rest[j:]
		}
	}
	path, query := uri, []byte(nil)
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		path, query = uri[:i], uri[i+1:]
	}
	if len(path) == 0 {
		return "/", query
	}
	return b2s(path), query
}
