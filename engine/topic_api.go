package engine

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"strings"
	"time"
)

// TopicInfo is a topic's attributes and counters, as GetTopicAttributes returns them.
type TopicInfo struct {
	ID         string
	Name       string
	Attributes TopicAttributes
	// MsgCount is the number of messages held for delivery to the topic's HTTP
	// subscriptions (queue subscriptions receive theirs as part of the publish).
	MsgCount            int64
	MsgRetentionSeconds int64
	CreateTime          time.Time
	LastModifyTime      time.Time
}

// SubscriptionInfo is a subscription's configuration and counters.
type SubscriptionInfo struct {
	ID     string
	Topic  string
	Owner  string // the namespace that owns the topic
	Config SubscriptionConfig
	// MsgCount is the number of messages waiting to be pushed (HTTP subscriptions).
	MsgCount int64
	// Delivered counts successful pushes; Failed messages dropped after exhausting their
	// retries; Undeliverable copies a queue subscription could not enqueue (the queue was
	// missing, full, or its maxMsgSize too small).
	Delivered, Failed, Undeliverable int64
	CreateTime, LastModifyTime       time.Time
}

// TopicRef names a topic in a listing; SubscriptionRef a subscription.
type TopicRef struct{ ID, Name string }

// SubscriptionRef names a subscription in a listing.
type SubscriptionRef struct{ ID, Name, Protocol, Endpoint string }

func prefixedID(prefix string, id uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	return prefix + hex.EncodeToString(b[:])
}

// CreateTopic creates a topic (start from DefaultTopicAttributes) and returns its id.
func (e *Engine) CreateTopic(ctx context.Context, namespace, name string, attrs TopicAttributes) (string, error) {
	r := e.propose(ctx, &Command{Type: CmdCreateTopic, Namespace: namespace, Topic: name, TopicAttrs: attrs}, false)
	if r.err != nil {
		return "", r.err
	}
	return prefixedID("topic-", r.queueID), nil
}

// SetTopicAttributes changes a topic's maxMsgSize (its only settable attribute).
func (e *Engine) SetTopicAttributes(ctx context.Context, namespace, name string, maxMsgSize int64) error {
	return e.propose(ctx, &Command{Type: CmdSetTopicAttributes, Namespace: namespace, Topic: name,
		TopicAttrs: TopicAttributes{MaxMsgSize: maxMsgSize}}, false).err
}

// DeleteTopic deletes a topic; refused (ErrTopicHasSubs) while it has subscriptions.
func (e *Engine) DeleteTopic(ctx context.Context, namespace, name string) error {
	return e.propose(ctx, &Command{Type: CmdDeleteTopic, Namespace: namespace, Topic: name}, false).err
}

// PublishMessage publishes up to Limits.MaxBatch messages, all with the same tags (filter
// type 1 topics, at most 5) or routing key (filter type 2), and returns their ids. Queue
// subscriptions that match have the messages in their queue when it returns; HTTP
// subscriptions that match will have them pushed.
func (e *Engine) PublishMessage(ctx context.Context, namespace, topicName string, bodies [][]byte, tags []string, routingKey string) ([]string, error) {
	if len(bodies) == 0 || len(bodies) > e.limits.MaxBatch {
		return nil, ErrBatchSize
	}
	r := e.propose(ctx, &Command{Type: CmdPublish, Namespace: namespace, Topic: topicName, Bodies: bodies,
		Tags: tags, RoutingKey: routingKey}, false)
	if r.err != nil {
		return nil, r.err
	}
	ids := make([]string, len(r.seqs))
	for i, seq := range r.seqs {
		ids[i] = messageID(r.queueID, seq)
	}
	return ids, nil
}

// Subscribe adds a subscription to a topic and returns its id.
func (e *Engine) Subscribe(ctx context.Context, namespace, topicName string, cfg SubscriptionConfig) (string, error) {
	r := e.propose(ctx, &Command{Type: CmdSubscribe, Namespace: namespace, Topic: topicName, Subscription: cfg}, false)
	if r.err != nil {
		return "", r.err
	}
	return prefixedID("subsc-", r.queueID), nil
}

// SetSubscriptionAttributes changes a subscription's strategy, format or filters.
func (e *Engine) SetSubscriptionAttributes(ctx context.Context, namespace, topicName, name string, u SubscriptionUpdate) error {
	return e.propose(ctx, &Command{Type: CmdSetSubscription, Namespace: namespace, Topic: topicName,
		Subscription: SubscriptionConfig{Name: name}, SubUpdate: u}, false).err
}

// Unsubscribe removes a subscription; messages it had not yet pushed are dropped.
func (e *Engine) Unsubscribe(ctx context.Context, namespace, topicName, name string) error {
	return e.propose(ctx, &Command{Type: CmdUnsubscribe, Namespace: namespace, Topic: topicName,
		Subscription: SubscriptionConfig{Name: name}}, false).err
}

