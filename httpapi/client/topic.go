package client

import (
	"context"
	"encoding/json"
	"strconv"
)

// Topic filter types (CreateTopic's filterType).
const (
	// FilterTags: subscriptions filter by filterTag, messages carry msgTag (default).
	FilterTags = 1
	// FilterRoutingKey: subscriptions filter by bindingKey (RabbitMQ topic-exchange
	// patterns), messages carry a routingKey.
	FilterRoutingKey = 2
)

// Subscription protocols, notify strategies and notify content formats.
const (
	ProtocolQueue = "queue"
	ProtocolHTTP  = "http"

	StrategyBackoff     = "BACKOFF_RETRY"
	StrategyExponential = "EXPONENTIAL_DECAY_RETRY"

	FormatJSON       = "JSON"
	FormatSimplified = "SIMPLIFIED"
)

// Error codes of the topic and subscription actions beyond those of queues (topics share
// CodeQueueNotExist 4440 and CodeQueueExists 4460).
const (
	CodeSubscriptionExists   = 4490
	CodeTooManySubscriptions = 4500
)

// TopicAttributes are CreateTopic's optional attributes; zero values are not sent (server
// defaults: maxMsgSize 65536, filterType 1).
type TopicAttributes struct {
	MaxMsgSize int64
	FilterType int // FilterTags or FilterRoutingKey; fixed at creation
}

// TopicRef names a topic in a listing.
type TopicRef struct {
	TopicID   string `json:"topicId"`
	TopicName string `json:"topicName"`
}

// TopicList is one page of a topic listing.
type TopicList struct {
	// TotalCount is the number of matching topics in all, not the length of Topics.
	TotalCount int        `json:"totalCount"`
	Topics     []TopicRef `json:"topicList"`
}

// TopicInfo is what GetTopicAttributes returns.
type TopicInfo struct {
	TopicID   string `json:"topicId"`
	TopicName string `json:"topicName"`
	// MsgCount counts the messages waiting to be pushed to the topic's HTTP subscriptions
	// (on opencmq).
	MsgCount            int64 `json:"msgCount"`
	MaxMsgSize          int64 `json:"maxMsgSize"`
	MsgRetentionSeconds int64 `json:"msgRetentionSeconds"`
	// CreateTime and LastModifyTime are unix seconds.
	CreateTime     int64 `json:"createTime"`
	LastModifyTime int64 `json:"lastModifyTime"`
	FilterType     int   `json:"filterType"`
}

// Subscription describes a new subscription (Subscribe). Empty strings and nil lists are not
// sent: the server's defaults are EXPONENTIAL_DECAY_RETRY, and JSON for http (SIMPLIFIED,
// the only format allowed, for queue).
type Subscription struct {
	Name string
	// Protocol is ProtocolQueue (Endpoint is a queue of the same account) or ProtocolHTTP
	// (Endpoint is an http:// or https:// URL the server pushes messages to).
	Protocol            string
	Endpoint            string
	NotifyStrategy      string
	NotifyContentFormat string
	// FilterTags (filter type 1 topics) and BindingKeys (filter type 2), at most 5 each.
	FilterTags  []string
	BindingKeys []string
}

// SubscriptionUpdate changes a subscription (SetSubscriptionAttributes): empty strings and
// nil lists leave a field as it is; a non-empty list replaces the subscription's. An empty
// list cannot be sent: ClearSubscriptionFilterTags empties the filter tags.
type SubscriptionUpdate struct {
	NotifyStrategy      string
	NotifyContentFormat string
	FilterTags          []string
	BindingKeys         []string
}

// SubscriptionRef names a subscription in a listing.
type SubscriptionRef struct {
	SubscriptionID   string `json:"subscriptionId"`
	SubscriptionName string `json:"subscriptionName"`
	Protocol         string `json:"protocol"`
	Endpoint         string `json:"endpoint"`
}

// SubscriptionList is one page of a topic's subscriptions.
type SubscriptionList struct {
	TotalCount    int               `json:"totalCount"`
	Subscriptions []SubscriptionRef `json:"subscriptionList"`
}

