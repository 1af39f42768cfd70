package engine

import (
	"encoding/json"
	"strings"
)

// QueueAttributes are the settable attributes of a queue, with CMQ's meaning and units
// (seconds, bytes, counts).
type QueueAttributes struct {
	// MaxMsgHeapNum bounds the backlog: live messages (visible, in flight or delayed). A send
	// that would exceed it is refused with ErrQueueFull.
	MaxMsgHeapNum int64
	// PollingWaitSeconds is the default long-polling wait of a receive, 0–30.
	PollingWaitSeconds int64
	// VisibilityTimeout is how long a received message stays invisible, in seconds.
	VisibilityTimeout int64
	// MaxMsgSize is the largest accepted message body in bytes.
	MaxMsgSize int64
	// MsgRetentionSeconds is how long a message lives, received or not.
	MsgRetentionSeconds int64
	// RewindSeconds is how far back RewindQueue may go; 0 disables rewind (and deleted
	// messages are then dropped at once).
	RewindSeconds int64
	// DeadLetter, if not nil, moves messages that are received too often or live too long
	// to another queue of the same namespace.
	DeadLetter *DeadLetterPolicy
}

// DeadLetterPolicy is CMQ's deadLetterPolicy.
type DeadLetterPolicy struct {
	// Queue is the name of the dead-letter queue (same namespace).
	Queue string `json:"deadLetterQueue"`
	// Policy 0: move after MaxReceiveCount receives without delete; 1: move when older than
	// MaxTimeToLive seconds.
	Policy int `json:"policy"`
	// MaxReceiveCount, 1–1000, for policy 0.
	MaxReceiveCount int64 `json:"maxReceiveCount,omitempty"`
	// MaxTimeToLive in seconds, 300–43200 and below MsgRetentionSeconds, for policy 1.
	MaxTimeToLive int64 `json:"maxTimeToLive,omitempty"`
}

// CMQ's defaults (reference §6.1).
const (
	MaxMsgHeapNumDefault       = 100_000_000
	PollingWaitSecondsDefault  = 0
	VisibilityTimeoutDefault   = 30
	MaxMsgSizeDefault          = 65536
	MsgRetentionSecondsDefault = 345600
	RewindSecondsDefault       = 0
)

// DefaultQueueAttributes returns CMQ's default attributes.
func DefaultQueueAttributes() QueueAttributes {
	return QueueAttributes{
		MaxMsgHeapNum:       MaxMsgHeapNumDefault,
		PollingWaitSeconds:  PollingWaitSecondsDefault,
		VisibilityTimeout:   VisibilityTimeoutDefault,
		MaxMsgSize:          MaxMsgSizeDefault,
		MsgRetentionSeconds: MsgRetentionSecondsDefault,
		RewindSeconds:       RewindSecondsDefault,
	}
}

// QueueAttributeUpdate names the attributes SetQueueAttributes changes; nil fields are left
// as they are. ClearDeadLetter removes the dead-letter policy.
type QueueAttributeUpdate struct {
	MaxMsgHeapNum       *int64
	PollingWaitSeconds  *int64
	VisibilityTimeout   *int64
	MaxMsgSize          *int64
	MsgRetentionSeconds *int64
	RewindSeconds       *int64
	DeadLetter          *DeadLetterPolicy
	ClearDeadLetter     bool
}

// apply returns a with u's changes.
func (u *QueueAttributeUpdate) apply(a QueueAttributes) QueueAttributes {
	set := func(dst *int64, src *int64) {
		if src != nil {
			*dst = *src
		}
	}
	set(&a.MaxMsgHeapNum, u.MaxMsgHeapNum)
	set(&a.PollingWaitSeconds, u.PollingWaitSeconds)
	set(&a.VisibilityTimeout, u.VisibilityTimeout)
	set(&a.MaxMsgSize, u.MaxMsgSize)
	set(&a.MsgRetentionSeconds, u.MsgRetentionSeconds)
	set(&a.RewindSeconds, u.RewindSeconds)
	if u.ClearDeadLetter {
		a.DeadLetter = nil
	}
	if u.DeadLetter != nil {
		p := *u.DeadLetter
		a.DeadLetter = &p
	}
	return a
}

// Limits are the server-wide bounds. The zero value of a field means its default. They
// decide results of commands, so every replica of a group must use the same limits.
type Limits struct {
	MinMaxMsgHeapNum       int64 // default 1,000,000 (CMQ); lower it for tests and small deployments
	MaxMaxMsgHeapNum       int64 // default 1,000,000,000
	MaxQueuesPerNamespace  int   // default 10,000 (TDMQ-era CMQ limit)
	MaxTopicsPerNamespace  int   // default 10,000
	MaxInflightPerQueue    int   // in-flight messages per queue (RAM bound); default 120,000
	MaxDelayedPerQueue     int   // delayed messages per queue (RAM bound); default 120,000
	MaxBatch               int   // messages per batch send/receive/delete; default 16
	MaxBatchBytes          int64 // total body bytes of one batch send; default 1 MiB
	MaxMsgSizeUpperBound   int64 // largest settable maxMsgSize; default 1 MiB (TDMQ-era CMQ)
	MaxDeadLetterSources   int   // source queues per dead-letter queue; default 6
	MaxVisibilityTimeout   int64 // default 43200
	MaxPollingWaitSeconds  int64 // default 30
	MaxRetentionSeconds    int64 // default 1,296,000 (15 days)
	MinRetentionSeconds    int64 // default 60
	MaxQueueNameLength     int   // default 64
	MaxListLimit           int   // default 1000
	DeadLetterMinTTL       int64 // default 300
	DeadLetterMaxTTL       int64 // default 43200
	DeadLetterMaxReceive   int64 // default 1000
	MaxChangeVisibilitySec int64 // default 43200
	// MaxReplayKeys bounds the replay keys of signed requests the state machine remembers
	// (see WithReplayKey; about 50 bytes each); default 1,048,576.
	MaxReplayKeys int
	// MaxReplaySeconds bounds how long one is remembered; default 172,800 (2 days).
	MaxReplaySeconds int64
}

