package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Int64 returns a pointer to v, for the optional fields of QueueAttributes.
func Int64(v int64) *int64 { return &v }

// DeadLetterPolicy is CMQ's deadLetterPolicy: where and when messages that are received too
// often (Policy 0) or live too long (Policy 1) are moved.
type DeadLetterPolicy struct {
	// Queue is the dead-letter queue's name (same account).
	Queue string `json:"deadLetterQueue"`
	// Policy 0: after MaxReceiveCount receives without a delete; 1: after MaxTimeToLive seconds.
	Policy          int   `json:"policy"`
	MaxReceiveCount int64 `json:"maxReceiveCount,omitempty"`
	MaxTimeToLive   int64 `json:"maxTimeToLive,omitempty"`
}

// QueueAttributes are the settable attributes of a queue for CreateQueue and
// SetQueueAttributes. Nil fields are not sent (the server's default, or unchanged).
type QueueAttributes struct {
	MaxMsgHeapNum       *int64
	PollingWaitSeconds  *int64
	VisibilityTimeout   *int64
	MaxMsgSize          *int64
	MsgRetentionSeconds *int64
	RewindSeconds       *int64
	DeadLetterPolicy    *DeadLetterPolicy
}

func (a *QueueAttributes) params(ps []Param) []Param {
	if a == nil {
		return ps
	}
	add := func(name string, v *int64) {
		if v != nil {
			ps = append(ps, Param{Name: name, Value: strconv.FormatInt(*v, 10)})
		}
	}
	add("maxMsgHeapNum", a.MaxMsgHeapNum)
	add("pollingWaitSeconds", a.PollingWaitSeconds)
	add("visibilityTimeout", a.VisibilityTimeout)
	add("maxMsgSize", a.MaxMsgSize)
	add("msgRetentionSeconds", a.MsgRetentionSeconds)
	add("rewindSeconds", a.RewindSeconds)
	if a.DeadLetterPolicy != nil {
		b, _ := json.Marshal(a.DeadLetterPolicy) // a struct of strings and ints: cannot fail
		ps = append(ps, Param{Name: "deadLetterPolicy", Value: string(b)})
	}
	return ps
}

// QueueRef names a queue in a listing.
type QueueRef struct {
	QueueID   string `json:"queueId"`
	QueueName string `json:"queueName"`
}

// QueueList is one page of a queue listing.
type QueueList struct {
	// TotalCount is the number of matching queues in all, not the length of Queues.
	TotalCount int        `json:"totalCount"`
	Queues     []QueueRef `json:"queueList"`
}

// ListOptions filter and page a listing. Zero values are not sent (server defaults: offset
// 0, limit 20).
type ListOptions struct {
	SearchWord string
	Offset     int
	Limit      int
}

func (o ListOptions) params(ps []Param) []Param {
	if o.SearchWord != "" {
		ps = append(ps, Param{Name: "searchWord", Value: o.SearchWord})
	}
	if o.Offset > 0 || o.Limit > 0 {
		limit := o.Limit
		if limit <= 0 {
			limit = 20 // CMQ: with offset, limit must be given too
		}
		ps = append(ps, Param{Name: "offset", Value: strconv.Itoa(o.Offset)},
			Param{Name: "limit", Value: strconv.Itoa(limit)})
	}
	return ps
}

// QueueInfo is what GetQueueAttributes returns: the attributes and counters of a queue.
type QueueInfo struct {
	QueueID             string `json:"queueId"`
	QueueName           string `json:"queueName"`
	MaxMsgHeapNum       int64  `json:"maxMsgHeapNum"`
	PollingWaitSeconds  int64  `json:"pollingWaitSeconds"`
	VisibilityTimeout   int64  `json:"visibilityTimeout"`
	MaxMsgSize          int64  `json:"maxMsgSize"`
	MsgRetentionSeconds int64  `json:"msgRetentionSeconds"`
	RewindSeconds       int64  `json:"rewindSeconds"`
	// DeadLetterPolicy is the policy's JSON text, "" if none.
	DeadLetterPolicy string `json:"deadLetterPolicy"`
	// CreateTime and LastModifyTime are unix seconds.
	CreateTime     int64 `json:"createTime"`
	LastModifyTime int64 `json:"lastModifyTime"`
	// ActiveMsgNum counts visible messages, InactiveMsgNum received ones still invisible,
	// DelayMsgNum delayed ones, RewindMsgNum deleted ones kept for RewindQueue.
	ActiveMsgNum   int64 `json:"activeMsgNum"`
	InactiveMsgNum int64 `json:"inactiveMsgNum"`
	DelayMsgNum    int64 `json:"delayMsgNum"`
	RewindMsgNum   int64 `json:"rewindMsgNum"`
	// MinMsgTime is the server's minMsgTime (unix seconds of the oldest unconsumed message on
	// opencmq; 0 if none).
	MinMsgTime int64 `json:"minMsgTime"`
}

