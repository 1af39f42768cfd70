package httpapi

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencmq/opencmq/engine"
)

// action is one API action.
type action struct {
	name string
	// writes: the action changes state, so a replayed request is refused. Reads and
	// receives are not checked: SDKs repeat identical polls legitimately (CPP reseeds its
	// Nonce every second, NODE's Nonce is 0–9999).
	writes bool
	// fn answers the action into r.w.
	fn func(s *Server, r *request) error
}

var actionTable = map[string]*action{}

func init() {
	for _, a := range []*action{
		{"CreateQueue", true, (*Server).createQueue},
		{"ListQueue", false, (*Server).listQueue},
		{"GetQueueAttributes", false, (*Server).getQueueAttributes},
		{"SetQueueAttributes", true, (*Server).setQueueAttributes},
		{"DeleteQueue", true, (*Server).deleteQueue},
		{"SendMessage", true, (*Server).sendMessage},
		{"BatchSendMessage", true, (*Server).batchSendMessage},
		{"ReceiveMessage", false, (*Server).receiveMessage},
		{"BatchReceiveMessage", false, (*Server).batchReceiveMessage},
		{"DeleteMessage", true, (*Server).deleteMessage},
		{"BatchDeleteMessage", true, (*Server).batchDeleteMessage},
		{"ChangeMessageVisibility", true, (*Server).changeMessageVisibility},
		{"RewindQueue", true, (*Server).rewindQueue},
		{"ListDeadLetterSourceQueues", false, (*Server).listDeadLetterSourceQueues},
		{"UnbindDeadLetterQueue", true, (*Server).unbindDeadLetterQueue},
		{"QueryQueueRoute", false, (*Server).queryQueueRoute},
		{"CreateTopic", true, (*Server).createTopic},
		{"SetTopicAttributes", true, (*Server).setTopicAttributes},
		{"ListTopic", false, (*Server).listTopic},
		{"GetTopicAttributes", false, (*Server).getTopicAttributes},
		{"DeleteTopic", true, (*Server).deleteTopic},
		{"PublishMessage", true, (*Server).publishMessage},
		{"BatchPublishMessage", true, (*Server).batchPublishMessage},
		{"Subscribe", true, (*Server).subscribe},
		{"ListSubscriptionByTopic", false, (*Server).listSubscriptionByTopic},
		{"GetSubscriptionAttributes", false, (*Server).getSubscriptionAttributes},
		{"SetSubscriptionAttributes", true, (*Server).setSubscriptionAttributes},
		{"Unsubscribe", true, (*Server).unsubscribe},
		{"ClearSubscriptionFilterTags", true, (*Server).clearSubscriptionFilterTags},
		{"QueryTopicRoute", false, (*Server).queryTopicRoute},
	} {
		actionTable[strings.ToLower(a.name)] = a
	}
}

// lookupAction finds an action by name, ignoring ASCII case (JAVA sends
// "ClearSUbscriptionFIlterTags"). buf is scratch space.
func lookupAction(name, buf []byte) *action {
	if len(name) > cap(buf) {
		return nil
	}
	buf = buf[:len(name)]
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return actionTable[string(buf)]
}

// opTimeout bounds every backend call but receives (which get their wait + 2 s): fasthttp
// never tells a handler that its client went away, so nothing may wait forever.
const opTimeout = 30 * time.Second

// opContext is the context of a backend call for r: bounded by opTimeout, and carrying
// r's replay key (engine.WithReplayKey) if it has one.
func (r *request) opContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	if r.replay.Hash != 0 {
		ctx = engine.WithReplayKey(ctx, r.replay)
	}
	return ctx, cancel
}

// maxPollingWait is CMQ's longest long poll (pollingWaitSeconds 0–30).
const maxPollingWait = 30

// The settable integer queue attributes, in the order of the reference (§6.1).
var attrNames = [...]string{"maxMsgHeapNum", "pollingWaitSeconds", "visibilityTimeout", "maxMsgSize", "msgRetentionSeconds", "rewindSeconds"}

