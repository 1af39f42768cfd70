package httpapi

import (
	"bytes"
	"slices"
	"strconv"
	"sync"
	"unsafe"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/httpapi/signature"
	"github.com/valyala/fasthttp"
)

// param is one decoded request parameter. All three slices point into the request's
// fasthttp.Args and are valid only until the request is released.
type param struct {
	raw   []byte // the name as sent (decoded), which is what the client signed
	name  []byte // the name the signature covers, used for lookup: see parse
	value []byte
}

// request is the per-request scratch state, pooled: nothing in it may outlive the handler.
type request struct {
	args   fasthttp.Args
	params []param // sorted by name
	sig    []signature.Param
	post   bool
	path   string // raw request path, as the client signed it (aliases the RequestCtx)

	act    *action
	acct   *account
	ns     string
	replay engine.ReplayKey // of a state-changing request; zero when unchecked

	rid     []byte
	code    int
	errText string
	w       jsonWriter

	sts, sts2 []byte   // strings to sign
	mac       [64]byte // HMAC output
	b64       [64]byte // its Base64
	hosts     []string
	lower     [48]byte
	names     []byte // storage of names rewritten by parse
	srcLen    int    // size of the parsed body or query
}

var requestPool = sync.Pool{New: func() any {
	return &request{params: make([]param, 0, 16), sig: make([]signature.Param, 0, 16)}
}}

func acquireRequest() *request { return requestPool.Get().(*request) }

// releaseRequest returns r to the pool unless it grew large (a 1 MB request would otherwise
// pin its buffers forever).
func releaseRequest(r *request) {
	if r.srcLen > 64<<10 || cap(r.w.b) > 64<<10 || cap(r.sts) > 64<<10 || cap(r.params) > 64 || cap(r.names) > 4<<10 {
		return
	}
	r.args.Reset()
	r.params = r.params[:0]
	clear(r.sig[:cap(r.sig)])
	r.sig = r.sig[:0]
	r.post = false
	r.path = ""
	r.act = nil
	r.acct = nil
	r.replay = engine.ReplayKey{}
	r.ns = ""
	r.rid = r.rid[:0]
	r.code = 0
	r.errText = ""
	r.w.b = r.w.b[:0]
	r.w.comma = false
	r.sts = r.sts[:0]
	r.sts2 = r.sts2[:0]
	clear(r.hosts[:cap(r.hosts)])
	r.hosts = r.hosts[:0]
	r.names = r.names[:0]
	r.srcLen = 0
	requestPool.Put(r)
}

// b2s views b as a string without copying. The string must not outlive b's owner (the
// request); anything handed to the backend is copied with string(b) instead.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// parse decodes a form-encoded parameter string ('+' is a space, %XX an escape; a malformed
// escape is kept literally), checks the parameter count and refuses repeated names.
//
// A parameter is looked up by the name the signature covers: the name as sent without
// surrounding spaces (NGO sends "offset "), with '_' read as '.' (the signature's PHP
// legacy signs "msgBody_1" as "msgBody.1", so both must mean the same parameter, or one
// could be swapped for the other under the same signature), so sending both is a repeat.
func (r *request) parse(src []byte) error {
	r.srcLen = len(src)
	// Count first: parsing half a million empty parameters would bloat the pooled Args.
	if bytes.Count(src, []byte{'&'}) >= MaxParams {
		return errTooManyParams
	}
	r.args.ParseBytes(src)
	// Rewritten names go to r.names, sized first so that it never moves under them.
	need := 0
	for k := range r.args.All() {
		if bytes.IndexByte(k, '_') >= 0 {
			need += len(k)
		}
	}
	if cap(r.names) < need {
		r.names = make([]byte, 0, need)
	}
	for k, v := range r.args.All() {
		name := bytes.TrimSpace(k)
		if bytes.IndexByte(name, '_') >= 0 {
			start := len(r.names)
			for _, c := range name {
				if c == '_' {
					c = '.'
				}
				r.names = append(r.names, c)
			}
			name = r.names[start:len(r.names):len(r.names)]
		}
		r.params = append(r.params, param{raw: k, name: name, value: v})
	}
	slices.SortFunc(r.params, func(a, b param) int { return bytes.Compare(a.name, b.name) })
	for i := 1; i < len(r.params); i++ {
		if bytes.Equal(r.params[i].name, r.params[i-1].name) {
			return errRepeated(r.params[i].name)
		}
	}
	for _, p := range r.params {
		r.sig = append(r.sig, signature.Param{Name: b2s(p.raw), Value: b2s(p.value)})
	}
	return nil
}

