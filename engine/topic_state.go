package engine

import (
	"encoding/binary"
	"fmt"
)

// Push record payload (inside a message record of a subscription's push queue; part of the
// on-disk format): tag count uvarint | tags (uvarint length + bytes each) | body.
func encodePush(tags []string, body []byte) []byte {
	b := appendStrings(nil, tags)
	return append(b, body...)
}

// DecodePushRecord splits a push queue message into the message's tags and body.
func DecodePushRecord(p []byte) (tags []string, body []byte, err error) {
	d := decoder{b: p}
	tags = d.strings()
	if d.err != nil {
		return nil, nil, fmt.Errorf("engine: bad push record: %w", d.err)
	}
	return tags, d.b, nil
}

func (sm *stateMachine) lookupTopic(namespace, name string) *topic {
	return sm.topics[namespace][nameKey(name)]
}

// applyTopic applies the topic and subscription commands.
func (sm *stateMachine) applyTopic(now int64, c *Command) result {
	if c.Type == CmdCreateTopic {
		return sm.createTopic(now, c)
	}
	t := sm.lookupTopic(c.Namespace, c.Topic)
	if t == nil {
		return result{err: ErrTopicNotExist}
	}
	switch c.Type {
	case CmdSetTopicAttributes:
		a := t.attrs
		a.MaxMsgSize = c.TopicAttrs.MaxMsgSize
		if err := a.validate(sm.limits, false); err != nil {
			return result{err: err}
		}
		t.attrs, t.modified = a, now
		return result{}
	case CmdDeleteTopic:
		if len(t.subs) > 0 {
			return result{err: ErrTopicHasSubs}
		}
		delete(sm.topics[t.namespace], nameKey(t.name))
		if len(sm.topics[t.namespace]) == 0 {
			delete(sm.topics, t.namespace)
		}
		return result{}
	case CmdPublish:
		return sm.publish(now, t, c)
	case CmdSubscribe:
		return sm.subscribe(now, t, c.Subscription)
	}
	s := t.subsByName[nameKey(c.Subscription.Name)]
	if s == nil {
		return result{err: ErrSubscriptionNotExist}
	}
	switch c.Type {
	case CmdSetSubscription:
		return sm.setSubscription(now, t, s, &c.SubUpdate)
	case CmdUnsubscribe:
		sm.unsubscribe(t, s)
	case CmdClearSubscriptionFilter:
		s.cfg.FilterTags = nil
		s.modified = now
	}
	return result{}
}

func (sm *stateMachine) createTopic(now int64, c *Command) result {
	if !validQueueName(c.Topic, sm.limits.MaxQueueNameLength) {
		return result{err: ErrTopicName}
	}
	if err := c.TopicAttrs.validate(sm.limits, true); err != nil {
		return result{err: err}
	}
	ns := sm.topics[c.Namespace]
	if ns[nameKey(c.Topic)] != nil {
		return result{err: ErrTopicExists}
	}
	if len(ns) >= sm.limits.MaxTopicsPerNamespace {
		return result{err: ErrTooManyTopics}
	}
	t := &topic{id: sm.nextQueueID, namespace: c.Namespace, name: c.Topic, attrs: c.TopicAttrs,
		created: now, modified: now, subsByName: map[string]*subscription{}}
	sm.nextQueueID++
	if ns == nil {
		ns = map[string]*topic{}
		sm.topics[c.Namespace] = ns
	}
	ns[nameKey(c.Topic)] = t
	return result{queueID: t.id}
}

func (sm *stateMachine) subscribe(now int64, t *topic, cfg SubscriptionConfig) result {
	if err := validateSubscription(&cfg, t, sm.limits); err != nil {
		return result{err: err}
	}
	if t.subsByName[nameKey(cfg.Name)] != nil {
		return result{err: ErrSubscriptionExists}
	}
	if len(t.subs) >= maxSubsPerTopic {
		return result{err: ErrTooManySubs}
	}
	s := &subscription{id: sm.nextQueueID, topicID: t.id, cfg: cfg, created: now, modified: now}
	sm.nextQueueID++
	if cfg.Protocol == ProtocolHTTP {
		q := sm.newPushQueue(t, s, now)
		s.pushQueue = q.id
	}
	t.subs = append(t.subs, s)
	t.subsByName[nameKey(cfg.Name)] = s
	t.sortSubs()
	return result{queueID: s.id}
}