func attrField(a *engine.QueueAttributes, i int) *int64 {
	switch i {
	case 0:
		return &a.MaxMsgHeapNum
	case 1:
		return &a.PollingWaitSeconds
	case 2:
		return &a.VisibilityTimeout
	case 3:
		return &a.MaxMsgSize
	case 4:
		return &a.MsgRetentionSeconds
	default:
		return &a.RewindSeconds
	}
}

// writeAttrs writes the settable attributes; deadLetterPolicy (JSON text) only when set.
func writeAttrs(w *jsonWriter, a *engine.QueueAttributes) {
	for i, name := range attrNames {
		w.int(name, *attrField(a, i))
	}
	if a.DeadLetter != nil {
		w.str("deadLetterPolicy", a.DeadLetter.String())
	}
}

func (s *Server) createQueue(r *request) error {
	name, err := r.queueName()
	if err != nil {
		return err
	}
	// Start from CMQ's defaults and apply what was sent (JAVA and NGO send only values > 0,
	// PY sends all).
	a := engine.DefaultQueueAttributes()
	for i, n := range attrNames {
		v, present, err := r.optInt(n, 0)
		if err != nil {
			return err
		}
		if present {
			*attrField(&a, i) = v
		}
	}
	if a.DeadLetter, err = engine.ParseDeadLetterPolicy(r.str("deadLetterPolicy")); err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	id, err := s.backend.CreateQueue(ctx, r.ns, name, a)
	if err != nil {
		return err
	}
	r.ok()
	r.w.str("queueId", id)
	return nil
}

func (s *Server) setQueueAttributes(r *request) error {
	name, err := r.queueName()
	if err != nil {
		return err
	}
	var u engine.QueueAttributeUpdate
	var vals [len(attrNames)]int64
	for i, n := range attrNames {
		v, present, err := r.optInt(n, 0)
		if err != nil {
			return err
		}
		if present {
			vals[i] = v
			switch i {
			case 0:
				u.MaxMsgHeapNum = &vals[i]
			case 1:
				u.PollingWaitSeconds = &vals[i]
			case 2:
				u.VisibilityTimeout = &vals[i]
			case 3:
				u.MaxMsgSize = &vals[i]
			case 4:
				u.MsgRetentionSeconds = &vals[i]
			case 5:
				u.RewindSeconds = &vals[i]
			}
		}
	}
	// An empty deadLetterPolicy leaves the policy as it is (PY re-sends every attribute);
	// UnbindDeadLetterQueue removes it.
	if u.DeadLetter, err = engine.ParseDeadLetterPolicy(r.str("deadLetterPolicy")); err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	a, err := s.backend.SetQueueAttributes(ctx, r.ns, name, u)
	if err != nil {
		return err
	}
	r.ok()
	writeAttrs(&r.w, &a)
	return nil
}

func (s *Server) deleteQueue(r *request) error {
	return s.nameAction(r, r.queueName, s.backend.DeleteQueue)
}

func (s *Server) getQueueAttributes(r *request) error {
	name, err := r.queueName()
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	info, err := s.backend.GetQueueAttributes(ctx, r.ns, name)
	if err != nil {
		return err
	}
	r.ok()
	w := &r.w
	w.str("queueId", info.ID)
	w.str("queueName", info.Name)
	for i, n := range attrNames[:5] {
		w.int(n, *attrField(&info.Attributes, i))
	}
	w.time("createTime", info.CreateTime)
	w.time("lastModifyTime", info.LastModifyTime)
	w.int("activeMsgNum", info.ActiveMsgNum)
	w.int("inactiveMsgNum", info.InactiveMsgNum)
	w.int("delayMsgNum", info.DelayMsgNum)
	w.int("rewindSeconds", info.Attributes.RewindSeconds)
	// DOC, PY and CPP read rewindmsgNum; JAVA and NGO rewindMsgNum (and fail without it).
	w.int("rewindmsgNum", info.RewindMsgNum)
	w.int("rewindMsgNum", info.RewindMsgNum)
	w.time("minMsgTime", info.MinMsgTime)
	if info.Attributes.DeadLetter != nil {
		w.str("deadLetterPolicy", info.Attributes.DeadLetter.String())
	}
	return nil
}

