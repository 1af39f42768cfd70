package httpapi

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// step is one request of a golden script: params may refer to values saved by earlier
// steps as $name.
type step struct {
	name   string
	acct   *Account // default accountA
	action string
	params []string
	want   string            // expected JSON, after normalize
	save   map[string]string // $name → dotted path in the response
	before func(e *testEnv)
}

func runScript(t *testing.T, e *testEnv, steps []step) {
	t.Helper()
	vars := map[string]string{}
	clients := map[string]*client{}
	for i, st := range steps {
		acct := accountA
		if st.acct != nil {
			acct = *st.acct
		}
		c := clients[acct.SecretID]
		if c == nil {
			c = e.client(acct)
			clients[acct.SecretID] = c
		}
		if st.before != nil {
			st.before(e)
		}
		params := append([]string(nil), st.params...)
		for j := 1; j < len(params); j += 2 {
			for k, v := range vars {
				params[j] = strings.ReplaceAll(params[j], "$"+k, v)
			}
		}
		got := c.do(st.action, params...)
		t.Run(fmt.Sprintf("%02d_%s", i, st.name), func(t *testing.T) { wantJSON(t, got, st.want) })
		for k, path := range st.save {
			v := lookup(got, path)
			if v == nil {
				t.Fatalf("step %d (%s): nothing at %s to save", i, st.name, path)
			}
			vars[k] = fmt.Sprint(v)
		}
	}
}

const ok = `"code":0,"message":"","requestId":"<rid>"`