// find returns the index of the parameter called name, or -1.
func (r *request) find(name string) int {
	i, ok := slices.BinarySearchFunc(r.params, name, func(p param, n string) int {
		return cmpString(b2s(p.name), n)
	})
	if !ok {
		return -1
	}
	return i
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// get returns the value of name and whether it was sent.
func (r *request) get(name string) ([]byte, bool) {
	if i := r.find(name); i >= 0 {
		return r.params[i].value, true
	}
	return nil, false
}

// str returns a copy of name's value ("" if absent): safe to hand to the backend.
func (r *request) str(name string) string {
	v, _ := r.get(name)
	return string(v)
}

// required returns a copy of name's value; absent or empty is 4000/10390.
func (r *request) required(name string) (string, error) {
	v, _ := r.get(name)
	if len(v) == 0 {
		return "", errMissing(name)
	}
	return string(v), nil
}

// queueName returns the queueName parameter.
func (r *request) queueName() (string, error) { return r.required("queueName") }

// optInt returns name's integer value, def if it is absent or empty. Not an integer is
// 4000/10360; an integer beyond int64 is 4000/10350.
func (r *request) optInt(name string, def int64) (v int64, present bool, err error) {
	b, _ := r.get(name)
	if len(b) == 0 {
		return def, false, nil
	}
	v, err = parseInt(name, b)
	return v, err == nil, err
}

// reqInt is optInt for a required parameter.
func (r *request) reqInt(name string) (int64, error) {
	v, present, err := r.optInt(name, 0)
	if err == nil && !present {
		err = errMissing(name)
	}
	return v, err
}

// parseInt parses a decimal integer with an optional sign, nothing else.
func parseInt(name string, b []byte) (int64, error) {
	digits := b
	if len(digits) > 0 && (digits[0] == '-' || digits[0] == '+') {
		digits = digits[1:]
	}
	if len(digits) == 0 {
		return 0, errType(name)
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, errType(name)
		}
	}
	v, err := strconv.ParseInt(b2s(b), 10, 64)
	if err != nil {
		return 0, errRangeMsg(name, "the value does not fit in 64 bits")
	}
	return v, nil
}

// maxBatch is CMQ's batch size: msgBody.n, receiptHandle.n and numOfMsg are 1–16.
const maxBatch = 16

// indexed returns the positions in r.params of prefix.<n>, in numeric order of n. The indexes must be
// contiguous, starting at 0 or 1 (4000/10380 otherwise); there must be 1–16 of them
// (4000/10370). A name prefix.<not a number> is 4000/10310.
func (r *request) indexed(prefix string, out []int) ([]int, error) {
	return r.indexedList(prefix, out, 1, maxBatch, nil)
}

// indexedList is indexed for lists of lo–hi (hi ≤ 16) entries: fewer than lo or more than hi
// is tooMany if it is not nil, else 4000/10370. With lo 0, an absent list is no error (and
// no positions).
func (r *request) indexedList(prefix string, out []int, lo, hi int, tooMany error) ([]int, error) {
	sizeErr := func() error {
		if tooMany != nil {
			return tooMany
		}
		return errBatchSize(prefix)
	}
	// prefix ends with '.'; names sharing it are adjacent in the sorted parameters.
	start, _ := slices.BinarySearchFunc(r.params, prefix, func(p param, n string) int {
		return cmpString(b2s(p.name), n)
	})
	var idx [maxBatch]uint32
	var pos [maxBatch]int
	n := 0
	for i := start; i < len(r.params) && bytes.HasPrefix(r.params[i].name, []byte(prefix)); i++ {
		suffix := r.params[i].name[len(prefix):]
		k, ok := parseIndex(suffix)
		if !ok {
			return nil, errKeyFormat(r.params[i].name)
		}
		if n == hi {
			return nil, sizeErr()
		}
		idx[n], pos[n] = k, i
		n++
	}
	if n < lo {
		return nil, errBatchSize(prefix)
	}
	if n == 0 {
		return out, nil
	}
	// Sort by index (insertion sort: at most 16).
	for i := 1; i < n; i++ {
		for j := i; j > 0 && idx[j] < idx[j-1]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
			pos[j], pos[j-1] = pos[j-1], pos[j]
		}
	}
	if idx[0] > 1 {
		return nil, errNotConsecutive(prefix)
	}
	for i := 1; i < n; i++ {
		if idx[i] == idx[i-1] {
			return nil, errRepeatedIndex(prefix, idx[i])
		}
		if idx[i] != idx[i-1]+1 {
			return nil, errNotConsecutive(prefix)
		}
	}
	out = append(out, pos[:n]...)
	return out, nil
}

// parseIndex parses the n of name.n: 1–9 decimal digits.
func parseIndex(b []byte) (uint32, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	var v uint32
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint32(c-'0')
	}
	return v, true
}

// actionName is the action for logs.
func (r *request) actionName() string {
	if r.act != nil {
		return r.act.name
	}
	if v, ok := r.get("Action"); ok {
		if len(v) > 64 {
			v = v[:64]
		}
		return string(v)
	}
	return ""
}

// ok starts a success response.
func (r *request) ok() { r.begin(0, nil) }

// begin starts the response envelope: code, message, requestId, clientRequestId.
func (r *request) begin(code int, e *engine.Error) {
	r.code = code
	w := &r.w
	w.b = append(w.b[:0], `{"code":`...)
	w.b = strconv.AppendInt(w.b, int64(code), 10)
	w.comma = true
	if e != nil {
		w.errMessage("message", e)
		r.errText = e.Message
	} else {
		w.str("message", "")
	}
	w.b = append(w.b, `,"requestId":"`...)
	w.b = append(w.b, r.rid...)
	w.b = append(w.b, '"')
	if v, ok := r.get("clientRequestId"); ok {
		w.b = append(w.b, `,"clientRequestId":`...)
		if isJSONInteger(v) {
			w.b = append(w.b, v...)
		} else {
			w.b = appendString(w.b, b2s(v))
		}
	}
	w.comma = true
}

// fail replaces whatever was written with an error response for err.
func (r *request) fail(err error) {
	e := asCMQError(err)
	r.begin(e.Code, e)
}

// finish closes the response object.
func (r *request) finish() { r.w.b = append(r.w.b, '}') }

// isJSONInteger reports whether b is a JSON integer of at most 18 digits (so that every
// client's number type holds it exactly... nearly: JavaScript loses precision above 2^53,
// but TGO reads it as an integer).
func isJSONInteger(b []byte) bool {
	d := b
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 18 || (d[0] == '0' && len(d) > 1) {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