// ClearSubscriptionFilterTags empties a subscription's filter tags.
func (e *Engine) ClearSubscriptionFilterTags(ctx context.Context, namespace, topicName, name string) error {
	return e.propose(ctx, &Command{Type: CmdClearSubscriptionFilter, Namespace: namespace, Topic: topicName,
		Subscription: SubscriptionConfig{Name: name}}, false).err
}

// ListTopics lists topics like ListQueues.
func (e *Engine) ListTopics(ctx context.Context, namespace, searchWord string, offset, limit int) (int, []TopicRef, error) {
	if err := e.listArgs(ctx, offset, limit); err != nil {
		return 0, nil, err
	}
	e.mu.RLock()
	var all []*topic
	for key, t := range e.sm.topics[namespace] {
		if strings.Contains(key, strings.ToLower(searchWord)) {
			all = append(all, t)
		}
	}
	e.mu.RUnlock()
	sort.Slice(all, func(i, j int) bool { return all[i].id < all[j].id })
	total := len(all)
	all = page(all, offset, limit)
	out := make([]TopicRef, len(all))
	for i, t := range all {
		out[i] = TopicRef{ID: prefixedID("topic-", t.id), Name: t.name}
	}
	return total, out, nil
}

// GetTopicAttributes returns a topic's attributes and counters.
func (e *Engine) GetTopicAttributes(ctx context.Context, namespace, name string) (TopicInfo, error) {
	if err := e.readBarrier(ctx); err != nil {
		return TopicInfo{}, err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	t := e.sm.lookupTopic(namespace, name)
	if t == nil {
		return TopicInfo{}, ErrTopicNotExist
	}
	info := TopicInfo{ID: prefixedID("topic-", t.id), Name: t.name, Attributes: t.attrs,
		MsgRetentionSeconds: TopicRetentionSeconds, CreateTime: msTime(t.created), LastModifyTime: msTime(t.modified)}
	for _, s := range t.subs {
		if q := e.sm.queues[s.pushQueue]; q != nil {
			info.MsgCount += int64(q.live())
		}
	}
	return info, nil
}

// ListSubscriptions lists a topic's subscriptions like ListQueues.
func (e *Engine) ListSubscriptions(ctx context.Context, namespace, topicName, searchWord string, offset, limit int) (int, []SubscriptionRef, error) {
	if err := e.listArgs(ctx, offset, limit); err != nil {
		return 0, nil, err
	}
	e.mu.RLock()
	t := e.sm.lookupTopic(namespace, topicName)
	var all []*subscription
	if t != nil {
		for _, s := range t.subs {
			if strings.Contains(strings.ToLower(s.cfg.Name), strings.ToLower(searchWord)) {
				all = append(all, s)
			}
		}
	}
	e.mu.RUnlock()
	if t == nil {
		return 0, nil, ErrTopicNotExist
	}
	total := len(all)
	all = page(all, offset, limit)
	out := make([]SubscriptionRef, len(all))
	for i, s := range all {
		out[i] = SubscriptionRef{ID: prefixedID("subsc-", s.id), Name: s.cfg.Name, Protocol: s.cfg.Protocol, Endpoint: s.cfg.Endpoint}
	}
	return total, out, nil
}

// GetSubscriptionAttributes returns a subscription's configuration and counters.
func (e *Engine) GetSubscriptionAttributes(ctx context.Context, namespace, topicName, name string) (SubscriptionInfo, error) {
	if err := e.readBarrier(ctx); err != nil {
		return SubscriptionInfo{}, err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	t := e.sm.lookupTopic(namespace, topicName)
	if t == nil {
		return SubscriptionInfo{}, ErrTopicNotExist
	}
	s := t.subsByName[nameKey(name)]
	if s == nil {
		return SubscriptionInfo{}, ErrSubscriptionNotExist
	}
	info := SubscriptionInfo{ID: prefixedID("subsc-", s.id), Topic: t.name, Owner: t.namespace, Config: s.cfg,
		Delivered: int64(s.delivered), Failed: int64(s.failed), Undeliverable: int64(s.undeliverable),
		CreateTime: msTime(s.created), LastModifyTime: msTime(s.modified)}
	info.Config.FilterTags = append([]string(nil), s.cfg.FilterTags...)
	info.Config.BindingKeys = append([]string(nil), s.cfg.BindingKeys...)
	if q := e.sm.queues[s.pushQueue]; q != nil {
		info.MsgCount = int64(q.live())
	}
	return info, nil
}

func (e *Engine) listArgs(ctx context.Context, offset, limit int) error {
	if err := e.readBarrier(ctx); err != nil {
		return err
	}
	if offset < 0 || limit < 0 || limit > e.limits.MaxListLimit {
		return errorf(ErrParameterRange, "offset must be >= 0 and limit 0-%d", e.limits.MaxListLimit)
	}
	return nil
}

func page[T any](all []T, offset, limit int) []T {
	if offset > len(all) {
		offset = len(all)
	}
	all = all[offset:]
	if limit < len(all) {
		all = all[:limit]
	}
	return all
}
