package engine

import (
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// TopicAttributes are a topic's settable attributes.
type TopicAttributes struct {
	// MaxMsgSize is the largest accepted message body in bytes.
	MaxMsgSize int64
	// FilterType 1: subscriptions filter by tags (filterTag / msgTag); 2: by routing key
	// (bindingKey / routingKey). Fixed at creation.
	FilterType int
}

// Topic defaults and fixed values (reference §7).
const (
	TopicFilterTags       = 1
	TopicFilterRoutingKey = 2
	// TopicRetentionSeconds is how long a published message waits for delivery to HTTP
	// subscriptions (CMQ: one day, not settable).
	TopicRetentionSeconds = 86400
)

// DefaultTopicAttributes returns CMQ's defaults.
func DefaultTopicAttributes() TopicAttributes {
	return TopicAttributes{MaxMsgSize: MaxMsgSizeDefault, FilterType: TopicFilterTags}
}

// Subscription protocols, notify strategies and content formats.
const (
	ProtocolQueue = "queue"
	ProtocolHTTP  = "http"

	StrategyBackoff     = "BACKOFF_RETRY"
	StrategyExponential = "EXPONENTIAL_DECAY_RETRY"

	FormatJSON       = "JSON"
	FormatSimplified = "SIMPLIFIED"
)

// SubscriptionConfig describes a subscription: where a topic's messages go and which ones.
type SubscriptionConfig struct {
	Name string
	// Protocol "queue": Endpoint names a queue of the same namespace, and matching messages
	// are enqueued there as part of the publish. "http": Endpoint is an http(s) URL that
	// messages are pushed to, with retries.
	Protocol            string
	Endpoint            string
	NotifyStrategy      string // BACKOFF_RETRY or EXPONENTIAL_DECAY_RETRY (default)
	NotifyContentFormat string // JSON (default for http) or SIMPLIFIED (required for queue)
	FilterTags          []string
	BindingKeys         []string
}

// SubscriptionUpdate changes a subscription; empty strings and nil lists leave a field as
// it is, a non-nil empty list clears it.
type SubscriptionUpdate struct {
	NotifyStrategy      string
	NotifyContentFormat string
	FilterTags          []string
	BindingKeys         []string
}

// Topic and subscription errors (reference §4.2, §7, §8).
var (
	ErrTopicName            = &Error{Code: 4000, Module: 10590, Message: "topic name format error"}
	ErrTopicNotExist        = &Error{Code: 4440, Module: 10600, Message: "topic is not existed, or deleted"}
	ErrTopicExists          = &Error{Code: 4460, Module: 10550, Message: "topic is already existed"}
	ErrTooManyTopics        = &Error{Code: 4450, Module: 10610, Message: "number of topics has reached the limit"}
	ErrTopicHasSubs         = &Error{Code: 4000, Module: 10540, Message: "there exists subscriptions under this topic"}
	ErrSubscriptionName     = &Error{Code: 4000, Module: 10620, Message: "subscription name format error"}
	ErrSubscriptionExists   = &Error{Code: 4490, Module: 10470, Message: "subscription is already existed"}
	ErrSubscriptionNotExist = &Error{Code: 4440, Module: 10601, Message: "subscription is not existed, or deleted"}
	ErrTooManySubs          = &Error{Code: 4500, Module: 10480, Message: "number of subscriptions has reached the limit"}
	ErrProtocol             = &Error{Code: 4000, Module: 10510, Message: "undefined protocol"}
	ErrStrategy             = &Error{Code: 4000, Module: 10520, Message: "undefined notify retry strategy"}
	ErrContentFormat        = &Error{Code: 4000, Module: 10530, Message: "undefined notify content format"}
	ErrQueueFormat          = &Error{Code: 4000, Module: 10640, Message: "notifyContentFormat of protocol queue must be SIMPLIFIED"}
	ErrEndpoint             = &Error{Code: 4000, Module: 10500, Message: "endpoint format error"}
	ErrEndpointBlank        = &Error{Code: 4510, Module: 10570, Message: "endpoint contains blanks"}
	ErrTooManyFilterTags    = &Error{Code: 4000, Module: 10490, Message: "number of filterTag exceed limit (max 5)"}
	ErrTooManyBindingKeys   = &Error{Code: 4000, Module: 10680, Message: "too many bindingKey (max 5)"}
	ErrTooManyMsgTags       = &Error{Code: 4000, Module: 10720, Message: "too many msgTag (max 5)"}
	ErrRoutingKey           = &Error{Code: 4000, Module: 10691, Message: "routingKey format error: at most 64 bytes, 15 dots, no wildcards, UTF-8 without control characters"}
	ErrBindingKey           = &Error{Code: 4000, Module: 10692, Message: "bindingKey format error: at most 64 bytes and 15 dots, UTF-8 without control characters"}
	ErrTag                  = &Error{Code: 4000, Module: 10693, Message: "tag format error: 1-16 characters, UTF-8 without control characters"}
)

const (
	maxTags         = 5
	maxTagLen       = 16
	maxKeyBytes     = 64
	maxKeyDots      = 15
	maxSubsPerTopic = 100
)

type topic struct {
	id         uint64
	namespace  string
	name       string
	attrs      TopicAttributes
	created    int64
	modified   int64
	published  uint64          // messages published so far: the seq of the next message id
	subs       []*subscription // in id order: fan-out order is part of the state
	subsByName map[string]*subscription
}

type subscription struct {
	id       uint64
	topicID  uint64
	cfg      SubscriptionConfig
	created  int64
	modified int64
	// pushQueue is the id of the internal queue holding messages still to be pushed
	// (protocol http); 0 for queue subscriptions.
	pushQueue     uint64
	delivered     uint64 // pushes that succeeded
	failed        uint64 // messages dropped after exhausting their retries
	undeliverable uint64 // queue subscription copies that could not be enqueued (queue missing or full)
}

func validTag(t string) bool {
	return len(t) >= 1 && utf8.RuneCountInString(t) <= maxTagLen && printable(t)
}

// printable reports whether s is valid UTF-8 without ASCII control characters. Tags, keys
// and endpoints are echoed in JSON, which cannot carry other bytes unchanged, and tags and
// endpoints also travel in pushes' headers and request lines, where CR and LF must not.
func printable(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return utf8.ValidString(s)
}

func checkTags(tags []string, tooMany *Error) error {
	if len(tags) > maxTags {
		return tooMany
	}
	for _, t := range tags {
		if !validTag(t) {
			return errorf(ErrTag, "%q", t)
		}
	}
	return nil
}

// checkKey validates a routing key (wildcards false) or a binding key (wildcards true).
func checkKey(k string, wildcards bool) bool {
	if len(k) > maxKeyBytes || strings.Count(k, ".") > maxKeyDots || !printable(k) {
		return false
	}
	if !wildcards {
		for _, w := range strings.Split(k, ".") {
			if w == "*" || w == "#" {
				return false
			}
		}
	}
	return true
}

func (a *TopicAttributes) validate(l Limits, create bool) error {
	if !inRange(a.MaxMsgSize, 1024, l.MaxMsgSizeUpperBound) {
		return errorf(ErrParameterRange, "maxMsgSize must be 1024-%d", l.MaxMsgSizeUpperBound)
	}
	if create && a.FilterType != TopicFilterTags && a.FilterType != TopicFilterRoutingKey {
		return errorf(ErrParameterRange, "filterType must be 1 or 2")
	}
	return nil
}

// validateSubscription checks c for topic t and fills in defaults.
func validateSubscription(c *SubscriptionConfig, t *topic, l Limits) error {
	if !validQueueName(c.Name, l.MaxQueueNameLength) {
		return ErrSubscriptionName
	}
	c.Protocol = strings.ToLower(c.Protocol)
	switch c.Protocol {
	case ProtocolQueue:
		if c.NotifyContentFormat == "" {
			c.NotifyContentFormat = FormatSimplified
		}
		if c.NotifyContentFormat != FormatSimplified {
			return ErrQueueFormat
		}
		if !validQueueName(c.Endpoint, l.MaxQueueNameLength) {
			return errorf(ErrEndpoint, "a queue subscription's endpoint is a queue name")
		}
	case ProtocolHTTP:
		if c.NotifyContentFormat == "" {
			c.NotifyContentFormat = FormatJSON
		}
		if err := checkEndpointURL(c.Endpoint); err != nil {
			return err
		}
	default:
		return ErrProtocol
	}
	if c.NotifyStrategy == "" {
		c.NotifyStrategy = StrategyExponential
	}
	if c.NotifyStrategy != StrategyBackoff && c.NotifyStrategy != StrategyExponential {
		return ErrStrategy
	}
	if c.NotifyContentFormat != FormatJSON && c.NotifyContentFormat != FormatSimplified {
		return ErrContentFormat
	}
	return checkFilters(c.FilterTags, c.BindingKeys, t)
}

func checkFilters(tags, keys []string, t *topic) error {
	if err := checkTags(tags, ErrTooManyFilterTags); err != nil {
		return err
	}
	if len(keys) > maxTags {
		return ErrTooManyBindingKeys
	}
	for _, k := range keys {
		if !checkKey(k, true) {
			return errorf(ErrBindingKey, "%q", k)
		}
	}
	return nil
}

// checkEndpointURL accepts absolute http and https URLs without blanks, of at most 500
// characters. Which addresses pushes may reach is decided when pushing (PushOptions).
func checkEndpointURL(s string) error {
	if strings.ContainsAny(s, " \t\r\n") {
		return ErrEndpointBlank
	}
	if !printable(s) {
		return errorf(ErrEndpoint, "endpoint must be UTF-8 without control characters")
	}
	u, err := url.Parse(s)
	if len(s) > 500 || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return errorf(ErrEndpoint, "endpoint must be an http:// or https:// URL")
	}
	return nil
}

func (t *topic) sortSubs() {
	sort.Slice(t.subs, func(i, j int) bool { return t.subs[i].id < t.subs[j].id })
}

// matches reports whether a message with tags and routing key goes to subscription s.
func (t *topic) matches(s *subscription, tags []string, routingKey string) bool {
	if t.attrs.FilterType == TopicFilterRoutingKey {
		return matchBindingKeys(s.cfg.BindingKeys, routingKey)
	}
	return matchTags(s.cfg.FilterTags, tags)
}
