package httpapi

import (
	"context"
	"strings"

	"github.com/opencmq/opencmq/engine"
)

// CMQ's topic and subscription actions (§7, §8): the backend's topic API, with the same
// parameter handling as the queue actions.

// maxTags bounds msgTag.n, filterTag.n and bindingKey.n (§5): the backend refuses more too,
// but the API must not collect an unbounded list first.
const maxTags = 5

// maxSubscriptionListLimit is ListSubscriptionByTopic's largest limit (§8.2).
const maxSubscriptionListLimit = 100

// topicName returns the topicName parameter.
func (r *request) topicName() (string, error) { return r.required("topicName") }

// subscriptionNames returns the topicName and subscriptionName parameters.
func (r *request) subscriptionNames() (topic, sub string, err error) {
	if topic, err = r.topicName(); err != nil {
		return "", "", err
	}
	if sub, err = r.required("subscriptionName"); err != nil {
		return "", "", err
	}
	return topic, sub, nil
}

// stringList returns the values of prefix.<n> (0 or 1 to 5 of them, indexed like msgBody.n);
// nil if none was sent. More than 5 is tooMany.
func (r *request) stringList(prefix string, tooMany error) ([]string, error) {
	var pos [maxTags]int
	idx, err := r.indexedList(prefix, pos[:0], 0, maxTags, tooMany)
	if err != nil || len(idx) == 0 {
		return nil, err
	}
	out := make([]string, len(idx))
	for i, p := range idx {
		out[i] = string(r.params[p].value)
	}
	return out, nil
}

func (s *Server) createTopic(r *request) error {
	name, err := r.topicName()
	if err != nil {
		return err
	}
	a := engine.DefaultTopicAttributes()
	if a.MaxMsgSize, _, err = r.optInt("maxMsgSize", a.MaxMsgSize); err != nil {
		return err
	}
	ft, _, err := r.optInt("filterType", int64(a.FilterType))
	if err != nil {
		return err
	}
	if ft < -1<<31 || ft > 1<<31 {
		ft = -1 // out of range either way; the backend says which values it takes
	}
	a.FilterType = int(ft)
	ctx, cancel := r.opContext()
	defer cancel()
	id, err := s.backend.CreateTopic(ctx, r.ns, name, a)
	if err != nil {
		return err
	}
	r.ok()
	r.w.str("topicId", id)
	return nil
}

func (s *Server) setTopicAttributes(r *request) error {
	name, err := r.topicName()
	if err != nil {
		return err
	}
	size, present, err := r.optInt("maxMsgSize", 0)
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	if present {
		err = s.backend.SetTopicAttributes(ctx, r.ns, name, size)
	} else {
		// Nothing to change (maxMsgSize is the only settable attribute); still 4440 for a
		// topic that does not exist.
		_, err = s.backend.GetTopicAttributes(ctx, r.ns, name)
	}
	if err != nil {
		return err
	}
	r.ok()
	return nil
}

func (s *Server) deleteTopic(r *request) error {
	return s.nameAction(r, r.topicName, s.backend.DeleteTopic)
}

func (s *Server) listTopic(r *request) error {
	search, offset, limit, err := listParams(r)
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	total, refs, err := s.backend.ListTopics(ctx, r.ns, search, offset, limit)
	if err != nil {
		return err
	}
	r.ok()
	w := &r.w
	w.int("totalCount", int64(total))
	w.open("topicList", '[')
	for _, t := range refs {
		w.open("", '{')
		w.str("topicId", t.ID)
		w.str("topicName", t.Name)
		w.close('}')
	}
	w.close(']')
	return nil
}

func (s *Server) getTopicAttributes(r *request) error {
	name, err := r.topicName()
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	info, err := s.backend.GetTopicAttributes(ctx, r.ns, name)
	if err != nil {
		return err
	}
	r.ok()
	w := &r.w
	w.str("topicId", info.ID)
	w.str("topicName", info.Name)
	w.int("msgCount", info.MsgCount)
	w.int("maxMsgSize", info.Attributes.MaxMsgSize)
	w.int("msgRetentionSeconds", info.MsgRetentionSeconds)
	w.time("createTime", info.CreateTime)
	w.time("lastModifyTime", info.LastModifyTime)
	w.int("filterType", int64(info.Attributes.FilterType))
	return nil
}

func (s *Server) publishMessage(r *request) error {
	name, err := r.topicName()
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
	tags, err := r.stringList("msgTag.", engine.ErrTooManyMsgTags)
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	// routingKey: PY, CPP and TGO always send it, empty on tag topics: "" is no key.
	ids, err := s.backend.PublishMessage(ctx, r.ns, name, [][]byte{append([]byte(nil), body...)}, tags, r.str("routingKey"))
	return r.answerMsgID(ids, err)
}

func (s *Server) batchPublishMessage(r *request) error {
	name, err := r.topicName()
	if err != nil {
		return err
	}
	var scratch [maxBatch][]byte
	bodies, err := r.msgBodies(scratch[:0])
	if err != nil {
		return err
	}
	tags, err := r.stringList("msgTag.", engine.ErrTooManyMsgTags)
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	ids, err := s.backend.PublishMessage(ctx, r.ns, name, copyBodies(bodies), tags, r.str("routingKey"))
	if err != nil {
		return err
	}
	return r.writeMsgList(ids, len(bodies))
}

// filters returns the filterTag.n and bindingKey.n lists (nil when not sent).
func (r *request) filters() (tags, keys []string, err error) {
	if tags, err = r.stringList("filterTag.", engine.ErrTooManyFilterTags); err != nil {
		return nil, nil, err
	}
	if keys, err = r.stringList("bindingKey.", engine.ErrTooManyBindingKeys); err != nil {
		return nil, nil, err
	}
	return tags, keys, nil
}

