package client

import (
	"context"
	"net/url"
	"reflect"
	"testing"
)

// wantParams checks the action and the parameters of the last request, besides the public
// ones.
func wantParams(t *testing.T, f *fakeServer, action string, want map[string]string) {
	t.Helper()
	p := f.last().Params
	if got := p.Get("Action"); got != action {
		t.Fatalf("Action %q, want %q", got, action)
	}
	got := map[string]string{}
	for k := range p {
		switch k {
		case "Action", "Nonce", "SecretId", "SignatureMethod", "Timestamp", "RequestClient", "Signature":
			continue
		}
		got[k] = p.Get(k)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s params\n got %v\nwant %v", action, got, want)
	}
}

func TestTopicActions(t *testing.T) {
	f := newFakeServer(t, func(action string, _ url.Values) (int, string) {
		switch action {
		case "CreateTopic":
			return 200, ok(`"topicId":"topic-1"`)
		case "ListTopic":
			return 200, ok(`"totalCount":3,"topicList":[{"topicId":"topic-1","topicName":"a"},{"topicId":"topic-2","topicName":"b"}]`)
		case "GetTopicAttributes":
			return 200, ok(`"topicId":"topic-1","topicName":"news","msgCount":4,"maxMsgSize":65536,"msgRetentionSeconds":86400,"createTime":1700000000,"lastModifyTime":1700000001,"filterType":2`)
		case "PublishMessage":
			return 200, ok(`"msgId":"m1"`)
		case "BatchPublishMessage":
			return 200, ok(`"msgList":[{"msgId":"m1"},{"msgId":"m2"}]`)
		case "QueryTopicRoute":
			return 200, ok(`"addr":[]`)
		}
		return 200, ok("")
	})
	c := newClient(t, f)
	ctx := context.Background()

	if id, err := c.CreateTopic(ctx, "news", nil); err != nil || id != "topic-1" {
		t.Fatalf("CreateTopic = %q, %v", id, err)
	}
	wantParams(t, f, "CreateTopic", map[string]string{"topicName": "news"})
	if _, err := c.CreateTopic(ctx, "keys", &TopicAttributes{MaxMsgSize: 2048, FilterType: FilterRoutingKey}); err != nil {
		t.Fatal(err)
	}
	wantParams(t, f, "CreateTopic", map[string]string{"topicName": "keys", "maxMsgSize": "2048", "filterType": "2"})

	if err := c.SetTopicAttributes(ctx, "news", 4096); err != nil {
		t.Fatal(err)
	}
	wantParams(t, f, "SetTopicAttributes", map[string]string{"topicName": "news", "maxMsgSize": "4096"})

	l, err := c.ListTopic(ctx, ListOptions{SearchWord: "n", Offset: 1})
	if err != nil || l.TotalCount != 3 || !reflect.DeepEqual(l.Topics, []TopicRef{{"topic-1", "a"}, {"topic-2", "b"}}) {
		t.Fatalf("ListTopic = %+v, %v", l, err)
	}
	wantParams(t, f, "ListTopic", map[string]string{"searchWord": "n", "offset": "1", "limit": "20"})

	info, err := c.GetTopicAttributes(ctx, "news")
	want := TopicInfo{TopicID: "topic-1", TopicName: "news", MsgCount: 4, MaxMsgSize: 65536, MsgRetentionSeconds: 86400,
		CreateTime: 1700000000, LastModifyTime: 1700000001, FilterType: 2}
	if err != nil || *info != want {
		t.Fatalf("GetTopicAttributes = %+v, %v", info, err)
	}
	wantParams(t, f, "GetTopicAttributes", map[string]string{"topicName": "news"})

	if err := c.DeleteTopic(ctx, "news"); err != nil {
		t.Fatal(err)
	}
	wantParams(t, f, "DeleteTopic", map[string]string{"topicName": "news"})

	if id, err := c.PublishMessage(ctx, "news", "hello world", nil, ""); err != nil || id != "m1" {
		t.Fatalf("PublishMessage = %q, %v", id, err)
	}
	wantParams(t, f, "PublishMessage", map[string]string{"topicName": "news", "msgBody": "hello world"})
	if _, err := c.PublishMessage(ctx, "news", "x", []string{"a", "b"}, "k.1"); err != nil {
		t.Fatal(err)
	}
	wantParams(t, f, "PublishMessage", map[string]string{"topicName": "news", "msgBody": "x", "msgTag.1": "a", "msgTag.2": "b", "routingKey": "k.1"})

	ids, err := c.BatchPublishMessage(ctx, "news", []string{"b1", "b2"}, []string{"t"}, "")
	if err != nil || !reflect.DeepEqual(ids, []string{"m1", "m2"}) {
		t.Fatalf("BatchPublishMessage = %v, %v", ids, err)
	}
	wantParams(t, f, "BatchPublishMessage", map[string]string{"topicName": "news", "msgBody.1": "b1", "msgBody.2": "b2", "msgTag.1": "t"})

	if addr, err := c.QueryTopicRoute(ctx, "news"); err != nil || len(addr) != 0 {
		t.Fatalf("QueryTopicRoute = %v, %v", addr, err)
	}
	wantParams(t, f, "QueryTopicRoute", map[string]string{"topicName": "news"})
}

