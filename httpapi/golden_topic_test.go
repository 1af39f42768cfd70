package httpapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opencmq/opencmq/engine"
)

// Golden tests of the topic and subscription actions (§7, §8). Pushes are disabled in the
// test engine, so an HTTP subscription's messages stay counted in its msgCount.

// errJSON is the expected answer of an error.
func errJSON(code, module int, text string) string {
	return fmt.Sprintf(`{"code":%d,"message":"(%d)%s","requestId":"<rid>"}`, code, module, text)
}

// subAttrs renders the expected GetSubscriptionAttributes answer.
func subAttrs(protocol, endpoint, strategy, format, tags, keys string, msgCount int, modified int64, undeliverable int) string {
	return fmt.Sprintf(`{`+ok+`,"subscriptionId":"<subscriptionId>","topicOwner":"ns-a","msgCount":%d,"protocol":%q,"protocal":%q,"endpoint":%q,`+
		`"notifyStrategy":%q,"notifyContentFormat":%q,"createTime":1700000000,"lastModifyTime":%d,"filterTag":%s,"filterTags":%s,"bindingKey":%s,`+
		`"deliveredCount":0,"failedCount":0,"undeliverableCount":%d}`,
		msgCount, protocol, protocol, endpoint, strategy, format, modified, tags, tags, keys, undeliverable)
}