// newPushQueue creates the internal queue that holds a subscription's pending pushes. It is
// in no namespace: users cannot see or address it; the pusher addresses it by id.
func (sm *stateMachine) newPushQueue(t *topic, s *subscription, now int64) *queue {
	q := &queue{
		id: sm.nextQueueID, namespace: t.namespace, name: fmt.Sprintf("push/%d", s.id), hidden: true,
		attrs: QueueAttributes{
			MaxMsgHeapNum:       sm.limits.MaxMaxMsgHeapNum,
			VisibilityTimeout:   pushLeaseSeconds,
			MaxMsgSize:          sm.limits.MaxMsgSizeUpperBound + 4096,
			MsgRetentionSeconds: TopicRetentionSeconds,
		},
		created: now, modified: now, first: 1, head: 1, cursor: 1, tail: 1,
	}
	sm.nextQueueID++
	sm.queues[q.id] = q
	sm.pushSubs[q.id] = s
	return q
}

// pushLeaseSeconds is how long a message being pushed stays invisible to other pushers
// (the push timeout is shorter); a pusher that dies leaves it to come back after that.
const pushLeaseSeconds = 60

func (sm *stateMachine) setSubscription(now int64, t *topic, s *subscription, u *SubscriptionUpdate) result {
	cfg := s.cfg
	if u.NotifyStrategy != "" {
		cfg.NotifyStrategy = u.NotifyStrategy
	}
	if u.NotifyContentFormat != "" {
		cfg.NotifyContentFormat = u.NotifyContentFormat
	}
	if u.FilterTags != nil {
		cfg.FilterTags = u.FilterTags
	}
	if u.BindingKeys != nil {
		cfg.BindingKeys = u.BindingKeys
	}
	if len(cfg.FilterTags) == 0 {
		cfg.FilterTags = nil
	}
	if len(cfg.BindingKeys) == 0 {
		cfg.BindingKeys = nil
	}
	if err := validateSubscription(&cfg, t, sm.limits); err != nil {
		return result{err: err}
	}
	s.cfg, s.modified = cfg, now
	return result{}
}

func (sm *stateMachine) unsubscribe(t *topic, s *subscription) {
	delete(t.subsByName, nameKey(s.cfg.Name))
	for i, x := range t.subs {
		if x == s {
			t.subs = append(t.subs[:i], t.subs[i+1:]...)
			break
		}
	}
	if q := sm.queues[s.pushQueue]; q != nil {
		sm.dropQueue(q)
		delete(sm.pushSubs, q.id)
	}
}

// publish fans a batch out to every matching subscription in one step of one command: an
// acknowledged publish is in every matching queue, and a crash never leaves it in some.
func (sm *stateMachine) publish(now int64, t *topic, c *Command) result {
	if err := sm.checkBodies(c.Bodies, t.attrs.MaxMsgSize); err != nil {
		return result{err: err}
	}
	if err := checkTags(c.Tags, ErrTooManyMsgTags); err != nil {
		return result{err: err}
	}
	if !checkKey(c.RoutingKey, false) {
		return result{err: ErrRoutingKey}
	}
	r := result{queueID: t.id, seqs: make([]uint64, 0, len(c.Bodies))}
	for _, body := range c.Bodies {
		t.published++
		seq := t.published
		id := messageID(t.id, seq)
		r.seqs = append(r.seqs, seq)
		var push []byte
		for _, s := range t.subs {
			if !t.matches(s, c.Tags, c.RoutingKey) {
				continue
			}
			var q *queue
			data := body
			if s.cfg.Protocol == ProtocolQueue {
				q = sm.lookup(t.namespace, s.cfg.Endpoint)
			} else {
				q = sm.queues[s.pushQueue]
				if push == nil {
					push = encodePush(c.Tags, body)
				}
				data = push
			}
			if q == nil {
				s.undeliverable++
				continue
			}
			if err := sm.advance(q, now); err != nil {
				return result{err: err}
			}
			if int64(q.live()) >= q.attrs.MaxMsgHeapNum || (!q.hidden && int64(len(body)) > q.attrs.MaxMsgSize) {
				s.undeliverable++
				continue
			}
			if _, err := sm.appendMessage(q, now, id, data); err != nil {
				return result{err: sm.storageFailed(err)}
			}
			sm.reschedule(q)
			sm.noteVisible(q, now)
		}
	}
	return r
}