func TestSubscriptionActions(t *testing.T) {
	var getAnswer string
	f := newFakeServer(t, func(action string, _ url.Values) (int, string) {
		switch action {
		case "Subscribe":
			return 200, ok(`"subscriptionId":"subsc-1"`)
		case "ListSubscriptionByTopic":
			return 200, ok(`"totalCount":1,"subscriptionList":[{"subscriptionId":"subsc-1","subscriptionName":"s","protocol":"http","endpoint":"http://h/"}]`)
		case "GetSubscriptionAttributes":
			return 200, ok(getAnswer)
		case "Unsubscribe":
			return 200, `{"code":4440,"message":"(10601)subscription is not existed, or deleted","requestId":"r2"}`
		}
		return 200, ok("")
	})
	c := newClient(t, f)
	ctx := context.Background()

	id, err := c.Subscribe(ctx, "news", Subscription{Name: "s", Protocol: ProtocolHTTP, Endpoint: "http://h/",
		NotifyStrategy: StrategyBackoff, NotifyContentFormat: FormatSimplified, FilterTags: []string{"a", "b"}})
	if err != nil || id != "subsc-1" {
		t.Fatalf("Subscribe = %q, %v", id, err)
	}
	wantParams(t, f, "Subscribe", map[string]string{"topicName": "news", "subscriptionName": "s", "protocol": "http", "endpoint": "http://h/",
		"notifyStrategy": "BACKOFF_RETRY", "notifyContentFormat": "SIMPLIFIED", "filterTag.1": "a", "filterTag.2": "b"})
	if _, err := c.Subscribe(ctx, "keys", Subscription{Name: "q", Protocol: ProtocolQueue, Endpoint: "orders", BindingKeys: []string{"a.*"}}); err != nil {
		t.Fatal(err)
	}
	wantParams(t, f, "Subscribe", map[string]string{"topicName": "keys", "subscriptionName": "q", "protocol": "queue", "endpoint": "orders", "bindingKey.1": "a.*"})

	if err := c.SetSubscriptionAttributes(ctx, "news", "s", SubscriptionUpdate{NotifyStrategy: StrategyExponential, FilterTags: []string{"c"}}); err != nil {
		t.Fatal(err)
	}
	wantParams(t, f, "SetSubscriptionAttributes", map[string]string{"topicName": "news", "subscriptionName": "s", "notifyStrategy": "EXPONENTIAL_DECAY_RETRY", "filterTag.1": "c"})
	if err := c.SetSubscriptionAttributes(ctx, "keys", "q", SubscriptionUpdate{BindingKeys: []string{"#", "x.y"}}); err != nil {
		t.Fatal(err)
	}
	wantParams(t, f, "SetSubscriptionAttributes", map[string]string{"topicName": "keys", "subscriptionName": "q", "bindingKey.1": "#", "bindingKey.2": "x.y"})

	if err := c.ClearSubscriptionFilterTags(ctx, "news", "s"); err != nil {
		t.Fatal(err)
	}
	wantParams(t, f, "ClearSubscriptionFilterTags", map[string]string{"topicName": "news", "subscriptionName": "s"})

	l, err := c.ListSubscriptionByTopic(ctx, "news", ListOptions{Limit: 100})
	if err != nil || l.TotalCount != 1 || !reflect.DeepEqual(l.Subscriptions, []SubscriptionRef{{"subsc-1", "s", "http", "http://h/"}}) {
		t.Fatalf("ListSubscriptionByTopic = %+v, %v", l, err)
	}
	wantParams(t, f, "ListSubscriptionByTopic", map[string]string{"topicName": "news", "offset": "0", "limit": "100"})

	// opencmq's answer (both spellings), then CMQ variants: only "protocal" and "filterTags"
	// (PY's reading), topicOwner as a number (the DOC sample).
	getAnswer = `"subscriptionId":"subsc-1","topicOwner":"ns-a","msgCount":2,"protocol":"http","protocal":"http","endpoint":"http://h/",` +
		`"notifyStrategy":"BACKOFF_RETRY","notifyContentFormat":"JSON","createTime":1700000000,"lastModifyTime":1700000005,` +
		`"filterTag":["a"],"filterTags":["a"],"bindingKey":[],"deliveredCount":7,"failedCount":1,"undeliverableCount":0`
	info, err := c.GetSubscriptionAttributes(ctx, "news", "s")
	wantInfo := SubscriptionInfo{SubscriptionID: "subsc-1", TopicOwner: "ns-a", MsgCount: 2, Protocol: "http", Endpoint: "http://h/",
		NotifyStrategy: "BACKOFF_RETRY", NotifyContentFormat: "JSON", CreateTime: 1700000000, LastModifyTime: 1700000005,
		FilterTags: []string{"a"}, BindingKeys: []string{}, DeliveredCount: 7, FailedCount: 1}
	if err != nil || !reflect.DeepEqual(*info, wantInfo) {
		t.Fatalf("GetSubscriptionAttributes\n got %+v, %v\nwant %+v", info, err, wantInfo)
	}
	wantParams(t, f, "GetSubscriptionAttributes", map[string]string{"topicName": "news", "subscriptionName": "s"})
	getAnswer = `"topicOwner":1250000000,"msgCount":0,"protocal":"queue","endpoint":"q","notifyStrategy":"BACKOFF_RETRY","notifyContentFormat":"SIMPLIFIED","createTime":1,"lastModifyTime":2,"filterTags":["x","y"]`
	info, err = c.GetSubscriptionAttributes(ctx, "news", "s")
	if err != nil || info.Protocol != "queue" || info.TopicOwner != "1250000000" || !reflect.DeepEqual(info.FilterTags, []string{"x", "y"}) {
		t.Fatalf("GetSubscriptionAttributes (CMQ spellings) = %+v, %v", info, err)
	}

	err = c.Unsubscribe(ctx, "news", "s")
	if CodeOf(err) != CodeQueueNotExist {
		t.Fatalf("Unsubscribe = %v", err)
	}
	wantParams(t, f, "Unsubscribe", map[string]string{"topicName": "news", "subscriptionName": "s"})
}
