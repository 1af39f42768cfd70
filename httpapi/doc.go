// Package httpapi serves Tencent Cloud CMQ's HTTP "action" API (v2) on fasthttp, in front of
// a queue Backend (*engine.Engine, or a replicated node), so that existing CMQ SDKs work
// unchanged. The protocol reference is /work/shared/cmq-api.md, cited as §n.
//
// # Routes
//
//   - GET /healthz: 200 "ok" while the process serves.
//   - GET /readyz: 200 when Config.Ready reports true (or is nil), else 503.
//   - Everything else, on any path (SDKs use /v2/index.php, TGO "/"): the CMQ API. POST reads
//     the raw body as a form whatever the Content-Type (PY and NGO send none, OkHttp JAVA
//     "*/*;charset=utf-8") and ignores the query string; GET reads the query string. Other
//     methods are 4000/10410. '+' decodes to a space, %XX to a byte; a malformed escape is
//     kept literally (as the signer saw it).
//
// # Actions
//
// Matched ignoring case (JAVA sends "ClearSUbscriptionFIlterTags"):
//
//	CreateQueue                 queueName, maxMsgHeapNum, pollingWaitSeconds, visibilityTimeout,
//	                            maxMsgSize, msgRetentionSeconds, rewindSeconds, deadLetterPolicy → queueId
//	ListQueue                   searchWord, offset (0), limit (20) → totalCount, queueList[{queueId, queueName}]
//	GetQueueAttributes          queueName → queueId, queueName, the attributes, createTime,
//	                            lastModifyTime, activeMsgNum, inactiveMsgNum, delayMsgNum,
//	                            rewindmsgNum and rewindMsgNum, minMsgTime, deadLetterPolicy (if set)
//	SetQueueAttributes          queueName + attributes to change → the attributes after the change
//	DeleteQueue                 queueName
//	SendMessage                 queueName, msgBody, delaySeconds (0) → msgId
//	BatchSendMessage            queueName, msgBody.n, delaySeconds (0) → msgList[{msgId}]
//	ReceiveMessage              queueName, pollingWaitSeconds (queue's) → msgBody, msgId, receiptHandle,
//	                            enqueueTime, nextVisibleTime, firstDequeueTime, dequeueCount
//	BatchReceiveMessage         queueName, numOfMsg (1–16), pollingWaitSeconds → msgInfoList[…]
//	DeleteMessage               queueName, receiptHandle
//	BatchDeleteMessage          queueName, receiptHandle.n
//	ChangeMessageVisibility     queueName, receiptHandle, visibilityTimeout → nextVisibleTime
//	                            (not in CMQ; for SQS habits)
//	RewindQueue                 queueName, startConsumeTime
//	ListDeadLetterSourceQueues  deadLetterQueueName, searchWord, offset, limit → totalCount, queueList
//	UnbindDeadLetterQueue       queueName
//	QueryQueueRoute             queueName → addr: [] (the TCP protocol is not served)
//
//	CreateTopic                 topicName, maxMsgSize (65536), filterType (1) → topicId
//	SetTopicAttributes          topicName, maxMsgSize (absent: nothing changes)
//	ListTopic                   searchWord, offset (0), limit (20) → totalCount, topicList[{topicId, topicName}]
//	GetTopicAttributes          topicName → topicId, topicName, msgCount, maxMsgSize,
//	                            msgRetentionSeconds (86400), createTime, lastModifyTime, filterType
//	DeleteTopic                 topicName (4000/10540 while it has subscriptions)
//	PublishMessage              topicName, msgBody, msgTag.n (0–5), routingKey → msgId
//	BatchPublishMessage         topicName, msgBody.n, msgTag.n, routingKey (for every message) → msgList[{msgId}]
//	Subscribe                   topicName, subscriptionName, protocol, endpoint, notifyStrategy,
//	                            notifyContentFormat, filterTag.n, bindingKey.n → subscriptionId
//	ListSubscriptionByTopic     topicName, searchWord, offset (0), limit (20, at most 100) →
//	                            totalCount, subscriptionList[{subscriptionId, subscriptionName, protocol, endpoint}]
//	GetSubscriptionAttributes   topicName, subscriptionName → subscriptionId, topicOwner, msgCount,
//	                            protocol and protocal, endpoint, notifyStrategy, notifyContentFormat,
//	                            createTime, lastModifyTime, filterTag and filterTags, bindingKey,
//	                            deliveredCount, failedCount, undeliverableCount
//	SetSubscriptionAttributes   topicName, subscriptionName + notifyStrategy, notifyContentFormat,
//	                            filterTag.n, bindingKey.n to change
//	Unsubscribe                 topicName, subscriptionName
//	ClearSubscriptionFilterTags topicName, subscriptionName
//	QueryTopicRoute             topicName → addr: []
//
// Any other action is 4000 "(10430)action name X is not existed"; a request without Action is
// 4000/10390.
//
// Topics and subscriptions are the backend's (engine/topic_api.go). topicOwner is the
// owning account's namespace, as a JSON string (NGO type-asserts a string). msgCount of a
// topic counts the messages waiting to be pushed to its HTTP subscriptions, of a subscription
// those waiting for it (queue subscriptions receive their copies within the publish: 0).
// The extra counters of GetSubscriptionAttributes: deliveredCount, pushes that succeeded;
// failedCount, messages dropped after their last retry; undeliverableCount, copies a queue
// subscription could not enqueue (its queue missing — the endpoint names a queue of the
// topic's own namespace — or full, or with a smaller maxMsgSize). filterTag, filterTags and
// bindingKey are arrays, [] when empty. A publish that no subscription matches (or to a topic
// without subscriptions) succeeds: CMQ's 6030/10650 and 6030/10730 are not returned (§15
// leaves open whether the real service did). HTTP subscriptions are pushed per §12 by the
// backend, with its network policy (cmqd --push-allow).
//
// Times are unix seconds, 0 where there is none (minMsgTime on an empty queue). Ids and
// receipt handles are JSON strings, counters and times JSON numbers. deadLetterPolicy is the
// policy's JSON text, naming the dead-letter queue by name (the DOC's output says Id; no SDK
// reads it). Bodies are returned byte for byte.
//
// # Parameters
//
// Names, defaults and ranges are the reference's (§6). Integers are decimal with an
// optional sign: anything else is 4000/10360, a value beyond 64 bits 4000/10350. An empty
// value counts as absent (PHP drops falsy values; "pollingWaitSeconds=" means the queue's
// default). Ranges of queue attributes, delays, list limits and visibility timeouts are the
// backend's (engine.Limits), reported as 4000/10350; the API itself checks numOfMsg (1–16)
// and a given pollingWaitSeconds (0–30: JAVA's "forever" 30000 is refused, not clamped).
// CreateQueue starts from engine.DefaultQueueAttributes and applies the given values (JAVA and
// NGO send only values > 0, PY all of them). SetQueueAttributes changes only the given
// attributes; an empty deadLetterPolicy there means "unchanged" (PY re-sends every attribute,
// with an empty policy), and UnbindDeadLetterQueue removes a policy.
//
// A parameter name is looked up without surrounding spaces and with '_' read as '.', as the
// signature reads it (msgBody_1 is msgBody.1; both in one request is 4000/10330).
//
// Indexed parameters (msgBody.n, receiptHandle.n, msgTag.n, filterTag.n, bindingKey.n) are
// collected by numeric index: they must run 0..n-1 (TGO, NODE, CPP's Subscribe) or 1..n (PY,
// JAVA, …) without gaps (4000/10380); msgBody.n and receiptHandle.n take 1–16 values
// (4000/10370), the tag and key lists 0–5 (more: 4000/10720 msgTag, 4000/10490 filterTag,
// 4000/10680 bindingKey); msgBody.x is 4000/10310 and msgBody.1 with msgBody.01 4000/10330.
// Any name sent twice is 4000/10330. An empty routingKey is no key (PY, CPP and TGO always
// send one, also to tag topics). Subscribe matches protocol, notifyStrategy and
// notifyContentFormat ignoring case; SetSubscriptionAttributes changes only the given
// fields, a given filterTag.n or bindingKey.n list replacing the subscription's (an empty
// strategy or format means "unchanged": CPP always sends both); ClearSubscriptionFilterTags
// empties the tags. A request carries at most MaxParams parameters (4000/10000) and
// at most Config.MaxRequestBytes (1 MiB) of body or query (4000/10420).
//
// Tags (msgTag.n, filterTag.n), routing and binding keys and push endpoints must be UTF-8
// without control characters (4000/10693, 10691, 10692, 10500): they come back in JSON and
// travel in push requests' headers.
//
// Message bodies must be non-empty (4000/10120) and valid UTF-8 (4000/10110, naming the
// parameter and byte offset): responses are JSON, which cannot carry other bytes exactly,
// and the API never alters a body. Binary data must be encoded by the client (PY's
// set_encoding Base64 does that).
//
// # Responses and errors
//
// Every API answer is HTTP 200 with Content-Type application/json and a flat object:
// "code" (number, 0 on success), "message" ("" on success, else CMQ's "(module)text"),
// "requestId" (a string unique per request), "clientRequestId" (echoed when sent: a number
// if it is a plain JSON integer, else a string), then the action's fields. Errors from the
// backend keep their *engine.Error code and module; any other backend error is 6000/10050
// with its text (e.g. the engine's "outcome unknown"). An empty receive is 7000
// "(10200)no message". BatchDeleteMessage answers 0 when every handle was deleted, 6010
// "(10150)delete message partially failed" or 6020 "(10290)batch delete message failed"
// with errorList [{code, message, receiptHandle}] for the handles that failed.
// A panic in an action is answered 6000/10050 and logged; it does not stop the server.
//
// Every request is logged at Debug (requestId, action, code); internal errors (codes
// 6000–6999) at Error. An empty long poll (7000) is
// a normal outcome, logged at Debug.
//
// # Authentication
//
// The signature is verified per §3.3: the account is found by SecretId (absent: 4100/10030;
// unknown: 4100/10270); the string to sign is rebuilt with signature.AppendStringToSign from
// the decoded parameters under their raw names (NGO signs keys with a trailing space, which
// are then trimmed for lookup), the actual method and the raw request path; HmacSHA256 when
// SignatureMethod says so, else HmacSHA1. Host names tried, in order: the Host header as
// sent; that header with the scheme's default port (":80", or ":443" under TLS) added or
// removed (PY configured with h:80 signs h:80 but sends Host h); Config.PublicHosts;
// X-Forwarded-Host names (with X-Forwarded-Proto's default port added or removed) when
// Config.TrustForwardedHost is set. For POST, if any value starts with '@', the variant
// without those parameters is tried too (PY and PHP leave them out) — only when RequestClient
// is absent (PHP) or starts with SDK_Python, so that nobody can append an '@' parameter to
// another SDK's signed request; the values PY leaves unsigned are, unavoidably, not protected
// by the signature. Signatures are compared in constant time; a mismatch is 4100
// "(10030)authentication failed".
//
// After the signature, Timestamp must be within Config.TimestampWindow (default ±5 min) of
// the server clock (4100/10030 saying by how much it is off; a negative window disables the
// check). Nonce is signed like any parameter but not otherwise interpreted. Token (STS) is
// accepted and ignored; so are Region, RequestClient, UserpollingWaitSeconds and unknown
// parameters (all signed over).
//
// Replays: the signature of every accepted state-changing request (every action except
// ReceiveMessage, BatchReceiveMessage, GetQueueAttributes, ListQueue,
// ListDeadLetterSourceQueues, QueryQueueRoute, GetTopicAttributes, ListTopic,
// GetSubscriptionAttributes, ListSubscriptionByTopic and QueryTopicRoute, which SDKs
// legitimately repeat: CPP reseeds its Nonce every second, NODE's Nonce is 0–9999) is
// remembered until its Timestamp leaves the window, and a byte-identical replay is refused
// with 4100/10030 "replayed request", on every node of a cluster and across restarts: the
// node's in-memory cache below is a first filter, and the request's command carries a key
// (a hash of SecretId and Signature, engine.WithReplayKey) that the replicated state
// machine remembers, in its checkpoints and snapshots too, until the key expires (its
// Timestamp's window plus 60 s, for clock differences between nodes) and refuses to apply
// twice. The reads and receives above are not checked at all, on any node (SDKs repeat
// them): whoever captures a signed receive can repeat it within the window and take
// messages with it, so use TLS where the network is not trusted. One
// consequence: a CPP client sending the same body twice to the same queue within one second
// produces the same signature, and the second send is refused (set DisableReplayCheck if such
// clients matter more than replay protection). The cache holds at most
// Config.ReplayCacheEntries (default 2^20, about 40 MB); when full it forgets the entries that
// expire first and from then on refuses requests whose entries would have expired by then
// (4100/10030 "Timestamp is too old for the replay record"; the replicated record does the
// same with its own bound, engine.Limits.MaxReplayKeys) — protection never silently
// lapses; under sustained load above entries/window requests per second the accepted
// Timestamp window shrinks on the old side instead.
//
// # Accounts and namespaces
//
// Each Account maps a SecretId/SecretKey to a namespace; every backend call uses the
// requesting account's namespace, so other accounts' queues and topics do not exist for it
// (4440), and their receipt handles belong to "another queue" (4430/10261). A queue
// subscription's endpoint names a queue of the topic's namespace.
//
// # Long polling and timeouts
//
// A receive waits in the backend, which answers the moment a message is visible; the call
// gets a context deadline of the wait + 2 s (the queue's default wait counts as 30 s), so the
// answer comes within the SDKs' client timeouts (§1) and nothing waits forever: fasthttp
// never tells a handler that its client went away. Other backend calls get 30 s. The
// handler copies every string and body it hands to the backend; nothing of a RequestCtx is
// kept after the handler returns.
//
// # Deviations and choices
//
//   - Missing required parameters are 4000/10390 "lacked of required parameter X".
//   - ListSubscriptionByTopic's offset is bounded by nothing but 2^31 (the DOC says 0–1000).
//   - GetTopicAttributes also answers topicId and topicName, GetSubscriptionAttributes
//     subscriptionId and the delivery counters above (no SDK reads them).
//   - SetQueueAttributes does not echo queueId (the DOC sample has it; no SDK reads it).
//   - ListDeadLetterSourceQueues' limit is bounded by the backend (1000), not the DOC's 50.
//   - The request cap applies to the raw (encoded) body: a body near a 1 MiB maxMsgSize does
//     not fit once form-encoded; raise Config.MaxRequestBytes for such queues.
//   - Through NewHTTPServer, a GET request line and headers must fit in 16 KiB (431 beyond);
//     SDKs refuse GET URLs over 2048 characters anyway. A POST body more than 64 KiB over
//     MaxRequestBytes (chunked or not) is refused before it is read (413, from its
//     Content-Length when it has one). These answers, and those to requests that are not
//     HTTP (400) or arrive too slowly (408), carry a JSON body with 4000/10420 and close
//     the connection.
package httpapi