func (l Limits) withDefaults() Limits {
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	defi := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.MinMaxMsgHeapNum, 1_000_000)
	def(&l.MaxMaxMsgHeapNum, 1_000_000_000)
	defi(&l.MaxQueuesPerNamespace, 10_000)
	defi(&l.MaxTopicsPerNamespace, 10_000)
	defi(&l.MaxInflightPerQueue, 120_000)
	defi(&l.MaxDelayedPerQueue, 120_000)
	defi(&l.MaxBatch, 16)
	def(&l.MaxBatchBytes, 1<<20)
	def(&l.MaxMsgSizeUpperBound, 1<<20)
	defi(&l.MaxDeadLetterSources, 6)
	def(&l.MaxVisibilityTimeout, 43200)
	def(&l.MaxPollingWaitSeconds, 30)
	def(&l.MaxRetentionSeconds, 1_296_000)
	def(&l.MinRetentionSeconds, 60)
	defi(&l.MaxQueueNameLength, 64)
	defi(&l.MaxListLimit, 1000)
	def(&l.DeadLetterMinTTL, 300)
	def(&l.DeadLetterMaxTTL, 43200)
	def(&l.DeadLetterMaxReceive, 1000)
	def(&l.MaxChangeVisibilitySec, 43200)
	defi(&l.MaxReplayKeys, 1<<20)
	def(&l.MaxReplaySeconds, 172_800)
	return l
}

// validQueueName reports whether name follows CMQ's rule: 1–64 characters, a letter first,
// then letters, digits, '-' and '_'.
func validQueueName(name string, maxLen int) bool {
	if len(name) == 0 || len(name) > maxLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// nameKey is the lookup key of a queue name: CMQ treats names case-insensitively.
func nameKey(name string) string { return strings.ToLower(name) }

func inRange(v, lo, hi int64) bool { return v >= lo && v <= hi }

// validate checks every attribute against CMQ's ranges (reference §6.1, §10.4). It does not
// check that the dead-letter queue exists; the state machine does.
func (a *QueueAttributes) validate(l Limits) error {
	switch {
	case !inRange(a.MaxMsgHeapNum, l.MinMaxMsgHeapNum, l.MaxMaxMsgHeapNum):
		return errorf(ErrParameterRange, "maxMsgHeapNum must be %d-%d", l.MinMaxMsgHeapNum, l.MaxMaxMsgHeapNum)
	case !inRange(a.PollingWaitSeconds, 0, l.MaxPollingWaitSeconds):
		return errorf(ErrParameterRange, "pollingWaitSeconds must be 0-%d", l.MaxPollingWaitSeconds)
	case !inRange(a.VisibilityTimeout, 1, l.MaxVisibilityTimeout):
		return errorf(ErrParameterRange, "visibilityTimeout must be 1-%d", l.MaxVisibilityTimeout)
	case !inRange(a.MaxMsgSize, 1024, l.MaxMsgSizeUpperBound):
		return errorf(ErrParameterRange, "maxMsgSize must be 1024-%d", l.MaxMsgSizeUpperBound)
	case !inRange(a.MsgRetentionSeconds, l.MinRetentionSeconds, l.MaxRetentionSeconds):
		return errorf(ErrParameterRange, "msgRetentionSeconds must be %d-%d", l.MinRetentionSeconds, l.MaxRetentionSeconds)
	case a.RewindSeconds < 0:
		return errorf(ErrParameterRange, "rewindSeconds must be 0-msgRetentionSeconds")
	case a.RewindSeconds > a.MsgRetentionSeconds:
		return ErrRewindRetention
	}
	if p := a.DeadLetter; p != nil {
		if p.Queue == "" {
			return errorf(ErrDeadLetterParams, "deadLetterPolicy must have deadLetterQueue")
		}
		switch p.Policy {
		case 0:
			if !inRange(p.MaxReceiveCount, 1, l.DeadLetterMaxReceive) {
				return errorf(ErrDeadLetterParams, "maxReceiveCount must be 1-%d", l.DeadLetterMaxReceive)
			}
		case 1:
			if !inRange(p.MaxTimeToLive, l.DeadLetterMinTTL, l.DeadLetterMaxTTL) || p.MaxTimeToLive >= a.MsgRetentionSeconds {
				return errorf(ErrDeadLetterParams, "maxTimeToLive must be %d-%d and below msgRetentionSeconds", l.DeadLetterMinTTL, l.DeadLetterMaxTTL)
			}
		default:
			return errorf(ErrDeadLetterParams, "deadLetterPolicy must have policy 0 or 1")
		}
	}
	return nil
}

// ParseDeadLetterPolicy decodes CMQ's deadLetterPolicy JSON text. An empty string means no
// policy (nil, nil).
func ParseDeadLetterPolicy(s string) (*DeadLetterPolicy, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, ErrDeadLetterJSON
	}
	var p DeadLetterPolicy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, errorf(ErrDeadLetterParams, "%v", err)
	}
	if _, ok := raw["policy"]; !ok {
		return nil, errorf(ErrDeadLetterParams, "deadLetterPolicy must have policy 0 or 1")
	}
	return &p, nil
}

// String renders the policy as CMQ's JSON text.
func (p *DeadLetterPolicy) String() string {
	b, _ := json.Marshal(p)
	return string(b)
}