// UnmarshalJSON accepts deadLetterPolicy as a JSON string (CMQ) or object, and rewindmsgNum
// (CMQ's documented spelling) as well as rewindMsgNum.
func (q *QueueInfo) UnmarshalJSON(b []byte) error {
	type plain QueueInfo
	var aux struct {
		plain
		DeadLetterPolicy json.RawMessage `json:"deadLetterPolicy"`
		RewindmsgNum     *int64          `json:"rewindmsgNum"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*q = QueueInfo(aux.plain)
	q.DeadLetterPolicy = rawToString(aux.DeadLetterPolicy)
	if aux.RewindmsgNum != nil && q.RewindMsgNum == 0 {
		q.RewindMsgNum = *aux.RewindmsgNum
	}
	return nil
}

func rawToString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// QueueSettings is what SetQueueAttributes returns: the queue's attributes after the change.
type QueueSettings struct {
	MaxMsgHeapNum       int64  `json:"maxMsgHeapNum"`
	PollingWaitSeconds  int64  `json:"pollingWaitSeconds"`
	VisibilityTimeout   int64  `json:"visibilityTimeout"`
	MaxMsgSize          int64  `json:"maxMsgSize"`
	MsgRetentionSeconds int64  `json:"msgRetentionSeconds"`
	RewindSeconds       int64  `json:"rewindSeconds"`
	DeadLetterPolicy    string `json:"deadLetterPolicy"`
}

// UnmarshalJSON accepts deadLetterPolicy as a JSON string or object.
func (s *QueueSettings) UnmarshalJSON(b []byte) error {
	type plain QueueSettings
	var aux struct {
		plain
		DeadLetterPolicy json.RawMessage `json:"deadLetterPolicy"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*s = QueueSettings(aux.plain)
	s.DeadLetterPolicy = rawToString(aux.DeadLetterPolicy)
	return nil
}

// Message is one received message.
type Message struct {
	MsgID string `json:"msgId"`
	Body  string `json:"msgBody"`
	// ReceiptHandle deletes this delivery (or changes its visibility) until NextVisibleTime.
	ReceiptHandle string `json:"receiptHandle"`
	// EnqueueTime, NextVisibleTime and FirstDequeueTime are unix seconds.
	EnqueueTime      int64 `json:"enqueueTime"`
	NextVisibleTime  int64 `json:"nextVisibleTime"`
	FirstDequeueTime int64 `json:"firstDequeueTime"`
	DequeueCount     int64 `json:"dequeueCount"`
}

// unixTime converts unix seconds to a time, 0 to the zero time.
func unixTime(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// Enqueued returns EnqueueTime as a time.
func (m *Message) Enqueued() time.Time { return unixTime(m.EnqueueTime) }

// NextVisible returns NextVisibleTime as a time.
func (m *Message) NextVisible() time.Time { return unixTime(m.NextVisibleTime) }

func q(name string) []Param { return []Param{{Name: "queueName", Value: name}} }

// CreateQueue creates a queue and returns its id. attrs may be nil (all defaults).
func (c *Client) CreateQueue(ctx context.Context, name string, attrs *QueueAttributes) (string, error) {
	var r struct {
		QueueID string `json:"queueId"`
	}
	err := c.call(ctx, "CreateQueue", attrs.params(q(name)), -1, &r)
	return r.QueueID, err
}

// ListQueue lists the account's queues.
func (c *Client) ListQueue(ctx context.Context, opts ListOptions) (*QueueList, error) {
	var r QueueList
	if err := c.call(ctx, "ListQueue", opts.params(nil), -1, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetQueueAttributes returns a queue's attributes and counters.
func (c *Client) GetQueueAttributes(ctx context.Context, name string) (*QueueInfo, error) {
	var r QueueInfo
	if err := c.call(ctx, "GetQueueAttributes", q(name), -1, &r); err != nil {
		return nil, err
	}
	if r.QueueName == "" {
		r.QueueName = name
	}
	return &r, nil
}

// SetQueueAttributes changes the non-nil attributes of a queue and returns its attributes
// as the server reports them after the change.
func (c *Client) SetQueueAttributes(ctx context.Context, name string, attrs QueueAttributes) (*QueueSettings, error) {
	var r QueueSettings
	if err := c.call(ctx, "SetQueueAttributes", attrs.params(q(name)), -1, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteQueue deletes a queue and its messages.
func (c *Client) DeleteQueue(ctx context.Context, name string) error {
	return c.call(ctx, "DeleteQueue", q(name), -1, nil)
}

// SendMessage sends one message, visible after delaySeconds, and returns its id.
func (c *Client) SendMessage(ctx context.Context, queue, body string, delaySeconds int64) (string, error) {
	ps := append(q(queue), Param{Name: "msgBody", Value: body},
		Param{Name: "delaySeconds", Value: strconv.FormatInt(delaySeconds, 10)})
	var r struct {
		MsgID string `json:"msgId"`
	}
	err := c.call(ctx, "SendMessage", ps, -1, &r)
	return r.MsgID, err
}

// BatchSendMessage sends up to 16 messages (all visible after delaySeconds) and returns
// their ids in order.
func (c *Client) BatchSendMessage(ctx context.Context, queue string, bodies []string, delaySeconds int64) ([]string, error) {
	ps := q(queue)
	for i, b := range bodies {
		ps = append(ps, Param{Name: "msgBody." + strconv.Itoa(i+1), Value: b})
	}
	ps = append(ps, Param{Name: "delaySeconds", Value: strconv.FormatInt(delaySeconds, 10)})
	var r struct {
		MsgList []struct {
			MsgID string `json:"msgId"`
		} `json:"msgList"`
	}
	if err := c.call(ctx, "BatchSendMessage", ps, -1, &r); err != nil {
		return nil, err
	}
	ids := make([]string, len(r.MsgList))
	for i, m := range r.MsgList {
		ids[i] = m.MsgID
	}
	return ids, nil
}

// QueueWait as a receive's wait leaves it to the queue's pollingWaitSeconds attribute (the
// pollingWaitSeconds parameter is not sent).
const QueueWait = -1

func receiveParams(queue string, waitSeconds int) ([]Param, int) {
	ps := q(queue)
	wait := MaxPollingWaitSeconds
	if waitSeconds >= 0 {
		ps = append(ps, Param{Name: "pollingWaitSeconds", Value: strconv.Itoa(waitSeconds)})
		wait = waitSeconds
	}
	return ps, wait
}

// ReceiveMessage receives one message, long polling up to waitSeconds (QueueWait: the
// queue's pollingWaitSeconds). If nothing arrives it returns an error for which IsNoMessage
// is true.
func (c *Client) ReceiveMessage(ctx context.Context, queue string, waitSeconds int) (*Message, error) {
	ps, wait := receiveParams(queue, waitSeconds)
	var m Message
	if err := c.call(ctx, "ReceiveMessage", ps, wait, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// BatchReceiveMessage receives up to n (1–16) messages, long polling up to waitSeconds
// (QueueWait: the queue's pollingWaitSeconds) when none is visible. If nothing arrives it
// returns an error for which IsNoMessage is true.
func (c *Client) BatchReceiveMessage(ctx context.Context, queue string, n, waitSeconds int) ([]Message, error) {
	ps, wait := receiveParams(queue, waitSeconds)
	ps = append(ps, Param{Name: "numOfMsg", Value: strconv.Itoa(n)})
	var r struct {
		MsgInfoList []Message `json:"msgInfoList"`
	}
	if err := c.call(ctx, "BatchReceiveMessage", ps, wait, &r); err != nil {
		return nil, err
	}
	return r.MsgInfoList, nil
}

// DeleteMessage deletes a received message by its receipt handle.
func (c *Client) DeleteMessage(ctx context.Context, queue, receiptHandle string) error {
	return c.call(ctx, "DeleteMessage", append(q(queue), Param{Name: "receiptHandle", Value: receiptHandle}), -1, nil)
}

// BatchDeleteMessage deletes up to 16 messages. When the server answered the batch (all
// deleted, code 6010 "partially failed" or 6020 "failed"), errs has one entry per handle:
// nil where that delete succeeded, else an *Error from the response's errorList. err is nil
// when every delete succeeded, the 6010/6020 *Error when some failed, and any other error
// (no queue, transport, …) with errs nil when the request failed as a whole.
func (c *Client) BatchDeleteMessage(ctx context.Context, queue string, receiptHandles []string) (errs []error, err error) {
	ps := q(queue)
	for i, h := range receiptHandles {
		ps = append(ps, Param{Name: "receiptHandle." + strconv.Itoa(i+1), Value: h})
	}
	body, _, err := c.do(ctx, "BatchDeleteMessage", ps, -1)
	code := CodeOf(err)
	if err != nil && code != CodeBatchDeletePart && code != CodeBatchDeleteAll {
		return nil, err
	}
	var r struct {
		RequestID string `json:"requestId"`
		ErrorList []struct {
			Code          json.Number `json:"code"`
			Message       string      `json:"message"`
			ReceiptHandle string      `json:"receiptHandle"`
		} `json:"errorList"`
	}
	if jerr := json.Unmarshal(body, &r); jerr != nil {
		return nil, fmt.Errorf("cmq BatchDeleteMessage: bad response: %w", jerr)
	}
	errs = make([]error, len(receiptHandles))
	used := make([]bool, len(receiptHandles))
	for _, e := range r.ErrorList {
		ec, _ := strconv.Atoi(e.Code.String())
		apiErr := &Error{Action: "BatchDeleteMessage", Code: ec, Module: parseModule(e.Message),
			Message: e.Message, RequestID: r.RequestID, ReceiptHandle: e.ReceiptHandle}
		for i, h := range receiptHandles {
			if !used[i] && h == e.ReceiptHandle {
				used[i], errs[i] = true, apiErr
				break
			}
		}
	}
	if code == CodeBatchDeleteAll {
		// Every delete failed; handles the errorList did not name get the batch error.
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return errs, err
}

// ChangeMessageVisibility makes a received message invisible for visibilitySeconds from now
// (0: visible at once) and returns the new nextVisibleTime (unix seconds, 0 if the server
// does not report it).
func (c *Client) ChangeMessageVisibility(ctx context.Context, queue, receiptHandle string, visibilitySeconds int64) (int64, error) {
	ps := append(q(queue), Param{Name: "receiptHandle", Value: receiptHandle},
		Param{Name: "visibilityTimeout", Value: strconv.FormatInt(visibilitySeconds, 10)})
	var r struct {
		NextVisibleTime int64 `json:"nextVisibleTime"`
	}
	err := c.call(ctx, "ChangeMessageVisibility", ps, -1, &r)
	return r.NextVisibleTime, err
}

// RewindQueue makes every stored message enqueued at or after startConsumeTime (unix
// seconds) receivable again. The queue must have rewindSeconds > 0.
func (c *Client) RewindQueue(ctx context.Context, queue string, startConsumeTime int64) error {
	ps := append(q(queue), Param{Name: "startConsumeTime", Value: strconv.FormatInt(startConsumeTime, 10)})
	return c.call(ctx, "RewindQueue", ps, -1, nil)
}

// ListDeadLetterSourceQueues lists the queues whose dead-letter queue is deadLetterQueue.
func (c *Client) ListDeadLetterSourceQueues(ctx context.Context, deadLetterQueue string, opts ListOptions) (*QueueList, error) {
	ps := opts.params([]Param{{Name: "deadLetterQueueName", Value: deadLetterQueue}})
	var r QueueList
	if err := c.call(ctx, "ListDeadLetterSourceQueues", ps, -1, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// UnbindDeadLetterQueue removes a queue's dead-letter policy.
func (c *Client) UnbindDeadLetterQueue(ctx context.Context, queue string) error {
	return c.call(ctx, "UnbindDeadLetterQueue", q(queue), -1, nil)
}