// listParams reads searchWord, offset (default 0) and limit (default 20); the backend
// checks their ranges.
func listParams(r *request) (search string, offset, limit int, err error) {
	search = r.str("searchWord")
	off, _, err := r.optInt("offset", 0)
	if err != nil {
		return "", 0, 0, err
	}
	lim, _, err := r.optInt("limit", 20)
	if err != nil {
		return "", 0, 0, err
	}
	if off < 0 || off > 1<<31 {
		return "", 0, 0, errRangeMsg("offset", "must be >= 0")
	}
	if lim < 0 || lim > 1<<31 {
		return "", 0, 0, errRangeMsg("limit", "must be >= 0")
	}
	return search, int(off), int(lim), nil
}

func writeQueueList(r *request, total int, refs []engine.QueueRef) {
	w := &r.w
	w.int("totalCount", int64(total))
	w.open("queueList", '[')
	for _, q := range refs {
		w.open("", '{')
		w.str("queueId", q.ID)
		w.str("queueName", q.Name)
		w.close('}')
	}
	w.close(']')
}

func (s *Server) listQueue(r *request) error {
	search, offset, limit, err := listParams(r)
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	total, refs, err := s.backend.ListQueues(ctx, r.ns, search, offset, limit)
	if err != nil {
		return err
	}
	r.ok()
	writeQueueList(r, total, refs)
	return nil
}

func (s *Server) listDeadLetterSourceQueues(r *request) error {
	dlq, err := r.required("deadLetterQueueName")
	if err != nil {
		return err
	}
	search, offset, limit, err := listParams(r)
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	total, refs, err := s.backend.ListDeadLetterSourceQueues(ctx, r.ns, dlq, search, offset, limit)
	if err != nil {
		return err
	}
	r.ok()
	writeQueueList(r, total, refs)
	return nil
}