func (s *Server) subscribe(r *request) error {
	topic, sub, err := r.subscriptionNames()
	if err != nil {
		return err
	}
	protocol, err := r.required("protocol")
	if err != nil {
		return err
	}
	endpoint, err := r.required("endpoint")
	if err != nil {
		return err
	}
	cfg := engine.SubscriptionConfig{
		Name:     sub,
		Protocol: strings.ToLower(protocol), // DOC writes "HTTP", samples "http"
		Endpoint: endpoint,
		// The enumerations are upper case; accept any case.
		NotifyStrategy:      strings.ToUpper(r.str("notifyStrategy")),
		NotifyContentFormat: strings.ToUpper(r.str("notifyContentFormat")),
	}
	if cfg.FilterTags, cfg.BindingKeys, err = r.filters(); err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	id, err := s.backend.Subscribe(ctx, r.ns, topic, cfg)
	if err != nil {
		return err
	}
	r.ok()
	r.w.str("subscriptionId", id)
	return nil
}

func (s *Server) setSubscriptionAttributes(r *request) error {
	topic, sub, err := r.subscriptionNames()
	if err != nil {
		return err
	}
	u := engine.SubscriptionUpdate{
		NotifyStrategy:      strings.ToUpper(r.str("notifyStrategy")),
		NotifyContentFormat: strings.ToUpper(r.str("notifyContentFormat")),
	}
	// A given list replaces the subscription's; an absent one leaves it.
	if u.FilterTags, u.BindingKeys, err = r.filters(); err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	if err := s.backend.SetSubscriptionAttributes(ctx, r.ns, topic, sub, u); err != nil {
		return err
	}
	r.ok()
	return nil
}

func (s *Server) unsubscribe(r *request) error {
	return s.subscriptionAction(r, s.backend.Unsubscribe)
}

func (s *Server) clearSubscriptionFilterTags(r *request) error {
	return s.subscriptionAction(r, s.backend.ClearSubscriptionFilterTags)
}

func (s *Server) listSubscriptionByTopic(r *request) error {
	topic, err := r.topicName()
	if err != nil {
		return err
	}
	search, offset, limit, err := listParams(r)
	if err != nil {
		return err
	}
	if limit > maxSubscriptionListLimit {
		return errRange("limit", 0, maxSubscriptionListLimit)
	}
	ctx, cancel := r.opContext()
	defer cancel()
	total, refs, err := s.backend.ListSubscriptions(ctx, r.ns, topic, search, offset, limit)
	if err != nil {
		return err
	}
	r.ok()
	w := &r.w
	w.int("totalCount", int64(total))
	w.open("subscriptionList", '[')
	for _, sub := range refs {
		w.open("", '{')
		w.str("subscriptionId", sub.ID)
		w.str("subscriptionName", sub.Name)
		w.str("protocol", sub.Protocol)
		w.str("endpoint", sub.Endpoint)
		w.close('}')
	}
	w.close(']')
	return nil
}

// strList writes a JSON array of strings ([] when empty).
func (w *jsonWriter) strList(k string, vs []string) {
	w.open(k, '[')
	for _, v := range vs {
		if w.comma {
			w.b = append(w.b, ',')
		}
		w.b = appendString(w.b, v)
		w.comma = true
	}
	w.close(']')
}

func (s *Server) getSubscriptionAttributes(r *request) error {
	topic, sub, err := r.subscriptionNames()
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	info, err := s.backend.GetSubscriptionAttributes(ctx, r.ns, topic, sub)
	if err != nil {
		return err
	}
	r.ok()
	w := &r.w
	w.str("subscriptionId", info.ID)
	w.str("topicOwner", info.Owner) // a string: NGO type-asserts it
	w.int("msgCount", info.MsgCount)
	// JAVA and NGO read "protocol", PY and CPP "protocal".
	w.str("protocol", info.Config.Protocol)
	w.str("protocal", info.Config.Protocol)
	w.str("endpoint", info.Config.Endpoint)
	w.str("notifyStrategy", info.Config.NotifyStrategy)
	w.str("notifyContentFormat", info.Config.NotifyContentFormat)
	w.time("createTime", info.CreateTime)
	w.time("lastModifyTime", info.LastModifyTime)
	// JAVA, CPP and NGO read "filterTag", PY "filterTags".
	w.strList("filterTag", info.Config.FilterTags)
	w.strList("filterTags", info.Config.FilterTags)
	w.strList("bindingKey", info.Config.BindingKeys)
	w.int("deliveredCount", info.Delivered)
	w.int("failedCount", info.Failed)
	w.int("undeliverableCount", info.Undeliverable)
	return nil
}

// queryTopicRoute feeds CMQ's proprietary TCP protocol, which opencmq does not speak: it
// answers an empty address list for an existing topic.
func (s *Server) queryTopicRoute(r *request) error {
	name, err := r.topicName()
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	if _, err := s.backend.GetTopicAttributes(ctx, r.ns, name); err != nil {
		return err
	}
	r.ok()
	r.w.open("addr", '[')
	r.w.close(']')
	return nil
}

// subscriptionAction answers an action on one subscription that answers nothing but
// success: read and check topicName and subscriptionName, call op, answer ok.
func (s *Server) subscriptionAction(r *request, op func(ctx context.Context, namespace, topic, sub string) error) error {
	topic, sub, err := r.subscriptionNames()
	if err != nil {
		return err
	}
	ctx, cancel := r.opContext()
	defer cancel()
	if err := op(ctx, r.ns, topic, sub); err != nil {
		return err
	}
	r.ok()
	return nil
}