func TestGoldenTopicActions(t *testing.T) {
	e := newEnv(t, nil)
	b := &accountB
	notExist := errJSON(4440, 10600, "topic is not existed, or deleted")
	runScript(t, e, []step{
		// CreateTopic
		{name: "create", action: "CreateTopic", params: []string{"topicName", "t1"},
			want: `{` + ok + `,"topicId":"<topicId>"}`},
		{name: "create PY style (all parameters)", action: "CreateTopic", params: []string{"topicName", "rt", "maxMsgSize", "1024", "filterType", "2"},
			want: `{` + ok + `,"topicId":"<topicId>"}`},
		{name: "create exists", action: "CreateTopic", params: []string{"topicName", "t1"},
			want: errJSON(4460, 10550, "topic is already existed")},
		{name: "create exists other case", action: "CreateTopic", params: []string{"topicName", "T1"},
			want: errJSON(4460, 10550, "topic is already existed")},
		{name: "create same name other namespace", acct: b, action: "CreateTopic", params: []string{"topicName", "t1"},
			want: `{` + ok + `,"topicId":"<topicId>"}`},
		{name: "create missing name", action: "CreateTopic",
			want: errJSON(4000, 10390, "lacked of required parameter topicName")},
		{name: "create bad name", action: "CreateTopic", params: []string{"topicName", "1abc"},
			want: errJSON(4000, 10590, "topic name format error")},
		{name: "create bad filterType", action: "CreateTopic", params: []string{"topicName", "t2", "filterType", "3"},
			want: errJSON(4000, 10350, "parameter value or length is out of range: filterType must be 1 or 2")},
		{name: "create huge filterType", action: "CreateTopic", params: []string{"topicName", "t2", "filterType", "4294967297"},
			want: errJSON(4000, 10350, "parameter value or length is out of range: filterType must be 1 or 2")},
		{name: "create bad maxMsgSize type", action: "CreateTopic", params: []string{"topicName", "t2", "maxMsgSize", "64k"},
			want: errJSON(4000, 10360, "parameter maxMsgSize error type: must be an integer")},
		{name: "create maxMsgSize out of range", action: "CreateTopic", params: []string{"topicName", "t2", "maxMsgSize", "1023"},
			want: errJSON(4000, 10350, "parameter value or length is out of range: maxMsgSize must be 1024-1048576")},

		// ListTopic
		{name: "list", action: "ListTopic",
			want: `{` + ok + `,"totalCount":2,"topicList":[{"topicId":"<topicId>","topicName":"t1"},{"topicId":"<topicId>","topicName":"rt"}]}`},
		{name: "list search offset limit", action: "ListTopic", params: []string{"searchWord", "T", "offset", "1", "limit", "1"},
			want: `{` + ok + `,"totalCount":2,"topicList":[{"topicId":"<topicId>","topicName":"rt"}]}`},
		{name: "list search none", action: "ListTopic", params: []string{"searchWord", "zz"},
			want: `{` + ok + `,"totalCount":0,"topicList":[]}`},
		{name: "list other namespace", acct: b, action: "ListTopic",
			want: `{` + ok + `,"totalCount":1,"topicList":[{"topicId":"<topicId>","topicName":"t1"}]}`},
		{name: "list bad limit", action: "ListTopic", params: []string{"limit", "x"},
			want: errJSON(4000, 10360, "parameter limit error type: must be an integer")},
		{name: "list limit too big", action: "ListTopic", params: []string{"limit", "1001"},
			want: errJSON(4000, 10350, "parameter value or length is out of range: offset must be >= 0 and limit 0-1000")},

		// GetTopicAttributes
		{name: "get", action: "GetTopicAttributes", params: []string{"topicName", "t1"},
			want: `{` + ok + `,"topicId":"<topicId>","topicName":"t1","msgCount":0,"maxMsgSize":65536,"msgRetentionSeconds":86400,"createTime":1700000000,"lastModifyTime":1700000000,"filterType":1}`},
		{name: "get routing topic", action: "GetTopicAttributes", params: []string{"topicName", "rt"},
			want: `{` + ok + `,"topicId":"<topicId>","topicName":"rt","msgCount":0,"maxMsgSize":1024,"msgRetentionSeconds":86400,"createTime":1700000000,"lastModifyTime":1700000000,"filterType":2}`},
		{name: "get unknown", action: "GetTopicAttributes", params: []string{"topicName", "nosuch"}, want: notExist},
		{name: "get missing name", action: "GetTopicAttributes",
			want: errJSON(4000, 10390, "lacked of required parameter topicName")},
		{name: "get other namespace", acct: b, action: "GetTopicAttributes", params: []string{"topicName", "rt"}, want: notExist},

		// SetTopicAttributes
		{name: "set", action: "SetTopicAttributes", params: []string{"topicName", "t1", "maxMsgSize", "2048"},
			before: func(e *testEnv) { e.clock.Advance(10 * time.Second) },
			want:   `{` + ok + `}`},
		{name: "get after set", action: "GetTopicAttributes", params: []string{"topicName", "t1"},
			want: `{` + ok + `,"topicId":"<topicId>","topicName":"t1","msgCount":0,"maxMsgSize":2048,"msgRetentionSeconds":86400,"createTime":1700000000,"lastModifyTime":1700000010,"filterType":1}`},
		{name: "set out of range", action: "SetTopicAttributes", params: []string{"topicName", "t1", "maxMsgSize", "1048577"},
			want: errJSON(4000, 10350, "parameter value or length is out of range: maxMsgSize must be 1024-1048576")},
		{name: "set bad type", action: "SetTopicAttributes", params: []string{"topicName", "t1", "maxMsgSize", "big"},
			want: errJSON(4000, 10360, "parameter maxMsgSize error type: must be an integer")},
		{name: "set nothing", action: "SetTopicAttributes", params: []string{"topicName", "t1"},
			want: `{` + ok + `}`},
		{name: "set nothing unknown", action: "SetTopicAttributes", params: []string{"topicName", "nosuch"}, want: notExist},
		{name: "set unknown", action: "SetTopicAttributes", params: []string{"topicName", "nosuch", "maxMsgSize", "2048"}, want: notExist},
		{name: "set other namespace", acct: b, action: "SetTopicAttributes", params: []string{"topicName", "rt", "maxMsgSize", "2048"}, want: notExist},

		// QueryTopicRoute
		{name: "route", action: "QueryTopicRoute", params: []string{"topicName", "t1"},
			want: `{` + ok + `,"addr":[]}`},
		{name: "route unknown", action: "QueryTopicRoute", params: []string{"topicName", "nosuch"}, want: notExist},

		// DeleteTopic (with subscriptions: TestGoldenSubscriptionActions)
		{name: "delete", action: "DeleteTopic", params: []string{"topicName", "rt"},
			want: `{` + ok + `}`},
		{name: "delete again", action: "DeleteTopic", params: []string{"topicName", "rt"}, want: notExist},
		{name: "delete other namespace", acct: b, action: "DeleteTopic", params: []string{"topicName", "rt"}, want: notExist},
		{name: "delete missing name", action: "DeleteTopic",
			want: errJSON(4000, 10390, "lacked of required parameter topicName")},
		{name: "list after delete", action: "ListTopic",
			want: `{` + ok + `,"totalCount":1,"topicList":[{"topicId":"<topicId>","topicName":"t1"}]}`},
		{name: "B's topic untouched", acct: b, action: "GetTopicAttributes", params: []string{"topicName", "t1"},
			want: `{` + ok + `,"topicId":"<topicId>","topicName":"t1","msgCount":0,"maxMsgSize":65536,"msgRetentionSeconds":86400,"createTime":1700000000,"lastModifyTime":1700000000,"filterType":1}`},
	})
}

