package httpapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"
	"time"

	"github.com/opencmq/opencmq/httpapi/signature"
	"github.com/valyala/fasthttp"
)

func newAccount(a Account, idx uint32) *account {
	acct := &account{Account: a, idx: idx}
	key := []byte(a.SecretKey)
	acct.macs[signature.MethodSHA1].New = func() any { return hmac.New(sha1.New, key) }
	acct.macs[signature.MethodSHA256].New = func() any { return hmac.New(sha256.New, key) }
	return acct
}

// authenticate finds the account of a request, verifies its signature and Timestamp and
// returns the Timestamp (unix seconds; 0 when the window check is off).
func (s *Server) authenticate(ctx *fasthttp.RequestCtx, r *request) (int64, error) {
	id, _ := r.get("SecretId")
	if len(id) == 0 {
		return 0, errNoSecretID
	}
	acct := s.accounts[string(id)]
	if acct == nil {
		return 0, errSecretID
	}
	sig, _ := r.get("Signature")
	if len(sig) == 0 {
		return 0, errNoSignature
	}
	m, _ := r.get("SignatureMethod")
	if !s.verify(ctx, r, acct, signature.ParseMethod(b2s(m)), sig) {
		return 0, errAuthFailed
	}
	if s.window < 0 {
		// Unchecked (and optional), so meaningless for the replay cache, which then
		// remembers a request for the default window from now.
		r.acct = acct
		return 0, nil
	}
	// The timestamp is checked after the signature so that a client with a skewed clock
	// learns about its clock, and nobody else learns anything.
	tsb, _ := r.get("Timestamp")
	if len(tsb) == 0 {
		return 0, errNoTimestamp
	}
	ts, err := strconv.ParseInt(b2s(tsb), 10, 64)
	if err != nil {
		return 0, errBadTimestamp
	}
	now := s.now()
	d := now.Sub(time.Unix(ts, 0))
	if ts > 1<<40 || ts < -(1<<40) || d > s.window || d < -s.window {
		return 0, errTimestamp(ts, now.Unix(), int64(s.window/time.Second))
	}
	r.acct = acct
	return ts, nil
}

// verify reports whether sig is the request's signature under acct's key for any of the
// host names the client may have signed with, with and (POST only) without the parameters
// whose value starts with '@' (the PY and PHP SDKs leave those out).
func (s *Server) verify(ctx *fasthttp.RequestCtx, r *request, acct *account, m signature.Method, sig []byte) bool {
	want := 28 // Base64 of a SHA-1 HMAC
	if m == signature.MethodSHA256 {
		want = 44
	}
	if len(sig) != want {
		return false
	}
	method := b2s(ctx.Method())
	host := b2s(ctx.Request.Header.Host())
	mac := acct.macs[m].Get().(hash.Hash)
	defer acct.macs[m].Put(mac)

	hostsDone := false
	for variant := 0; variant < 2; variant++ {
		if variant == 1 && (!r.post || !r.atVariantAllowed() || !r.dropAtParams()) {
			break
		}
		r.sts = signature.AppendStringToSign(r.sts[:0], method, host, r.path, r.sig)
		if r.matches(mac, r.sts, sig) {
			return true
		}
		// The part after METHOD+host+path is the same for every host.
		tail := r.sts[len(method)+len(host)+len(r.path):]
		if !hostsDone {
			r.hosts = s.otherHosts(ctx, host, r.hosts[:0])
			hostsDone = true
		}
		for _, h := range r.hosts {
			r.sts2 = append(append(append(append(r.sts2[:0], method...), h...), r.path...), tail...)
			if r.matches(mac, r.sts2, sig) {
				return true
			}
		}
	}
	return false
}

// matches computes the HMAC of sts and compares its Base64 with sig in constant time.
func (r *request) matches(mac hash.Hash, sts, sig []byte) bool {
	mac.Reset()
	mac.Write(sts)
	sum := mac.Sum(r.mac[:0])
	n := base64.StdEncoding.EncodedLen(len(sum))
	base64.StdEncoding.Encode(r.b64[:n], sum)
	return signature.Equal(b2s(r.b64[:n]), b2s(sig))
}

// atVariantAllowed reports whether the request may have been signed without its '@' values:
// only PY (RequestClient SDK_Python…) and PHP (no RequestClient) do that. Other SDKs sign
// their RequestClient, so nobody can append an '@' parameter to their requests.
func (r *request) atVariantAllowed() bool {
	rc, ok := r.get("RequestClient")
	return !ok || bytes.HasPrefix(rc, []byte("SDK_Python"))
}

// dropAtParams removes from r.sig the parameters whose value starts with '@' and reports
// whether there were any. It is only used once r.sig is no longer needed in full.
func (r *request) dropAtParams() bool {
	kept := r.sig[:0]
	dropped := false
	for _, p := range r.sig {
		if strings.HasPrefix(p.Value, "@") {
			dropped = true
			continue
		}
		kept = append(kept, p)
	}
	r.sig = kept
	return dropped
}

// otherHosts lists the host names besides the Host header as sent that a client may have
// signed: the header with the scheme's default port added or removed, the configured public
// hosts, and (if trusted) the X-Forwarded-Host names with the same port variants.
func (s *Server) otherHosts(ctx *fasthttp.RequestCtx, host string, dst []string) []string {
	add := func(h string) {
		if h == "" || h == host {
			return
		}
		for _, d := range dst {
			if d == h {
				return
			}
		}
		dst = append(dst, h)
	}
	port := ":80"
	if ctx.IsTLS() {
		port = ":443"
	}
	if host != "" {
		add(togglePort(host, port))
	}
	for _, h := range s.publicHosts {
		add(h)
	}
	if s.trustXFH {
		if xfh := ctx.Request.Header.Peek("X-Forwarded-Host"); len(xfh) > 0 {
			xport := ":80"
			if proto := ctx.Request.Header.Peek("X-Forwarded-Proto"); bytes.EqualFold(bytes.TrimSpace(proto), []byte("https")) {
				xport = ":443"
			}
			// The header may list several proxies' values; copy, as it aliases the ctx.
			for _, h := range strings.Split(string(xfh), ",") {
				if h = strings.TrimSpace(h); h != "" {
					add(h)
					add(togglePort(h, xport))
				}
			}
		}
	}
	return dst
}

// togglePort returns host without port if it ends with it, else host with port appended
// (or "" if host has another explicit port).
func togglePort(host, port string) string {
	if strings.HasSuffix(host, port) {
		return host[:len(host)-len(port)]
	}
	// An explicit port: after the last ':', unless that is inside an IPv6 literal.
	if i := strings.LastIndexByte(host, ':'); i >= 0 && i > strings.LastIndexByte(host, ']') {
		return ""
	}
	return host + port
}