// SubscriptionInfo is what GetSubscriptionAttributes returns.
type SubscriptionInfo struct {
	SubscriptionID string `json:"subscriptionId"`
	// TopicOwner is the topic's owner (opencmq: the account's namespace).
	TopicOwner string `json:"topicOwner"`
	// MsgCount counts the messages waiting to be pushed (HTTP subscriptions).
	MsgCount            int64    `json:"msgCount"`
	Protocol            string   `json:"protocol"`
	Endpoint            string   `json:"endpoint"`
	NotifyStrategy      string   `json:"notifyStrategy"`
	NotifyContentFormat string   `json:"notifyContentFormat"`
	CreateTime          int64    `json:"createTime"`
	LastModifyTime      int64    `json:"lastModifyTime"`
	FilterTags          []string `json:"filterTag"`
	BindingKeys         []string `json:"bindingKey"`
	// opencmq's delivery counters: successful pushes, messages dropped after their last
	// retry, and copies a queue subscription could not enqueue.
	DeliveredCount     int64 `json:"deliveredCount"`
	FailedCount        int64 `json:"failedCount"`
	UndeliverableCount int64 `json:"undeliverableCount"`
}

// UnmarshalJSON also accepts CMQ's other spellings: "protocal" and "filterTags".
func (s *SubscriptionInfo) UnmarshalJSON(b []byte) error {
	type plain SubscriptionInfo
	var aux struct {
		plain
		Protocal   string   `json:"protocal"`
		FilterTags []string `json:"filterTags"`
		// Some servers send topicOwner as a number (the DOC sample's APPID).
		TopicOwner json.RawMessage `json:"topicOwner"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*s = SubscriptionInfo(aux.plain)
	if s.Protocol == "" {
		s.Protocol = aux.Protocal
	}
	if s.FilterTags == nil {
		s.FilterTags = aux.FilterTags
	}
	s.TopicOwner = rawToString(aux.TopicOwner)
	return nil
}

func tp(topic string) []Param { return []Param{{Name: "topicName", Value: topic}} }

func subp(topic, name string) []Param {
	return []Param{{Name: "topicName", Value: topic}, {Name: "subscriptionName", Value: name}}
}

// indexed appends prefix.1 … prefix.n (1-based, like the PY and JAVA SDKs).
func indexed(ps []Param, prefix string, vals []string) []Param {
	for i, v := range vals {
		ps = append(ps, Param{Name: prefix + "." + strconv.Itoa(i+1), Value: v})
	}
	return ps
}

// CreateTopic creates a topic and returns its id. attrs may be nil (all defaults).
func (c *Client) CreateTopic(ctx context.Context, name string, attrs *TopicAttributes) (string, error) {
	ps := tp(name)
	if attrs != nil {
		if attrs.MaxMsgSize != 0 {
			ps = append(ps, Param{Name: "maxMsgSize", Value: strconv.FormatInt(attrs.MaxMsgSize, 10)})
		}
		if attrs.FilterType != 0 {
			ps = append(ps, Param{Name: "filterType", Value: strconv.Itoa(attrs.FilterType)})
		}
	}
	var r struct {
		TopicID string `json:"topicId"`
	}
	err := c.call(ctx, "CreateTopic", ps, -1, &r)
	return r.TopicID, err
}

// SetTopicAttributes changes a topic's maxMsgSize (its only settable attribute).
func (c *Client) SetTopicAttributes(ctx context.Context, name string, maxMsgSize int64) error {
	ps := append(tp(name), Param{Name: "maxMsgSize", Value: strconv.FormatInt(maxMsgSize, 10)})
	return c.call(ctx, "SetTopicAttributes", ps, -1, nil)
}

// ListTopic lists the account's topics.
func (c *Client) ListTopic(ctx context.Context, opts ListOptions) (*TopicList, error) {
	var r TopicList
	if err := c.call(ctx, "ListTopic", opts.params(nil), -1, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetTopicAttributes returns a topic's attributes and counters.
func (c *Client) GetTopicAttributes(ctx context.Context, name string) (*TopicInfo, error) {
	var r TopicInfo
	if err := c.call(ctx, "GetTopicAttributes", tp(name), -1, &r); err != nil {
		return nil, err
	}
	if r.TopicName == "" {
		r.TopicName = name
	}
	return &r, nil
}

// DeleteTopic deletes a topic; the server refuses while it has subscriptions.
func (c *Client) DeleteTopic(ctx context.Context, name string) error {
	return c.call(ctx, "DeleteTopic", tp(name), -1, nil)
}

func publishParams(ps []Param, tags []string, routingKey string) []Param {
	ps = indexed(ps, "msgTag", tags)
	if routingKey != "" {
		ps = append(ps, Param{Name: "routingKey", Value: routingKey})
	}
	return ps
}

// PublishMessage publishes one message with optional tags (filter type 1 topics, at most 5)
// or routing key (filter type 2) and returns its id.
func (c *Client) PublishMessage(ctx context.Context, topic, body string, tags []string, routingKey string) (string, error) {
	ps := publishParams(append(tp(topic), Param{Name: "msgBody", Value: body}), tags, routingKey)
	var r struct {
		MsgID string `json:"msgId"`
	}
	err := c.call(ctx, "PublishMessage", ps, -1, &r)
	return r.MsgID, err
}

// BatchPublishMessage publishes up to 16 messages, all with the same tags or routing key,
// and returns their ids in order.
func (c *Client) BatchPublishMessage(ctx context.Context, topic string, bodies []string, tags []string, routingKey string) ([]string, error) {
	ps := publishParams(indexed(tp(topic), "msgBody", bodies), tags, routingKey)
	var r struct {
		MsgList []struct {
			MsgID string `json:"msgId"`
		} `json:"msgList"`
	}
	if err := c.call(ctx, "BatchPublishMessage", ps, -1, &r); err != nil {
		return nil, err
	}
	ids := make([]string, len(r.MsgList))
	for i, m := range r.MsgList {
		ids[i] = m.MsgID
	}
	return ids, nil
}

func optional(ps []Param, name, v string) []Param {
	if v != "" {
		ps = append(ps, Param{Name: name, Value: v})
	}
	return ps
}

// Subscribe adds a subscription to a topic and returns its id.
func (c *Client) Subscribe(ctx context.Context, topic string, s Subscription) (string, error) {
	ps := append(subp(topic, s.Name), Param{Name: "protocol", Value: s.Protocol}, Param{Name: "endpoint", Value: s.Endpoint})
	ps = optional(ps, "notifyStrategy", s.NotifyStrategy)
	ps = optional(ps, "notifyContentFormat", s.NotifyContentFormat)
	ps = indexed(ps, "filterTag", s.FilterTags)
	ps = indexed(ps, "bindingKey", s.BindingKeys)
	var r struct {
		SubscriptionID string `json:"subscriptionId"`
	}
	err := c.call(ctx, "Subscribe", ps, -1, &r)
	return r.SubscriptionID, err
}

// SetSubscriptionAttributes changes what u gives of a subscription.
func (c *Client) SetSubscriptionAttributes(ctx context.Context, topic, name string, u SubscriptionUpdate) error {
	ps := optional(subp(topic, name), "notifyStrategy", u.NotifyStrategy)
	ps = optional(ps, "notifyContentFormat", u.NotifyContentFormat)
	ps = indexed(ps, "filterTag", u.FilterTags)
	ps = indexed(ps, "bindingKey", u.BindingKeys)
	return c.call(ctx, "SetSubscriptionAttributes", ps, -1, nil)
}

// Unsubscribe removes a subscription; messages not yet pushed to it are dropped.
func (c *Client) Unsubscribe(ctx context.Context, topic, name string) error {
	return c.call(ctx, "Unsubscribe", subp(topic, name), -1, nil)
}

// ClearSubscriptionFilterTags empties a subscription's filter tags.
func (c *Client) ClearSubscriptionFilterTags(ctx context.Context, topic, name string) error {
	return c.call(ctx, "ClearSubscriptionFilterTags", subp(topic, name), -1, nil)
}

// ListSubscriptionByTopic lists a topic's subscriptions (the server's limit is 0–100).
func (c *Client) ListSubscriptionByTopic(ctx context.Context, topic string, opts ListOptions) (*SubscriptionList, error) {
	var r SubscriptionList
	if err := c.call(ctx, "ListSubscriptionByTopic", opts.params(tp(topic)), -1, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetSubscriptionAttributes returns a subscription's configuration and counters.
func (c *Client) GetSubscriptionAttributes(ctx context.Context, topic, name string) (*SubscriptionInfo, error) {
	var r SubscriptionInfo
	if err := c.call(ctx, "GetSubscriptionAttributes", subp(topic, name), -1, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// QueryTopicRoute returns the topic's TCP broker addresses (empty on opencmq, which speaks
// only the HTTP API).
func (c *Client) QueryTopicRoute(ctx context.Context, topic string) ([]string, error) {
	var r struct {
		Addr []string `json:"addr"`
	}
	if err := c.call(ctx, "QueryTopicRoute", tp(topic), -1, &r); err != nil {
		return nil, err
	}
	return r.Addr, nil
}