// checkBody refuses empty bodies and bodies that are not UTF-8: responses are JSON, which
// cannot carry other bytes exactly, and CMQ bodies are text.
func checkBody(name string, b []byte) error {
	if len(b) == 0 {
		return engine.ErrEmptyBody
	}
	if !utf8.Valid(b) {
		off := 0
		for off < len(b) {
			r, size := utf8.DecodeRune(b[off:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			off += size
		}
		return errNotUTF8(name, off)
	}
	return nil
}

// copyBodies copies bodies into one new buffer: the backend may keep them after the
// handler returns, and the request's bytes are reused.
func copyBodies(bodies [][]byte) [][]byte {
	n := 0
	for _, b := range bodies {
		n += len(b)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(bodies))
	for i, b := range bodies {
		buf = append(buf, b...)
		out[i] = buf[len(buf)-len(b) : len(buf) : len(buf)]
	}
	return out
}

func (s *Server) sendMessage(r *request) error {
	name, err := r.queueName()
	if err != nil {
		return err
	}
	body, ok := r.get("msgBody")
	if !ok {
		return errMissing("msgBody")
	}
	if err := checkBody("msgBody", body); err != nil {
		return err
	}
	delay, _, err := r.optInt("delaySeconds", 0)
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	ids, err := s.backend.BatchSendMessage(ctx, r.ns, name, [][]byte{append([]byte(nil), body...)}, delay)
	return r.answerMsgID(ids, err)
}

func (s *Server) batchSendMessage(r *request) error {
	name, err := r.queueName()
	if err != nil {
		return err
	}
	var scratch [maxBatch][]byte
	bodies, err := r.msgBodies(scratch[:0])
	if err != nil {
		return err
	}
	delay, _, err := r.optInt("delaySeconds", 0)
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	ids, err := s.backend.BatchSendMessage(ctx, r.ns, name, copyBodies(bodies), delay)
	if err != nil {
		return err
	}
	return r.writeMsgList(ids, len(bodies))
}

// msgBodies collects the indexed msgBody.n parameters (batch send and batch publish) into
// dst, checking each body. The bodies alias the request: copy them before keeping them.
func (r *request) msgBodies(dst [][]byte) ([][]byte, error) {
	var pos [maxBatch]int
	idx, err := r.indexed("msgBody.", pos[:0])
	if err != nil {
		return nil, err
	}
	for _, i := range idx {
		p := &r.params[i]
		if err := checkBody(b2s(p.name), p.value); err != nil {
			return nil, err
		}
		dst = append(dst, p.value)
	}
	return dst, nil
}

// writeMsgList answers a batch send or publish of n messages with their ids.
func (r *request) writeMsgList(ids []string, n int) error {
	if len(ids) != n {
		return engine.ErrInternal
	}
	r.ok()
	w := &r.w
	w.open("msgList", '[')
	for _, id := range ids {
		w.open("", '{')
		w.str("msgId", id)
		w.close('}')
	}
	w.close(']')
	return nil
}

func (s *Server) receiveMessage(r *request) error      { return s.receive(r, false) }
func (s *Server) batchReceiveMessage(r *request) error { return s.receive(r, true) }

func (s *Server) receive(r *request, batch bool) error {
	name, err := r.queueName()
	if err != nil {
		return err
	}
	n := 1
	if batch {
		v, err := r.reqInt("numOfMsg")
		if err != nil {
			return err
		}
		if v < 1 || v > maxBatch {
			return errRange("numOfMsg", 1, maxBatch)
		}
		n = int(v)
	}
	// Absent: the queue's pollingWaitSeconds. JAVA's deprecated overloads send 30000 for
	// "forever": out of range, refused. UserpollingWaitSeconds (a client-side timeout that
	// PY, CPP and NGO put on the wire) is ignored.
	wait, present, err := r.optInt("pollingWaitSeconds", engine.PollQueueDefault)
	if err != nil {
		return err
	}
	bound := int64(maxPollingWait)
	if present {
		if wait < 0 || wait > maxPollingWait {
			return errRange("pollingWaitSeconds", 0, maxPollingWait)
		}
		bound = wait
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(bound+2)*time.Second)
	defer cancel()
	msgs, err := s.backend.ReceiveMessage(ctx, r.ns, name, n, wait)
	if err != nil {
		return err
	}
	if len(msgs) == 0 {
		return engine.ErrNoMessage
	}
	r.ok()
	w := &r.w
	if !batch {
		writeMessage(w, &msgs[0])
		return nil
	}
	w.open("msgInfoList", '[')
	for i := range msgs {
		w.open("", '{')
		writeMessage(w, &msgs[i])
		w.close('}')
	}
	w.close(']')
	return nil
}

func writeMessage(w *jsonWriter, m *engine.Message) {
	w.key("msgBody")
	w.b = appendString(w.b, b2s(m.Body))
	w.comma = true
	w.str("msgId", m.ID)
	w.str("receiptHandle", m.ReceiptHandle)
	w.time("enqueueTime", m.EnqueueTime)
	w.time("nextVisibleTime", m.NextVisibleTime)
	w.time("firstDequeueTime", m.FirstDequeueTime)
	w.int("dequeueCount", int64(m.DequeueCount))
}

func (s *Server) deleteMessage(r *request) error {
	name, err := r.queueName()
	if err != nil {
		return err
	}
	h, err := r.required("receiptHandle")
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	errs, err := s.backend.BatchDeleteMessage(ctx, r.ns, name, []string{h})
	if err != nil {
		return err
	}
	if len(errs) != 1 {
		return engine.ErrInternal
	}
	if errs[0] != nil {
		return errs[0]
	}
	r.ok()
	return nil
}

var (
	errDeletePartial = &engine.Error{Code: 6010, Module: 10150, Message: "delete message partially failed"}
	errDeleteAll     = &engine.Error{Code: 6020, Module: 10290, Message: "batch delete message failed"}
)

func (s *Server) batchDeleteMessage(r *request) error {
	name, err := r.queueName()
	if err != nil {
		return err
	}
	var pos [maxBatch]int
	idx, err := r.indexed("receiptHandle.", pos[:0])
	if err != nil {
		return err
	}
	handles := make([]string, len(idx))
	for i, p := range idx {
		handles[i] = string(r.params[p].value)
	}
	ctx, cancel := r.opContext()
	defer cancel()
	errs, err := s.backend.BatchDeleteMessage(ctx, r.ns, name, handles)
	if err != nil {
		return err
	}
	if len(errs) != len(handles) {
		return engine.ErrInternal
	}
	failed := 0
	for _, e := range errs {
		if e != nil {
			failed++
		}
	}
	if failed == 0 {
		r.ok()
		return nil
	}
	if failed == len(errs) {
		r.begin(errDeleteAll.Code, errDeleteAll)
	} else {
		r.begin(errDeletePartial.Code, errDeletePartial)
	}
	w := &r.w
	w.open("errorList", '[')
	for i, e := range errs {
		if e == nil {
			continue
		}
		ce := asCMQError(e)
		w.open("", '{')
		w.int("code", int64(ce.Code))
		w.errMessage("message", ce)
		w.str("receiptHandle", handles[i])
		w.close('}')
	}
	w.close(']')
	return nil
}

func (s *Server) changeMessageVisibility(r *request) error {
	name, err := r.queueName()
	if err != nil {
		return err
	}
	h, err := r.required("receiptHandle")
	if err != nil {
		return err
	}
	secs, err := r.reqInt("visibilityTimeout")
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	next, err := s.backend.ChangeMessageVisibility(ctx, r.ns, name, h, secs)
	if err != nil {
		return err
	}
	r.ok()
	r.w.time("nextVisibleTime", next)
	return nil
}

func (s *Server) rewindQueue(r *request) error {
	name, err := r.queueName()
	if err != nil {
		return err
	}
	t, err := r.reqInt("startConsumeTime")
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	if err := s.backend.RewindQueue(ctx, r.ns, name, t); err != nil {
		return err
	}
	r.ok()
	return nil
}

func (s *Server) unbindDeadLetterQueue(r *request) error {
	return s.nameAction(r, r.queueName, s.backend.UnbindDeadLetterQueue)
}

// queryQueueRoute feeds CMQ's proprietary TCP protocol, which opencmq does not speak: it
// answers an empty address list for an existing queue.
func (s *Server) queryQueueRoute(r *request) error {
	name, err := r.queueName()
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	if _, err := s.backend.GetQueueAttributes(ctx, r.ns, name); err != nil {
		return err
	}
	r.ok()
	r.w.open("addr", '[')
	r.w.close(']')
	return nil
}

// nameAction answers an action that names one queue or topic and answers nothing but
// success: read and check the name, call op under the request's deadline, answer ok.
func (s *Server) nameAction(r *request, name func() (string, error), op func(ctx context.Context, namespace, name string) error) error {
	n, err := name()
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	if err := op(ctx, r.ns, n); err != nil {
		return err
	}
	r.ok()
	return nil
}

// answerMsgID answers a single send or publish: the one message id of ids, or err.
func (r *request) answerMsgID(ids []string, err error) error {
	if err != nil {
		return err
	}
	if len(ids) != 1 {
		return engine.ErrInternal
	}
	r.ok()
	r.w.str("msgId", ids[0])
	return nil
}