// pushDone deletes pushed messages from a push queue: delivered, or given up on.
func (sm *stateMachine) pushDone(q *queue, now int64, c *Command) result {
	s := sm.pushSubs[q.id]
	r := sm.deleteMessages(q, now, c.Handles)
	for _, err := range r.itemErrs {
		if err == nil && s != nil {
			if c.GiveUp {
				s.failed++
			} else {
				s.delivered++
			}
		}
	}
	return r
}

// appendTopicState serialises the topics (checkpoint).
func (sm *stateMachine) appendTopicState(dst []byte) []byte {
	ts := sm.topicsByID()
	dst = binary.AppendUvarint(dst, uint64(len(ts)))
	for _, t := range ts {
		dst = binary.AppendUvarint(dst, t.id)
		dst = appendString(dst, t.namespace)
		dst = appendString(dst, t.name)
		dst = binary.AppendVarint(dst, t.attrs.MaxMsgSize)
		dst = binary.AppendVarint(dst, int64(t.attrs.FilterType))
		dst = binary.AppendVarint(dst, t.created)
		dst = binary.AppendVarint(dst, t.modified)
		dst = binary.AppendUvarint(dst, t.published)
		dst = binary.AppendUvarint(dst, uint64(len(t.subs)))
		for _, s := range t.subs {
			for _, v := range [...]uint64{s.id, s.pushQueue, s.delivered, s.failed, s.undeliverable} {
				dst = binary.AppendUvarint(dst, v)
			}
			dst = binary.AppendVarint(dst, s.created)
			dst = binary.AppendVarint(dst, s.modified)
			for _, v := range [...]string{s.cfg.Name, s.cfg.Protocol, s.cfg.Endpoint, s.cfg.NotifyStrategy, s.cfg.NotifyContentFormat} {
				dst = appendString(dst, v)
			}
			dst = appendStrings(dst, s.cfg.FilterTags)
			dst = appendStrings(dst, s.cfg.BindingKeys)
		}
	}
	return dst
}

func (d *decoder) topics(sm *stateMachine) error {
	for n := d.count(); n > 0 && d.err == nil; n-- {
		t := &topic{id: d.uvarint(), namespace: d.string(), name: d.string(), subsByName: map[string]*subscription{}}
		t.attrs.MaxMsgSize = d.varint()
		t.attrs.FilterType = int(d.varint())
		t.created, t.modified = d.varint(), d.varint()
		t.published = d.uvarint()
		for m := d.count(); m > 0 && d.err == nil; m-- {
			s := &subscription{topicID: t.id}
			for _, p := range [...]*uint64{&s.id, &s.pushQueue, &s.delivered, &s.failed, &s.undeliverable} {
				*p = d.uvarint()
			}
			s.created, s.modified = d.varint(), d.varint()
			for _, p := range [...]*string{&s.cfg.Name, &s.cfg.Protocol, &s.cfg.Endpoint, &s.cfg.NotifyStrategy, &s.cfg.NotifyContentFormat} {
				*p = d.string()
			}
			s.cfg.FilterTags = d.strings()
			s.cfg.BindingKeys = d.strings()
			if s.pushQueue != 0 {
				q := sm.queues[s.pushQueue]
				if q == nil || !q.hidden {
					return fmt.Errorf("%w: subscription %d: push queue %d missing", ErrBadCheckpoint, s.id, s.pushQueue)
				}
				sm.pushSubs[q.id] = s
			}
			t.subs = append(t.subs, s)
			t.subsByName[nameKey(s.cfg.Name)] = s
		}
		t.sortSubs()
		if d.err != nil {
			break
		}
		ns := sm.topics[t.namespace]
		if ns == nil {
			ns = map[string]*topic{}
			sm.topics[t.namespace] = ns
		}
		if ns[nameKey(t.name)] != nil || t.id >= sm.nextQueueID {
			return fmt.Errorf("%w: bad topic %d", ErrBadCheckpoint, t.id)
		}
		ns[nameKey(t.name)] = t
	}
	return d.err
}
