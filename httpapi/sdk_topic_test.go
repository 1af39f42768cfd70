package httpapi

import (
	"strings"
	"testing"
)

// Topic requests shaped like each SDK's (reference §7, §8, §1).
func TestTopicSDKShapes(t *testing.T) {
	e := newEnv(t, nil)
	e.mustCreate("ns-a", "all", nil)
	e.mustCreate("ns-a", "tagged", nil)
	setup := e.client(accountA)
	wantCode(t, setup.do("CreateTopic", "topicName", "t", "maxMsgSize", "65536", "filterType", "1"), 0, 0)
	wantCode(t, setup.do("Subscribe", "topicName", "t", "subscriptionName", "all", "protocol", "queue", "endpoint", "all",
		"notifyStrategy", "BACKOFF_RETRY", "notifyContentFormat", "SIMPLIFIED"), 0, 0)
	// CPP's createSubscribe: 0-based filterTag.n.
	wantCode(t, setup.do("Subscribe", "topicName", "t", "subscriptionName", "tagged", "protocol", "queue", "endpoint", "tagged",
		"notifyStrategy", "BACKOFF_RETRY", "notifyContentFormat", "SIMPLIFIED", "filterTag.0", "py", "filterTag.1", "tgo"), 0, 0)

	t.Run("PY: no Content-Type, 1-based msgTag, empty routingKey", func(t *testing.T) {
		c := e.client(accountA)
		c.ctype = ""
		wantCode(t, c.do("PublishMessage", "topicName", "t", "msgBody", "from py", "msgTag.1", "py", "routingKey", ""), 0, 0)
		wantCode(t, c.do("BatchPublishMessage", "topicName", "t", "msgBody.1", "py batch 1", "msgBody.2", "py batch 2", "msgTag.1", "other", "routingKey", ""), 0, 0)
	})
	t.Run("TGO: path /, 0-based msgTag, empty routingKey", func(t *testing.T) {
		c := e.client(accountA)
		c.path = "/"
		wantCode(t, c.do("PublishMessage", "topicName", "t", "msgBody", "from tgo", "msgTag.0", "tgo", "msgTag.1", "x", "routingKey", ""), 0, 0)
	})
	t.Run("JAVA: no routingKey, */* Content-Type", func(t *testing.T) {
		c := e.client(accountA)
		c.ctype = "*/*;charset=utf-8"
		wantCode(t, c.do("PublishMessage", "topicName", "t", "msgBody", "from java"), 0, 0)
	})
	t.Run("GET", func(t *testing.T) {
		c := e.client(accountA)
		c.method, c.sigMethod, c.ctype = "GET", "", ""
		wantCode(t, c.do("PublishMessage", "topicName", "t", "msgBody", "via get & more", "msgTag.1", "py"), 0, 0)
	})
	if got := strings.Join(e.drain("ns-a", "all"), "|"); got != "from py|py batch 1|py batch 2|from tgo|from java|via get & more" {
		t.Fatalf("queue all: %q", got)
	}
	if got := strings.Join(e.drain("ns-a", "tagged"), "|"); got != "from py|from tgo|via get & more" {
		t.Fatalf("queue tagged: %q", got)
	}
}