func TestGoldenSubscriptionActions(t *testing.T) {
	e := newEnv(t, nil)
	for _, q := range []string{"qa", "qb", "qc"} {
		e.mustCreate("ns-a", q, nil)
	}
	ctx := context.Background()
	if _, err := e.eng.CreateTopic(ctx, "ns-a", "t1", defaultTopic(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.CreateTopic(ctx, "ns-a", "rt", defaultTopic(2)); err != nil {
		t.Fatal(err)
	}
	b := &accountB
	noTopic := errJSON(4440, 10600, "topic is not existed, or deleted")
	noSub := errJSON(4440, 10601, "subscription is not existed, or deleted")
	sub := func(name string, kv ...string) []string {
		return append([]string{"topicName", "t1", "subscriptionName", name}, kv...)
	}
	six := func(prefix string) []string {
		ps := sub("six", "protocol", "queue", "endpoint", "qa")
		for i := 1; i <= 6; i++ {
			ps = append(ps, fmt.Sprintf("%s.%d", prefix, i), fmt.Sprintf("v%d", i))
		}
		return ps
	}
	const (
		expo = "EXPONENTIAL_DECAY_RETRY"
		back = "BACKOFF_RETRY"
		simp = "SIMPLIFIED"
	)
	runScript(t, e, []step{
		// Subscribe
		{name: "subscribe queue", action: "Subscribe", params: sub("all", "protocol", "queue", "endpoint", "qa", "notifyContentFormat", "SIMPLIFIED"),
			want: `{` + ok + `,"subscriptionId":"<subscriptionId>"}`},
		{name: "subscribe queue 1-based tags (JAVA, PY), protocol any case", action: "Subscribe",
			params: sub("redblue", "protocol", "QUEUE", "endpoint", "qb", "notifyStrategy", "BACKOFF_RETRY", "filterTag.1", "red", "filterTag.2", "blue"),
			want:   `{` + ok + `,"subscriptionId":"<subscriptionId>"}`},
		{name: "subscribe queue 0-based tags (CPP, TGO)", action: "Subscribe",
			params: sub("green", "protocol", "queue", "endpoint", "qc", "filterTag.0", "green", "notifyStrategy", "exponential_decay_retry"),
			want:   `{` + ok + `,"subscriptionId":"<subscriptionId>"}`},
		{name: "subscribe http", action: "Subscribe",
			params: sub("web", "protocol", "http", "endpoint", "http://push.example.com/cmq?x=1", "notifyStrategy", "BACKOFF_RETRY", "notifyContentFormat", "JSON"),
			want:   `{` + ok + `,"subscriptionId":"<subscriptionId>"}`},
		{name: "subscribe routing", action: "Subscribe",
			params: []string{"topicName", "rt", "subscriptionName", "keys", "protocol", "queue", "endpoint", "qa", "bindingKey.1", "a.*", "bindingKey.2", "#.z"},
			want:   `{` + ok + `,"subscriptionId":"<subscriptionId>"}`},
		{name: "subscribe exists", action: "Subscribe", params: sub("ALL", "protocol", "queue", "endpoint", "qa"),
			want: errJSON(4490, 10470, "subscription is already existed")},
		{name: "subscribe queue as JSON (PY default)", action: "Subscribe", params: sub("s2", "protocol", "queue", "endpoint", "qa", "notifyContentFormat", "JSON"),
			want: errJSON(4000, 10640, "notifyContentFormat of protocol queue must be SIMPLIFIED")},
		{name: "subscribe missing protocol", action: "Subscribe", params: sub("s2", "endpoint", "qa"),
			want: errJSON(4000, 10390, "lacked of required parameter protocol")},
		{name: "subscribe missing endpoint", action: "Subscribe", params: sub("s2", "protocol", "queue"),
			want: errJSON(4000, 10390, "lacked of required parameter endpoint")},
		{name: "subscribe missing subscriptionName", action: "Subscribe", params: []string{"topicName", "t1", "protocol", "queue", "endpoint", "qa"},
			want: errJSON(4000, 10390, "lacked of required parameter subscriptionName")},
		{name: "subscribe bad protocol", action: "Subscribe", params: sub("s2", "protocol", "smtp", "endpoint", "qa"),
			want: errJSON(4000, 10510, "undefined protocol")},
		{name: "subscribe bad strategy", action: "Subscribe", params: sub("s2", "protocol", "queue", "endpoint", "qa", "notifyStrategy", "SOMETIMES"),
			want: errJSON(4000, 10520, "undefined notify retry strategy")},
		{name: "subscribe bad format", action: "Subscribe", params: sub("s2", "protocol", "http", "endpoint", "http://h/", "notifyContentFormat", "XML"),
			want: errJSON(4000, 10530, "undefined notify content format")},
		{name: "subscribe bad endpoint", action: "Subscribe", params: sub("s2", "protocol", "http", "endpoint", "ftp://h/"),
			want: errJSON(4000, 10500, "endpoint format error: endpoint must be an http:// or https:// URL")},
		{name: "subscribe endpoint with blank", action: "Subscribe", params: sub("s2", "protocol", "http", "endpoint", "http://h/a b"),
			want: errJSON(4510, 10570, "endpoint contains blanks")},
		{name: "subscribe bad queue endpoint", action: "Subscribe", params: sub("s2", "protocol", "queue", "endpoint", "no/such"),
			want: errJSON(4000, 10500, "endpoint format error: a queue subscription's endpoint is a queue name")},
		{name: "subscribe bad name", action: "Subscribe", params: sub("-s", "protocol", "queue", "endpoint", "qa"),
			want: errJSON(4000, 10620, "subscription name format error")},
		{name: "subscribe 6 filterTags", action: "Subscribe", params: six("filterTag"),
			want: errJSON(4000, 10490, "number of filterTag exceed limit (max 5)")},
		{name: "subscribe 6 bindingKeys", action: "Subscribe", params: six("bindingKey"),
			want: errJSON(4000, 10680, "too many bindingKey (max 5)")},
		{name: "subscribe filterTag gap", action: "Subscribe", params: sub("s2", "protocol", "queue", "endpoint", "qa", "filterTag.1", "a", "filterTag.3", "b"),
			want: errJSON(4000, 10380, "filterTag.n parameter is not consequent: indexes must run 0..n-1 or 1..n")},
		{name: "subscribe filterTag bad index", action: "Subscribe", params: sub("s2", "protocol", "queue", "endpoint", "qa", "filterTag.one", "a"),
			want: errJSON(4000, 10310, "parameter filterTag.one key format error")},
		{name: "subscribe long tag", action: "Subscribe", params: sub("s2", "protocol", "queue", "endpoint", "qa", "filterTag.1", "seventeen-chars-x"),
			want: errJSON(4000, 10693, `tag format error: 1-16 characters, UTF-8 without control characters: \"seventeen-chars-x\"`)},
		{name: "subscribe bad bindingKey", action: "Subscribe", params: sub("s2", "protocol", "queue", "endpoint", "qa", "bindingKey.1", strings.Repeat("a.", 16)+"a"),
			want: errJSON(4000, 10692, `bindingKey format error: at most 64 bytes and 15 dots, UTF-8 without control characters: \"`+strings.Repeat("a.", 16)+`a\"`)},
		{name: "subscribe unknown topic", action: "Subscribe", params: []string{"topicName", "nosuch", "subscriptionName", "s", "protocol", "queue", "endpoint", "qa"},
			want: noTopic},
		{name: "subscribe other namespace", acct: b, action: "Subscribe", params: sub("s", "protocol", "queue", "endpoint", "qa"),
			want: noTopic},

		// ListSubscriptionByTopic
		{name: "list", action: "ListSubscriptionByTopic", params: []string{"topicName", "t1"},
			want: `{` + ok + `,"totalCount":4,"subscriptionList":[` +
				`{"subscriptionId":"<subscriptionId>","subscriptionName":"all","protocol":"queue","endpoint":"qa"},` +
				`{"subscriptionId":"<subscriptionId>","subscriptionName":"redblue","protocol":"queue","endpoint":"qb"},` +
				`{"subscriptionId":"<subscriptionId>","subscriptionName":"green","protocol":"queue","endpoint":"qc"},` +
				`{"subscriptionId":"<subscriptionId>","subscriptionName":"web","protocol":"http","endpoint":"http://push.example.com/cmq?x=1"}]}`},
		{name: "list search offset limit", action: "ListSubscriptionByTopic", params: []string{"topicName", "t1", "searchWord", "E", "offset", "1", "limit", "1"},
			want: `{` + ok + `,"totalCount":3,"subscriptionList":[{"subscriptionId":"<subscriptionId>","subscriptionName":"green","protocol":"queue","endpoint":"qc"}]}`},
		{name: "list limit 100", action: "ListSubscriptionByTopic", params: []string{"topicName", "rt", "limit", "100"},
			want: `{` + ok + `,"totalCount":1,"subscriptionList":[{"subscriptionId":"<subscriptionId>","subscriptionName":"keys","protocol":"queue","endpoint":"qa"}]}`},
		{name: "list limit 101", action: "ListSubscriptionByTopic", params: []string{"topicName", "t1", "limit", "101"},
			want: errJSON(4000, 10350, "parameter limit value or length is out of range: must be 0-100")},
		{name: "list negative offset", action: "ListSubscriptionByTopic", params: []string{"topicName", "t1", "offset", "-1"},
			want: errJSON(4000, 10350, "parameter offset value or length is out of range: must be >= 0")},
		{name: "list missing topic", action: "ListSubscriptionByTopic",
			want: errJSON(4000, 10390, "lacked of required parameter topicName")},
		{name: "list unknown topic", action: "ListSubscriptionByTopic", params: []string{"topicName", "nosuch"}, want: noTopic},
		{name: "list other namespace", acct: b, action: "ListSubscriptionByTopic", params: []string{"topicName", "t1"}, want: noTopic},

		// GetSubscriptionAttributes
		{name: "get queue", action: "GetSubscriptionAttributes", params: sub("all"),
			want: subAttrs("queue", "qa", expo, simp, `[]`, `[]`, 0, 1700000000, 0)},
		{name: "get tags", action: "GetSubscriptionAttributes", params: sub("redblue"),
			want: subAttrs("queue", "qb", back, simp, `["red","blue"]`, `[]`, 0, 1700000000, 0)},
		{name: "get 0-based tags, name in other case", action: "GetSubscriptionAttributes", params: sub("GREEN"),
			want: subAttrs("queue", "qc", expo, simp, `["green"]`, `[]`, 0, 1700000000, 0)},
		{name: "get http", action: "GetSubscriptionAttributes", params: sub("web"),
			want: subAttrs("http", "http://push.example.com/cmq?x=1", back, "JSON", `[]`, `[]`, 0, 1700000000, 0)},
		{name: "get binding keys", action: "GetSubscriptionAttributes", params: []string{"topicName", "rt", "subscriptionName", "keys"},
			want: subAttrs("queue", "qa", expo, simp, `[]`, `["a.*","#.z"]`, 0, 1700000000, 0)},
		{name: "get unknown", action: "GetSubscriptionAttributes", params: sub("nosuch"), want: noSub},
		{name: "get unknown topic", action: "GetSubscriptionAttributes", params: []string{"topicName", "nosuch", "subscriptionName", "all"}, want: noTopic},
		{name: "get missing subscriptionName", action: "GetSubscriptionAttributes", params: []string{"topicName", "t1"},
			want: errJSON(4000, 10390, "lacked of required parameter subscriptionName")},
		{name: "get other namespace", acct: b, action: "GetSubscriptionAttributes", params: sub("all"), want: noTopic},

		// SetSubscriptionAttributes: only what is given changes; given lists replace.
		{name: "set strategy", action: "SetSubscriptionAttributes", params: sub("all", "notifyStrategy", "BACKOFF_RETRY"),
			before: func(e *testEnv) { e.clock.Advance(10 * time.Second) },
			want:   `{` + ok + `}`},
		{name: "get after set strategy", action: "GetSubscriptionAttributes", params: sub("all"),
			want: subAttrs("queue", "qa", back, simp, `[]`, `[]`, 0, 1700000010, 0)},
		{name: "set tags replace (CPP sends strategy and format too)", action: "SetSubscriptionAttributes",
			params: sub("redblue", "notifyStrategy", "BACKOFF_RETRY", "notifyContentFormat", "SIMPLIFIED", "filterTag.0", "yellow"),
			want:   `{` + ok + `}`},
		{name: "get after set tags", action: "GetSubscriptionAttributes", params: sub("redblue"),
			want: subAttrs("queue", "qb", back, simp, `["yellow"]`, `[]`, 0, 1700000010, 0)},
		{name: "set nothing", action: "SetSubscriptionAttributes", params: sub("redblue"),
			want: `{` + ok + `}`},
		{name: "get after set nothing", action: "GetSubscriptionAttributes", params: sub("redblue"),
			want: subAttrs("queue", "qb", back, simp, `["yellow"]`, `[]`, 0, 1700000010, 0)},
		{name: "set binding keys replace", action: "SetSubscriptionAttributes", params: []string{"topicName", "rt", "subscriptionName", "keys", "bindingKey.1", "#"},
			want: `{` + ok + `}`},
		{name: "get after set binding keys", action: "GetSubscriptionAttributes", params: []string{"topicName", "rt", "subscriptionName", "keys"},
			want: subAttrs("queue", "qa", expo, simp, `[]`, `["#"]`, 0, 1700000010, 0)},
		{name: "set http format", action: "SetSubscriptionAttributes", params: sub("web", "notifyContentFormat", "simplified"),
			want: `{` + ok + `}`},
		{name: "set queue to JSON", action: "SetSubscriptionAttributes", params: sub("all", "notifyContentFormat", "JSON"),
			want: errJSON(4000, 10640, "notifyContentFormat of protocol queue must be SIMPLIFIED")},
		{name: "set bad strategy", action: "SetSubscriptionAttributes", params: sub("all", "notifyStrategy", "NEVER"),
			want: errJSON(4000, 10520, "undefined notify retry strategy")},
		{name: "set 6 tags", action: "SetSubscriptionAttributes", params: append(sub("all"), "filterTag.1", "a", "filterTag.2", "b", "filterTag.3", "c", "filterTag.4", "d", "filterTag.5", "e", "filterTag.6", "f"),
			want: errJSON(4000, 10490, "number of filterTag exceed limit (max 5)")},
		{name: "set unknown", action: "SetSubscriptionAttributes", params: sub("nosuch", "notifyStrategy", "BACKOFF_RETRY"), want: noSub},
		{name: "set other namespace", acct: b, action: "SetSubscriptionAttributes", params: sub("all", "notifyStrategy", "BACKOFF_RETRY"), want: noTopic},

		// ClearSubscriptionFilterTags, under JAVA's misspelt action name too.
		{name: "clear tags (JAVA spelling)", action: "ClearSUbscriptionFIlterTags", params: sub("redblue"),
			want: `{` + ok + `}`},
		{name: "get after clear", action: "GetSubscriptionAttributes", params: sub("redblue"),
			want: subAttrs("queue", "qb", back, simp, `[]`, `[]`, 0, 1700000010, 0)},
		{name: "clear tags", action: "ClearSubscriptionFilterTags", params: sub("green"),
			want: `{` + ok + `}`},
		{name: "clear unknown", action: "ClearSubscriptionFilterTags", params: sub("nosuch"), want: noSub},
		{name: "clear unknown topic", action: "ClearSubscriptionFilterTags", params: []string{"topicName", "nosuch", "subscriptionName", "all"}, want: noTopic},

		// DeleteTopic with subscriptions; Unsubscribe.
		{name: "delete topic with subscriptions", action: "DeleteTopic", params: []string{"topicName", "t1"},
			want: errJSON(4000, 10540, "there exists subscriptions under this topic")},
		{name: "unsubscribe other namespace", acct: b, action: "Unsubscribe", params: sub("all"), want: noTopic},
		{name: "unsubscribe", action: "Unsubscribe", params: sub("all"), want: `{` + ok + `}`},
		{name: "unsubscribe again", action: "Unsubscribe", params: sub("all"), want: noSub},
		{name: "unsubscribe missing name", action: "Unsubscribe", params: []string{"topicName", "t1"},
			want: errJSON(4000, 10390, "lacked of required parameter subscriptionName")},
		{name: "unsubscribe redblue", action: "Unsubscribe", params: sub("redblue"), want: `{` + ok + `}`},
		{name: "unsubscribe green", action: "Unsubscribe", params: sub("green"), want: `{` + ok + `}`},
		{name: "unsubscribe web", action: "Unsubscribe", params: sub("web"), want: `{` + ok + `}`},
		{name: "list after unsubscribe", action: "ListSubscriptionByTopic", params: []string{"topicName", "t1"},
			want: `{` + ok + `,"totalCount":0,"subscriptionList":[]}`},
		{name: "delete topic", action: "DeleteTopic", params: []string{"topicName", "t1"}, want: `{` + ok + `}`},
		{name: "unsubscribe deleted topic", action: "Unsubscribe", params: sub("all"), want: noTopic},
	})
}

func TestGoldenPublishActions(t *testing.T) {
	e := newEnv(t, nil)
	for _, q := range []string{"qa", "qb", "qc", "qk"} {
		e.mustCreate("ns-a", q, nil)
	}
	ctx := context.Background()
	small := defaultTopic(1)
	small.MaxMsgSize = 1024
	for name, a := range map[string]topicAttrs{"t1": defaultTopic(1), "rt": defaultTopic(2), "small": small, "empty": defaultTopic(1)} {
		if _, err := e.eng.CreateTopic(ctx, "ns-a", name, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []subSpec{
		{"t1", "all", "queue", "qa", nil, nil},
		{"t1", "redblue", "queue", "qb", []string{"red", "blue"}, nil},
		{"t1", "web", "http", "http://push.example.com/", []string{"green"}, nil},
		{"rt", "keys", "queue", "qk", nil, []string{"a.*", "#.z"}},
		{"small", "s", "queue", "qc", nil, nil},
	} {
		e.subscribe(s)
	}
	b := &accountB
	noTopic := errJSON(4440, 10600, "topic is not existed, or deleted")
	pub := func(topic string, kv ...string) []string { return append([]string{"topicName", topic}, kv...) }
	sixteen := func(start int) []string {
		ps := pub("t1")
		for i := 0; i < 16; i++ {
			ps = append(ps, fmt.Sprintf("msgBody.%d", start+i), fmt.Sprintf("m%d", i))
		}
		return ps
	}
	msgList := func(n int) string {
		return `{` + ok + `,"msgList":[` + strings.TrimSuffix(strings.Repeat(`{"msgId":"<msgId>"},`, n), ",") + `]}`
	}
	published := `{` + ok + `,"msgId":"<msgId>"}`
	runScript(t, e, []step{
		// PublishMessage
		{name: "publish PY style (empty routingKey)", action: "PublishMessage", params: pub("t1", "msgBody", "plain", "routingKey", ""),
			want: published},
		{name: "publish JAVA style 1-based tags", action: "PublishMessage", params: pub("t1", "msgBody", "red one", "msgTag.1", "red", "msgTag.2", "x"),
			want: published},
		{name: "publish TGO style 0-based tags, empty routingKey", action: "PublishMessage", params: pub("t1", "msgBody", "green one", "msgTag.0", "green", "routingKey", ""),
			want: published},
		{name: "publish 6 tags", action: "PublishMessage", params: pub("t1", "msgBody", "x", "msgTag.1", "a", "msgTag.2", "b", "msgTag.3", "c", "msgTag.4", "d", "msgTag.5", "e", "msgTag.6", "f"),
			want: errJSON(4000, 10720, "too many msgTag (max 5)")},
		{name: "publish tag gap", action: "PublishMessage", params: pub("t1", "msgBody", "x", "msgTag.0", "a", "msgTag.2", "b"),
			want: errJSON(4000, 10380, "msgTag.n parameter is not consequent: indexes must run 0..n-1 or 1..n")},
		{name: "publish empty tag", action: "PublishMessage", params: pub("t1", "msgBody", "x", "msgTag.1", ""),
			want: errJSON(4000, 10693, `tag format error: 1-16 characters, UTF-8 without control characters: \"\"`)},
		{name: "publish missing body", action: "PublishMessage", params: pub("t1"),
			want: errJSON(4000, 10390, "lacked of required parameter msgBody")},
		{name: "publish empty body", action: "PublishMessage", params: pub("t1", "msgBody", ""),
			want: errJSON(4000, 10120, "message body can't be empty")},
		{name: "publish invalid utf8", action: "PublishMessage", params: pub("t1", "msgBody", "ab\xff"),
			want: errJSON(4000, 10110, "request parameters error: msgBody is not valid UTF-8 (at byte 2); message bodies are text, encode binary data (e.g. Base64)")},
		{name: "publish too large", action: "PublishMessage", params: pub("small", "msgBody", strings.Repeat("x", 1025)),
			want: errJSON(4400, 10230, "exceed maximum message size: 1025 bytes, maxMsgSize is 1024")},
		{name: "publish missing topic", action: "PublishMessage", params: []string{"msgBody", "x"},
			want: errJSON(4000, 10390, "lacked of required parameter topicName")},
		{name: "publish unknown topic", action: "PublishMessage", params: pub("nosuch", "msgBody", "x"), want: noTopic},
		{name: "publish other namespace", acct: b, action: "PublishMessage", params: pub("t1", "msgBody", "x"), want: noTopic},
		{name: "publish no subscription", action: "PublishMessage", params: pub("empty", "msgBody", "into the void"),
			want: published},
		{name: "publish routing a.b", action: "PublishMessage", params: pub("rt", "msgBody", "ab", "routingKey", "a.b"),
			want: published},
		{name: "publish routing x.y.z", action: "PublishMessage", params: pub("rt", "msgBody", "xyz", "routingKey", "x.y.z"),
			want: published},
		{name: "publish routing unmatched", action: "PublishMessage", params: pub("rt", "msgBody", "nope", "routingKey", "b.c"),
			want: published},
		{name: "publish routing wildcard", action: "PublishMessage", params: pub("rt", "msgBody", "x", "routingKey", "a.*"),
			want: errJSON(4000, 10691, "routingKey format error: at most 64 bytes, 15 dots, no wildcards, UTF-8 without control characters")},
		{name: "publish routing too many dots", action: "PublishMessage", params: pub("rt", "msgBody", "x", "routingKey", strings.Repeat("a.", 16)+"a"),
			want: errJSON(4000, 10691, "routingKey format error: at most 64 bytes, 15 dots, no wildcards, UTF-8 without control characters")},

		// BatchPublishMessage
		{name: "batch publish 1-based with tag", action: "BatchPublishMessage", params: pub("t1", "msgBody.1", "b1", "msgBody.2", "b2", "msgTag.1", "blue"),
			want: msgList(2)},
		{name: "batch publish 0-based (TGO) with green tag", action: "BatchPublishMessage", params: pub("t1", "msgBody.0", "g1", "msgBody.1", "g2", "msgTag.0", "green", "routingKey", ""),
			want: msgList(2)},
		{name: "batch publish routing", action: "BatchPublishMessage", params: pub("rt", "msgBody.1", "r1", "msgBody.2", "r2", "routingKey", "a.q"),
			want: msgList(2)},
		{name: "batch publish 16", action: "BatchPublishMessage", params: sixteen(1), want: msgList(16)},
		{name: "batch publish 17", action: "BatchPublishMessage", params: append(sixteen(0), "msgBody.16", "x"),
			want: errJSON(4000, 10370, "msgBody.n parameter batch size is out of range: 1-16")},
		{name: "batch publish none", action: "BatchPublishMessage", params: pub("t1", "msgBody", "x"),
			want: errJSON(4000, 10370, "msgBody.n parameter batch size is out of range: 1-16")},
		{name: "batch publish gap", action: "BatchPublishMessage", params: pub("t1", "msgBody.1", "a", "msgBody.3", "b"),
			want: errJSON(4000, 10380, "msgBody.n parameter is not consequent: indexes must run 0..n-1 or 1..n")},
		{name: "batch publish empty body", action: "BatchPublishMessage", params: pub("t1", "msgBody.1", "a", "msgBody.2", ""),
			want: errJSON(4000, 10120, "message body can't be empty")},
		{name: "batch publish 6 tags", action: "BatchPublishMessage", params: pub("t1", "msgBody.1", "a", "msgTag.1", "a", "msgTag.2", "b", "msgTag.3", "c", "msgTag.4", "d", "msgTag.5", "e", "msgTag.6", "f"),
			want: errJSON(4000, 10720, "too many msgTag (max 5)")},
		{name: "batch publish unknown topic", action: "BatchPublishMessage", params: pub("nosuch", "msgBody.1", "a"), want: noTopic},

		// Where the messages went: qa all of t1 (3 + 2 + 2 + 16), qb red and blue (1 + 2),
		// the HTTP subscription green (1 + 2, waiting: pushes are off), qk a.b, x.y.z, r1, r2.
		{name: "topic msgCount (pending pushes)", action: "GetTopicAttributes", params: pub("t1"),
			want: `{` + ok + `,"topicId":"<topicId>","topicName":"t1","msgCount":3,"maxMsgSize":65536,"msgRetentionSeconds":86400,"createTime":1700000000,"lastModifyTime":1700000000,"filterType":1}`},
		{name: "http subscription msgCount", action: "GetSubscriptionAttributes", params: pub("t1", "subscriptionName", "web"),
			want: subAttrs("http", "http://push.example.com/", expoRetry, "JSON", `["green"]`, `[]`, 3, 1700000000, 0)},
	})
	for q, want := range map[string]string{
		"qa": "plain,red one,green one,b1,b2,g1,g2," + strings.Join(seq("m", 16), ","),
		"qb": "red one,b1,b2",
		"qk": "ab,xyz,r1,r2",
		"qc": "",
	} {
		if got := strings.Join(e.drain("ns-a", q), ","); got != want {
			t.Errorf("queue %s holds %q, want %q", q, got, want)
		}
	}
}

// TestTopicNamespaceIsolation: another account's topics do not exist for an account, and a
// queue subscription names a queue of the topic's own namespace only.
func TestTopicNamespaceIsolation(t *testing.T) {
	e := newEnv(t, nil)
	e.mustCreate("ns-b", "bq", nil) // only B has a queue "bq"
	e.mustCreate("ns-a", "aq", nil)
	a, b := e.client(accountA), e.client(accountB)
	wantCode(t, a.do("CreateTopic", "topicName", "news"), 0, 0)
	for _, call := range [][]string{
		{"GetTopicAttributes", "topicName", "news"},
		{"SetTopicAttributes", "topicName", "news", "maxMsgSize", "2048"},
		{"PublishMessage", "topicName", "news", "msgBody", "x"},
		{"BatchPublishMessage", "topicName", "news", "msgBody.1", "x"},
		{"Subscribe", "topicName", "news", "subscriptionName", "s", "protocol", "queue", "endpoint", "bq"},
		{"ListSubscriptionByTopic", "topicName", "news"},
		{"QueryTopicRoute", "topicName", "news"},
		{"DeleteTopic", "topicName", "news"},
	} {
		wantCode(t, b.do(call[0], call[1:]...), 4440, 10600)
	}
	if got := b.do("ListTopic"); code(got) != 0 || lookup(got, "totalCount").(fmt.Stringer).String() != "0" {
		t.Fatalf("B lists %v", got)
	}
	// A subscribes its topic to "bq": the name resolves in A's namespace, where there is no
	// such queue; the copies are counted as undeliverable, B's queue gets nothing.
	wantCode(t, a.do("Subscribe", "topicName", "news", "subscriptionName", "tob", "protocol", "queue", "endpoint", "bq"), 0, 0)
	wantCode(t, a.do("Subscribe", "topicName", "news", "subscriptionName", "toa", "protocol", "queue", "endpoint", "aq"), 0, 0)
	wantCode(t, a.do("PublishMessage", "topicName", "news", "msgBody", "secret"), 0, 0)
	if got := e.drain("ns-b", "bq"); len(got) != 0 {
		t.Fatalf("B's queue received %q", got)
	}
	if got := e.drain("ns-a", "aq"); len(got) != 1 || got[0] != "secret" {
		t.Fatalf("A's queue holds %q", got)
	}
	got := a.do("GetSubscriptionAttributes", "topicName", "news", "subscriptionName", "tob")
	if lookup(got, "undeliverableCount").(fmt.Stringer).String() != "1" || got["topicOwner"] != "ns-a" {
		t.Fatalf("subscription to a foreign queue name: %v", got)
	}
	// B's own topic of the same name is separate.
	wantCode(t, b.do("CreateTopic", "topicName", "news"), 0, 0)
	wantCode(t, b.do("Subscribe", "topicName", "news", "subscriptionName", "s", "protocol", "queue", "endpoint", "bq"), 0, 0)
	wantCode(t, b.do("PublishMessage", "topicName", "news", "msgBody", "for b"), 0, 0)
	if got := e.drain("ns-b", "bq"); len(got) != 1 || got[0] != "for b" {
		t.Fatalf("B's queue holds %q", got)
	}
	if got := e.drain("ns-a", "aq"); len(got) != 0 {
		t.Fatalf("A's queue received %q", got)
	}
}

const expoRetry = "EXPONENTIAL_DECAY_RETRY"

type topicAttrs = engine.TopicAttributes

// defaultTopic returns CMQ's default topic attributes with the given filter type.
func defaultTopic(filterType int) topicAttrs {
	a := engine.DefaultTopicAttributes()
	a.FilterType = filterType
	return a
}

// subSpec is a subscription made straight in the engine (namespace ns-a).
type subSpec struct {
	topic, name, protocol, endpoint string
	tags, keys                      []string
}

func (e *testEnv) subscribe(s subSpec) {
	e.t.Helper()
	_, err := e.eng.Subscribe(context.Background(), "ns-a", s.topic, engine.SubscriptionConfig{
		Name: s.name, Protocol: s.protocol, Endpoint: s.endpoint, FilterTags: s.tags, BindingKeys: s.keys})
	if err != nil {
		e.t.Fatal(err)
	}
}

// drain receives and deletes every visible message of a queue (bounded) and returns the
// bodies in order.
func (e *testEnv) drain(ns, queue string) []string {
	e.t.Helper()
	ctx := context.Background()
	var bodies []string
	for range 100 {
		ms, err := e.eng.ReceiveMessage(ctx, ns, queue, 16, 0)
		if errors.Is(err, engine.ErrNoMessage) || (err == nil && len(ms) == 0) {
			return bodies
		}
		if err != nil {
			e.t.Fatal(err)
		}
		handles := make([]string, len(ms))
		for i, m := range ms {
			bodies = append(bodies, string(m.Body))
			handles[i] = m.ReceiptHandle
		}
		if _, err := e.eng.BatchDeleteMessage(ctx, ns, queue, handles); err != nil {
			e.t.Fatal(err)
		}
	}
	e.t.Fatalf("queue %s/%s did not drain", ns, queue)
	return nil
}

// seq returns prefix0 … prefix(n-1).
func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}