func TestGoldenQueueActions(t *testing.T) {
	e := newEnv(t, nil)
	b := &accountB
	runScript(t, e, []step{
		// CreateQueue
		{name: "create", action: "CreateQueue", params: []string{"queueName", "q1"},
			want: `{` + ok + `,"queueId":"<queueId>"}`},
		{name: "create PY style (all attributes)", action: "CreateQueue", params: []string{"queueName", "py",
			"pollingWaitSeconds", "0", "visibilityTimeout", "30", "maxMsgSize", "65536", "msgRetentionSeconds", "345600", "rewindSeconds", "0", "maxMsgHeapNum", "1000000"},
			want: `{` + ok + `,"queueId":"<queueId>"}`},
		{name: "create exists", action: "CreateQueue", params: []string{"queueName", "q1"},
			want: `{"code":4460,"message":"(10020)queue is already existed, case insensitive","requestId":"<rid>"}`},
		{name: "create exists other case", action: "CreateQueue", params: []string{"queueName", "Q1"},
			want: `{"code":4460,"message":"(10020)queue is already existed, case insensitive","requestId":"<rid>"}`},
		{name: "create same name other namespace", acct: b, action: "CreateQueue", params: []string{"queueName", "q1"},
			want: `{` + ok + `,"queueId":"<queueId>"}`},
		{name: "create missing name", action: "CreateQueue", params: nil,
			want: `{"code":4000,"message":"(10390)lacked of required parameter queueName","requestId":"<rid>"}`},
		{name: "create bad name", action: "CreateQueue", params: []string{"queueName", "1abc"},
			want: `{"code":4000,"message":"(10020)queue name format error","requestId":"<rid>"}`},
		{name: "create bad int", action: "CreateQueue", params: []string{"queueName", "q2", "maxMsgSize", "64k"},
			want: `{"code":4000,"message":"(10360)parameter maxMsgSize error type: must be an integer","requestId":"<rid>"}`},
		{name: "create out of range", action: "CreateQueue", params: []string{"queueName", "q2", "visibilityTimeout", "43201"},
			want: `{"code":4000,"message":"(10350)parameter value or length is out of range: visibilityTimeout must be 1-43200","requestId":"<rid>"}`},
		{name: "create huge int", action: "CreateQueue", params: []string{"queueName", "q2", "maxMsgSize", "99999999999999999999"},
			want: `{"code":4000,"message":"(10350)parameter maxMsgSize value or length is out of range: the value does not fit in 64 bits","requestId":"<rid>"}`},
		{name: "create small", action: "CreateQueue", params: []string{"queueName", "small", "maxMsgSize", "1024", "visibilityTimeout", "10"},
			want: `{` + ok + `,"queueId":"<queueId>"}`},
		{name: "create dlq", action: "CreateQueue", params: []string{"queueName", "dlq"},
			want: `{` + ok + `,"queueId":"<queueId>"}`},
		{name: "create bad policy json", action: "CreateQueue", params: []string{"queueName", "src", "deadLetterPolicy", "{nope"},
			want: `{"code":4000,"message":"(10710)deadLetterPolicy must be a json string","requestId":"<rid>"}`},
		{name: "create policy missing dlq", action: "CreateQueue", params: []string{"queueName", "src", "deadLetterPolicy", `{"deadLetterQueue":"nosuch","policy":0,"maxReceiveCount":3}`},
			want: `{"code":4000,"message":"(10730)deadLetter queue not exist","requestId":"<rid>"}`},
		{name: "create with policy", action: "CreateQueue", params: []string{"queueName", "src", "deadLetterPolicy", `{"deadLetterQueue":"dlq","policy":0,"maxReceiveCount":3}`},
			want: `{` + ok + `,"queueId":"<queueId>"}`},

		// ListQueue
		{name: "list", action: "ListQueue",
			want: `{` + ok + `,"totalCount":5,"queueList":[{"queueId":"<queueId>","queueName":"q1"},{"queueId":"<queueId>","queueName":"py"},{"queueId":"<queueId>","queueName":"small"},{"queueId":"<queueId>","queueName":"dlq"},{"queueId":"<queueId>","queueName":"src"}]}`},
		{name: "list search offset limit", action: "ListQueue", params: []string{"searchWord", "Q", "offset", "1", "limit", "1"},
			want: `{` + ok + `,"totalCount":2,"queueList":[{"queueId":"<queueId>","queueName":"dlq"}]}`},
		{name: "list other namespace", acct: b, action: "ListQueue",
			want: `{` + ok + `,"totalCount":1,"queueList":[{"queueId":"<queueId>","queueName":"q1"}]}`},
		{name: "list bad offset", action: "ListQueue", params: []string{"offset", "x"},
			want: `{"code":4000,"message":"(10360)parameter offset error type: must be an integer","requestId":"<rid>"}`},
		{name: "list limit too big", action: "ListQueue", params: []string{"limit", "1001"},
			want: `{"code":4000,"message":"(10350)parameter value or length is out of range: offset must be >= 0 and limit 0-1000","requestId":"<rid>"}`},
		{name: "list negative offset", action: "ListQueue", params: []string{"offset", "-1"},
			want: `{"code":4000,"message":"(10350)parameter offset value or length is out of range: must be >= 0","requestId":"<rid>"}`},

		// GetQueueAttributes
		{name: "get", action: "GetQueueAttributes", params: []string{"queueName", "q1"},
			want: `{` + ok + `,"queueId":"<queueId>","queueName":"q1","maxMsgHeapNum":100000000,"pollingWaitSeconds":0,"visibilityTimeout":30,"maxMsgSize":65536,"msgRetentionSeconds":345600,
				"createTime":1700000000,"lastModifyTime":1700000000,"activeMsgNum":0,"inactiveMsgNum":0,"delayMsgNum":0,"rewindSeconds":0,"rewindmsgNum":0,"rewindMsgNum":0,"minMsgTime":0}`},
		{name: "get with policy", action: "GetQueueAttributes", params: []string{"queueName", "src"},
			want: `{` + ok + `,"queueId":"<queueId>","queueName":"src","maxMsgHeapNum":100000000,"pollingWaitSeconds":0,"visibilityTimeout":30,"maxMsgSize":65536,"msgRetentionSeconds":345600,
				"createTime":1700000000,"lastModifyTime":1700000000,"activeMsgNum":0,"inactiveMsgNum":0,"delayMsgNum":0,"rewindSeconds":0,"rewindmsgNum":0,"rewindMsgNum":0,"minMsgTime":0,
				"deadLetterPolicy":"{\"deadLetterQueue\":\"dlq\",\"policy\":0,\"maxReceiveCount\":3}"}`},
		{name: "get unknown", action: "GetQueueAttributes", params: []string{"queueName", "nosuch"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},
		{name: "get other namespace", acct: b, action: "GetQueueAttributes", params: []string{"queueName", "small"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},
		{name: "get missing name", action: "GetQueueAttributes",
			want: `{"code":4000,"message":"(10390)lacked of required parameter queueName","requestId":"<rid>"}`},

		// SetQueueAttributes
		{name: "set some", action: "SetQueueAttributes", params: []string{"queueName", "q1", "visibilityTimeout", "60", "rewindSeconds", "3600"},
			before: func(e *testEnv) { e.clock.Advance(10 * time.Second) },
			want:   `{` + ok + `,"maxMsgHeapNum":100000000,"pollingWaitSeconds":0,"visibilityTimeout":60,"maxMsgSize":65536,"msgRetentionSeconds":345600,"rewindSeconds":3600}`},
		{name: "set empty policy leaves it", action: "SetQueueAttributes", params: []string{"queueName", "src", "deadLetterPolicy", "", "pollingWaitSeconds", "1"},
			want: `{` + ok + `,"maxMsgHeapNum":100000000,"pollingWaitSeconds":1,"visibilityTimeout":30,"maxMsgSize":65536,"msgRetentionSeconds":345600,"rewindSeconds":0,
				"deadLetterPolicy":"{\"deadLetterQueue\":\"dlq\",\"policy\":0,\"maxReceiveCount\":3}"}`},
		{name: "set policy", action: "SetQueueAttributes", params: []string{"queueName", "src", "deadLetterPolicy", `{"deadLetterQueue":"dlq","policy":1,"maxTimeToLive":300}`},
			want: `{` + ok + `,"maxMsgHeapNum":100000000,"pollingWaitSeconds":1,"visibilityTimeout":30,"maxMsgSize":65536,"msgRetentionSeconds":345600,"rewindSeconds":0,
				"deadLetterPolicy":"{\"deadLetterQueue\":\"dlq\",\"policy\":1,\"maxTimeToLive\":300}"}`},
		{name: "set bad policy", action: "SetQueueAttributes", params: []string{"queueName", "src", "deadLetterPolicy", `{"deadLetterQueue":"dlq","policy":7}`},
			want: `{"code":4000,"message":"(10720)deadLetterPolicy params error: deadLetterPolicy must have policy 0 or 1","requestId":"<rid>"}`},
		{name: "set out of range", action: "SetQueueAttributes", params: []string{"queueName", "q1", "pollingWaitSeconds", "31"},
			want: `{"code":4000,"message":"(10350)parameter value or length is out of range: pollingWaitSeconds must be 0-30","requestId":"<rid>"}`},
		{name: "set bad type", action: "SetQueueAttributes", params: []string{"queueName", "q1", "pollingWaitSeconds", "1.5"},
			want: `{"code":4000,"message":"(10360)parameter pollingWaitSeconds error type: must be an integer","requestId":"<rid>"}`},
		{name: "set unknown", action: "SetQueueAttributes", params: []string{"queueName", "nosuch", "pollingWaitSeconds", "1"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},
		{name: "get after set", action: "GetQueueAttributes", params: []string{"queueName", "q1"},
			want: `{` + ok + `,"queueId":"<queueId>","queueName":"q1","maxMsgHeapNum":100000000,"pollingWaitSeconds":0,"visibilityTimeout":60,"maxMsgSize":65536,"msgRetentionSeconds":345600,
				"createTime":1700000000,"lastModifyTime":1700000010,"activeMsgNum":0,"inactiveMsgNum":0,"delayMsgNum":0,"rewindSeconds":3600,"rewindmsgNum":0,"rewindMsgNum":0,"minMsgTime":0}`},

		// ListDeadLetterSourceQueues / UnbindDeadLetterQueue
		{name: "dl sources", action: "ListDeadLetterSourceQueues", params: []string{"deadLetterQueueName", "dlq"},
			want: `{` + ok + `,"totalCount":1,"queueList":[{"queueId":"<queueId>","queueName":"src"}]}`},
		{name: "dl sources missing param", action: "ListDeadLetterSourceQueues",
			want: `{"code":4000,"message":"(10390)lacked of required parameter deadLetterQueueName","requestId":"<rid>"}`},
		{name: "dl sources unknown", action: "ListDeadLetterSourceQueues", params: []string{"deadLetterQueueName", "nosuch"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},
		{name: "delete dlq refused", action: "DeleteQueue", params: []string{"queueName", "dlq"},
			want: `{"code":4000,"message":"(10750)queue is a dead letter queue, cannot be deleted","requestId":"<rid>"}`},
		{name: "unbind", action: "UnbindDeadLetterQueue", params: []string{"queueName", "src"},
			want: `{` + ok + `}`},
		{name: "dl sources after unbind", action: "ListDeadLetterSourceQueues", params: []string{"deadLetterQueueName", "dlq"},
			want: `{` + ok + `,"totalCount":0,"queueList":[]}`},
		{name: "unbind unknown", action: "UnbindDeadLetterQueue", params: []string{"queueName", "nosuch"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},

		// QueryQueueRoute
		{name: "route", action: "QueryQueueRoute", params: []string{"queueName", "q1"},
			want: `{` + ok + `,"addr":[]}`},
		{name: "route unknown", action: "QueryQueueRoute", params: []string{"queueName", "nosuch"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},

		// DeleteQueue
		{name: "delete", action: "DeleteQueue", params: []string{"queueName", "dlq"},
			want: `{` + ok + `}`},
		{name: "delete again", action: "DeleteQueue", params: []string{"queueName", "dlq"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},
		{name: "delete other namespace", acct: b, action: "DeleteQueue", params: []string{"queueName", "small"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},

		// Unknown and missing actions (topic actions: golden_topic_test.go)
		{name: "unknown action", action: "FlyToTheMoon",
			want: `{"code":4000,"message":"(10430)action name FlyToTheMoon is not existed","requestId":"<rid>"}`},
		{name: "missing action", action: "",
			want: `{"code":4000,"message":"(10390)lacked of required parameter Action","requestId":"<rid>"}`},
	})
}

func TestGoldenMessageActions(t *testing.T) {
	e := newEnv(t, nil)
	e.mustCreate("ns-a", "q", nil)
	e.mustCreate("ns-a", "other", nil)
	e.mustCreate("ns-a", "small", nil)
	e.mustCreate("ns-b", "q", nil)
	b := &accountB
	sixteen := func(start int) []string {
		ps := []string{"queueName", "q"}
		for i := 0; i < 16; i++ {
			ps = append(ps, fmt.Sprintf("msgBody.%d", start+i), fmt.Sprintf("m%d", i))
		}
		return ps
	}
	msg := func(body string, count int, next int64) string {
		return fmt.Sprintf(`"msgBody":%q,"msgId":"<msgId>","receiptHandle":"<handle>","enqueueTime":1700000000,"nextVisibleTime":%d,"firstDequeueTime":1700000000,"dequeueCount":%d`, body, next, count)
	}
	runScript(t, e, []step{
		// SendMessage
		{name: "send", action: "SendMessage", params: []string{"queueName", "q", "msgBody", "hello", "delaySeconds", "0"},
			want: `{` + ok + `,"msgId":"<msgId>"}`},
		{name: "send missing body", action: "SendMessage", params: []string{"queueName", "q"},
			want: `{"code":4000,"message":"(10390)lacked of required parameter msgBody","requestId":"<rid>"}`},
		{name: "send empty body", action: "SendMessage", params: []string{"queueName", "q", "msgBody", ""},
			want: `{"code":4000,"message":"(10120)message body can't be empty","requestId":"<rid>"}`},
		{name: "send invalid utf8", action: "SendMessage", params: []string{"queueName", "q", "msgBody", "ok\xff"},
			want: `{"code":4000,"message":"(10110)request parameters error: msgBody is not valid UTF-8 (at byte 2); message bodies are text, encode binary data (e.g. Base64)","requestId":"<rid>"}`},
		{name: "send bad delay", action: "SendMessage", params: []string{"queueName", "q", "msgBody", "x", "delaySeconds", "soon"},
			want: `{"code":4000,"message":"(10360)parameter delaySeconds error type: must be an integer","requestId":"<rid>"}`},
		{name: "send negative delay", action: "SendMessage", params: []string{"queueName", "q", "msgBody", "x", "delaySeconds", "-1"},
			want: `{"code":4000,"message":"(10350)parameter value or length is out of range: delaySeconds must be 0-345599","requestId":"<rid>"}`},
		{name: "send unknown queue", action: "SendMessage", params: []string{"queueName", "nosuch", "msgBody", "x"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},
		{name: "send too large", action: "SendMessage", params: []string{"queueName", "small", "msgBody", strings.Repeat("x", 65537)},
			want: `{"code":4400,"message":"(10230)exceed maximum message size: 65537 bytes, maxMsgSize is 65536","requestId":"<rid>"}`},
		{name: "send delayed", action: "SendMessage", params: []string{"queueName", "q", "msgBody", "later", "delaySeconds", "100"},
			want: `{` + ok + `,"msgId":"<msgId>"}`},
		{name: "get counts", action: "GetQueueAttributes", params: []string{"queueName", "q"},
			want: `{` + ok + `,"queueId":"<queueId>","queueName":"q","maxMsgHeapNum":100000000,"pollingWaitSeconds":0,"visibilityTimeout":30,"maxMsgSize":65536,"msgRetentionSeconds":345600,
				"createTime":1700000000,"lastModifyTime":1700000000,"activeMsgNum":1,"inactiveMsgNum":0,"delayMsgNum":1,"rewindSeconds":0,"rewindmsgNum":0,"rewindMsgNum":0,"minMsgTime":1700000000}`},

		// ReceiveMessage
		{name: "receive", action: "ReceiveMessage", params: []string{"queueName", "q", "pollingWaitSeconds", "0", "UserpollingWaitSeconds", "30"},
			want: `{` + ok + `,` + msg("hello", 1, 1700000030) + `}`, save: map[string]string{"h1": "receiptHandle"}},
		{name: "receive empty", action: "ReceiveMessage", params: []string{"queueName", "q", "pollingWaitSeconds", "0"},
			want: `{"code":7000,"message":"(10200)no message","requestId":"<rid>"}`},
		{name: "receive queue default wait", action: "ReceiveMessage", params: []string{"queueName", "q"},
			want: `{"code":7000,"message":"(10200)no message","requestId":"<rid>"}`},
		{name: "receive JAVA 30000", action: "ReceiveMessage", params: []string{"queueName", "q", "pollingWaitSeconds", "30000"},
			want: `{"code":4000,"message":"(10350)parameter pollingWaitSeconds value or length is out of range: must be 0-30","requestId":"<rid>"}`},
		{name: "receive negative wait", action: "ReceiveMessage", params: []string{"queueName", "q", "pollingWaitSeconds", "-1"},
			want: `{"code":4000,"message":"(10350)parameter pollingWaitSeconds value or length is out of range: must be 0-30","requestId":"<rid>"}`},
		{name: "receive bad wait", action: "ReceiveMessage", params: []string{"queueName", "q", "pollingWaitSeconds", "ten"},
			want: `{"code":4000,"message":"(10360)parameter pollingWaitSeconds error type: must be an integer","requestId":"<rid>"}`},
		{name: "receive unknown queue", action: "ReceiveMessage", params: []string{"queueName", "nosuch"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},
		{name: "receive other namespace empty", acct: b, action: "ReceiveMessage", params: []string{"queueName", "q", "pollingWaitSeconds", "0"},
			want: `{"code":7000,"message":"(10200)no message","requestId":"<rid>"}`},

		// ChangeMessageVisibility
		{name: "change visibility", action: "ChangeMessageVisibility", params: []string{"queueName", "q", "receiptHandle", "$h1", "visibilityTimeout", "100"},
			want: `{` + ok + `,"nextVisibleTime":1700000100}`},
		{name: "change visibility missing timeout", action: "ChangeMessageVisibility", params: []string{"queueName", "q", "receiptHandle", "$h1"},
			want: `{"code":4000,"message":"(10390)lacked of required parameter visibilityTimeout","requestId":"<rid>"}`},
		{name: "change visibility bad handle", action: "ChangeMessageVisibility", params: []string{"queueName", "q", "receiptHandle", "nonsense", "visibilityTimeout", "1"},
			want: `{"code":4430,"message":"(10260)receipt handle is invalid","requestId":"<rid>"}`},
		{name: "change visibility out of range", action: "ChangeMessageVisibility", params: []string{"queueName", "q", "receiptHandle", "$h1", "visibilityTimeout", "43201"},
			want: `{"code":4000,"message":"(10350)parameter value or length is out of range: visibilityTimeout must be 0-43200","requestId":"<rid>"}`},

		// DeleteMessage and its handle errors
		{name: "delete malformed handle", action: "DeleteMessage", params: []string{"queueName", "q", "receiptHandle", "283748239349283"},
			want: `{"code":4430,"message":"(10260)receipt handle is invalid","requestId":"<rid>"}`},
		{name: "delete wrong queue", action: "DeleteMessage", params: []string{"queueName", "other", "receiptHandle", "$h1"},
			want: `{"code":4430,"message":"(10261)receipt handle belongs to another queue","requestId":"<rid>"}`},
		{name: "delete other namespace", acct: b, action: "DeleteMessage", params: []string{"queueName", "q", "receiptHandle", "$h1"},
			want: `{"code":4430,"message":"(10261)receipt handle belongs to another queue","requestId":"<rid>"}`},
		{name: "delete missing handle", action: "DeleteMessage", params: []string{"queueName", "q"},
			want: `{"code":4000,"message":"(10390)lacked of required parameter receiptHandle","requestId":"<rid>"}`},
		{name: "delete", action: "DeleteMessage", params: []string{"queueName", "q", "receiptHandle", "$h1"},
			want: `{` + ok + `}`},
		{name: "delete deleted", action: "DeleteMessage", params: []string{"queueName", "q", "receiptHandle", "$h1"},
			want: `{"code":4430,"message":"(10263)message already deleted","requestId":"<rid>"}`},
		{name: "delete unknown queue", action: "DeleteMessage", params: []string{"queueName", "nosuch", "receiptHandle", "$h1"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},

		// BatchSendMessage
		{name: "batch send 0-based (TGO, NODE)", action: "BatchSendMessage", params: []string{"queueName", "q", "msgBody.0", "a", "msgBody.1", "b"},
			want: `{` + ok + `,"msgList":[{"msgId":"<msgId>"},{"msgId":"<msgId>"}]}`},
		{name: "batch send 1-based (PY, JAVA)", action: "BatchSendMessage", params: []string{"queueName", "q", "msgBody.1", "c", "msgBody.2", "d"},
			want: `{` + ok + `,"msgList":[{"msgId":"<msgId>"},{"msgId":"<msgId>"}]}`},
		{name: "batch send 16", action: "BatchSendMessage", params: sixteen(1),
			want: `{` + ok + `,"msgList":[` + strings.TrimSuffix(strings.Repeat(`{"msgId":"<msgId>"},`, 16), ",") + `]}`},
		{name: "batch send 17", action: "BatchSendMessage", params: append(sixteen(0), "msgBody.16", "x"),
			want: `{"code":4000,"message":"(10370)msgBody.n parameter batch size is out of range: 1-16","requestId":"<rid>"}`},
		{name: "batch send none", action: "BatchSendMessage", params: []string{"queueName", "q", "msgBody", "x"},
			want: `{"code":4000,"message":"(10370)msgBody.n parameter batch size is out of range: 1-16","requestId":"<rid>"}`},
		{name: "batch send gap", action: "BatchSendMessage", params: []string{"queueName", "q", "msgBody.1", "a", "msgBody.3", "b"},
			want: `{"code":4000,"message":"(10380)msgBody.n parameter is not consequent: indexes must run 0..n-1 or 1..n","requestId":"<rid>"}`},
		{name: "batch send from 2", action: "BatchSendMessage", params: []string{"queueName", "q", "msgBody.2", "a", "msgBody.3", "b"},
			want: `{"code":4000,"message":"(10380)msgBody.n parameter is not consequent: indexes must run 0..n-1 or 1..n","requestId":"<rid>"}`},
		{name: "batch send bad index", action: "BatchSendMessage", params: []string{"queueName", "q", "msgBody.1", "a", "msgBody.x", "b"},
			want: `{"code":4000,"message":"(10310)parameter msgBody.x key format error","requestId":"<rid>"}`},
		{name: "batch send repeated index", action: "BatchSendMessage", params: []string{"queueName", "q", "msgBody.1", "a", "msgBody.01", "b"},
			want: `{"code":4000,"message":"(10330)parameter msgBody.1 is NOT a repeatable parameter","requestId":"<rid>"}`},
		{name: "batch send empty body", action: "BatchSendMessage", params: []string{"queueName", "q", "msgBody.1", "a", "msgBody.2", ""},
			want: `{"code":4000,"message":"(10120)message body can't be empty","requestId":"<rid>"}`},
		{name: "batch send invalid utf8", action: "BatchSendMessage", params: []string{"queueName", "q", "msgBody.1", "a", "msgBody.2", "\xc3("},
			want: `{"code":4000,"message":"(10110)request parameters error: msgBody.2 is not valid UTF-8 (at byte 0); message bodies are text, encode binary data (e.g. Base64)","requestId":"<rid>"}`},
		{name: "batch send unknown queue", action: "BatchSendMessage", params: []string{"queueName", "nosuch", "msgBody.1", "a"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},

		// BatchReceiveMessage: a, b, c, d, m0..m15 are visible
		{name: "batch receive missing n", action: "BatchReceiveMessage", params: []string{"queueName", "q"},
			want: `{"code":4000,"message":"(10390)lacked of required parameter numOfMsg","requestId":"<rid>"}`},
		{name: "batch receive 0", action: "BatchReceiveMessage", params: []string{"queueName", "q", "numOfMsg", "0"},
			want: `{"code":4000,"message":"(10350)parameter numOfMsg value or length is out of range: must be 1-16","requestId":"<rid>"}`},
		{name: "batch receive 17", action: "BatchReceiveMessage", params: []string{"queueName", "q", "numOfMsg", "17"},
			want: `{"code":4000,"message":"(10350)parameter numOfMsg value or length is out of range: must be 1-16","requestId":"<rid>"}`},
		{name: "batch receive", action: "BatchReceiveMessage", params: []string{"queueName", "q", "numOfMsg", "3", "pollingWaitSeconds", "1"},
			want: `{` + ok + `,"msgInfoList":[{` + msg("a", 1, 1700000030) + `},{` + msg("b", 1, 1700000030) + `},{` + msg("c", 1, 1700000030) + `}]}`,
			save: map[string]string{"b1": "msgInfoList.0.receiptHandle", "b2": "msgInfoList.1.receiptHandle", "b3": "msgInfoList.2.receiptHandle"}},

		// BatchDeleteMessage
		{name: "batch delete partial", action: "BatchDeleteMessage", params: []string{"queueName", "q", "receiptHandle.0", "$b1", "receiptHandle.1", "garbage"},
			want: `{"code":6010,"message":"(10150)delete message partially failed","requestId":"<rid>","errorList":[{"code":4430,"message":"(10260)receipt handle is invalid","receiptHandle":"<handle>"}]}`},
		{name: "batch delete all failed", action: "BatchDeleteMessage", params: []string{"queueName", "q", "receiptHandle.1", "$b1", "receiptHandle.2", "garbage"},
			want: `{"code":6020,"message":"(10290)batch delete message failed","requestId":"<rid>","errorList":[{"code":4430,"message":"(10263)message already deleted","receiptHandle":"<handle>"},{"code":4430,"message":"(10260)receipt handle is invalid","receiptHandle":"<handle>"}]}`},
		{name: "batch delete", action: "BatchDeleteMessage", params: []string{"queueName", "q", "receiptHandle.1", "$b2", "receiptHandle.2", "$b3"},
			want: `{` + ok + `}`},
		{name: "batch delete gap", action: "BatchDeleteMessage", params: []string{"queueName", "q", "receiptHandle.0", "$b2", "receiptHandle.2", "$b3"},
			want: `{"code":4000,"message":"(10380)receiptHandle.n parameter is not consequent: indexes must run 0..n-1 or 1..n","requestId":"<rid>"}`},
		{name: "batch delete none", action: "BatchDeleteMessage", params: []string{"queueName", "q"},
			want: `{"code":4000,"message":"(10370)receiptHandle.n parameter batch size is out of range: 1-16","requestId":"<rid>"}`},
		{name: "batch delete unknown queue", action: "BatchDeleteMessage", params: []string{"queueName", "nosuch", "receiptHandle.1", "$b2"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},

		// A stale handle: received again after the visibility timeout.
		{name: "receive d", action: "ReceiveMessage", params: []string{"queueName", "q"},
			want: `{` + ok + `,` + msg("d", 1, 1700000030) + `}`, save: map[string]string{"d1": "receiptHandle"}},
		{name: "receive d again", action: "BatchReceiveMessage", params: []string{"queueName", "q", "numOfMsg", "16"},
			before: func(e *testEnv) { e.clock.Advance(31 * time.Second) },
			want:   `{` + ok + `,"msgInfoList":[{` + msg("d", 2, 1700000061) + `}` + msgsFrom(0, 15) + `]}`,
			save:   map[string]string{"d2": "msgInfoList.0.receiptHandle"}},
		{name: "delete stale", action: "DeleteMessage", params: []string{"queueName", "q", "receiptHandle", "$d1"},
			want: `{"code":4430,"message":"(10262)receipt handle is stale: the message was received again or its visibility timeout passed","requestId":"<rid>"}`},
		{name: "delete fresh", action: "DeleteMessage", params: []string{"queueName", "q", "receiptHandle", "$d2"},
			want: `{` + ok + `}`},

		// RewindQueue
		{name: "rewind disabled", action: "RewindQueue", params: []string{"queueName", "q", "startConsumeTime", "1700000000"},
			want: `{"code":6050,"message":"(10670)your queue cannot be rewinded","requestId":"<rid>"}`},
		{name: "rewind missing time", action: "RewindQueue", params: []string{"queueName", "q"},
			want: `{"code":4000,"message":"(10390)lacked of required parameter startConsumeTime","requestId":"<rid>"}`},
		{name: "enable rewind", action: "SetQueueAttributes", params: []string{"queueName", "q", "rewindSeconds", "3600"},
			want: `{` + ok + `,"maxMsgHeapNum":100000000,"pollingWaitSeconds":0,"visibilityTimeout":30,"maxMsgSize":65536,"msgRetentionSeconds":345600,"rewindSeconds":3600}`},
		{name: "rewind bad time", action: "RewindQueue", params: []string{"queueName", "q", "startConsumeTime", "1600000000"},
			want: `{"code":4000,"message":"(10680)invalid rewind time: startConsumeTime must be 1699996431-1700000031","requestId":"<rid>"}`},
		{name: "rewind", action: "RewindQueue", params: []string{"queueName", "q", "startConsumeTime", "1700000000"},
			want: `{` + ok + `}`},
		{name: "rewind unknown", action: "RewindQueue", params: []string{"queueName", "nosuch", "startConsumeTime", "1700000000"},
			want: `{"code":4440,"message":"(10100)queue is not existed, or deleted","requestId":"<rid>"}`},
	})
}

// msgsFrom renders the expected m<i> messages of the batch-receive step after the clock
// moved 31 s: received once, enqueued at the epoch.
func msgsFrom(lo, hi int) string {
	var b strings.Builder
	for i := lo; i < hi; i++ {
		fmt.Fprintf(&b, `,{"msgBody":"m%d","msgId":"<msgId>","receiptHandle":"<handle>","enqueueTime":1700000000,"nextVisibleTime":1700000061,"firstDequeueTime":1700000031,"dequeueCount":1}`, i)
	}
	return b.String()
}
