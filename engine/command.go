package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// CommandType names a state change.
type CommandType uint8

// Command types. Their numeric values are part of the journal and raft log format; never
// renumber them.
const (
	CmdCreateQueue        CommandType = 1
	CmdSetQueueAttributes CommandType = 2
	CmdDeleteQueue        CommandType = 3
	CmdSend               CommandType = 4
	CmdReceive            CommandType = 5
	CmdDelete             CommandType = 6
	CmdChangeVisibility   CommandType = 7
	CmdRewind             CommandType = 8
	CmdUnbindDeadLetter   CommandType = 9
	CmdTick               CommandType = 10

	CmdCreateTopic             CommandType = 20
	CmdSetTopicAttributes      CommandType = 21
	CmdDeleteTopic             CommandType = 22
	CmdPublish                 CommandType = 23
	CmdSubscribe               CommandType = 24
	CmdSetSubscription         CommandType = 25
	CmdUnsubscribe             CommandType = 26
	CmdClearSubscriptionFilter CommandType = 27
	CmdPushDone                CommandType = 28
)

var commandNames = map[CommandType]string{
	CmdCreateQueue: "CreateQueue", CmdSetQueueAttributes: "SetQueueAttributes",
	CmdDeleteQueue: "DeleteQueue", CmdSend: "Send", CmdReceive: "Receive", CmdDelete: "Delete",
	CmdChangeVisibility: "ChangeVisibility", CmdRewind: "Rewind",
	CmdUnbindDeadLetter: "UnbindDeadLetter", CmdTick: "Tick",
	CmdCreateTopic: "CreateTopic", CmdSetTopicAttributes: "SetTopicAttributes",
	CmdDeleteTopic: "DeleteTopic", CmdPublish: "Publish", CmdSubscribe: "Subscribe",
	CmdSetSubscription: "SetSubscriptionAttributes", CmdUnsubscribe: "Unsubscribe",
	CmdClearSubscriptionFilter: "ClearSubscriptionFilterTags", CmdPushDone: "PushDone",
}

func (t CommandType) String() string {
	if s, ok := commandNames[t]; ok {
		return s
	}
	return fmt.Sprintf("CommandType(%d)", uint8(t))
}

// Command is one state change with every input it needs, including the time: applying the
// same commands in the same order gives the same state and results on every replica.
// Which fields are used depends on Type.
type Command struct {
	Type CommandType
	// Now is the time the command was accepted, unix milliseconds, stamped by the node that
	// accepted it. Apply uses no other clock.
	Now       int64
	Namespace string
	Queue     string
	// Replay, if its Hash is set, identifies the signed client request this command comes
	// from: the state machine applies a key at most once while it is remembered.
	Replay ReplayKey

	Attrs  QueueAttributes      // CreateQueue
	Update QueueAttributeUpdate // SetQueueAttributes

	Bodies       [][]byte // Send: 1..MaxBatch bodies
	DelaySeconds int64    // Send

	MaxMessages int // Receive: 1..MaxBatch

	Handles           []string // Delete: 1..MaxBatch; ChangeVisibility: exactly 1
	VisibilitySeconds int64    // ChangeVisibility
	// VisibilityMillis is added to VisibilitySeconds (the pusher's retry delays are finer).
	VisibilityMillis int64

	StartConsumeTime int64 // Rewind: unix seconds

	// QueueID addresses an internal queue (a subscription's push queue) by id instead of
	// by namespace and name: Receive, Delete, ChangeVisibility, PushDone.
	QueueID uint64

	Topic        string             // topic commands
	TopicAttrs   TopicAttributes    // CreateTopic, SetTopicAttributes
	Subscription SubscriptionConfig // Subscribe (Name, ...); others use Subscription.Name
	SubUpdate    SubscriptionUpdate // SetSubscriptionAttributes
	Tags         []string           // Publish
	RoutingKey   string             // Publish
	// GiveUp, for PushDone: the pushes failed for good (counted), rather than succeeded.
	GiveUp bool
}

// The first byte of every encoded command (part of the log format): version 1, or version 2
// for a command with a replay key, which follows the common fields. A command without a
// key is written as version 1, so logs of earlier releases and commands without keys are
// the same bytes.
const (
	commandFormatVersion       = 1
	commandFormatVersionReplay = 2
)

// ErrBadCommand is returned by DecodeCommand for bytes that are not a valid command.
var ErrBadCommand = errors.New("engine: malformed command")

// encodedSizeHint is an upper estimate of c's encoded size, so that encoding allocates once.
func (c *Command) encodedSizeHint() int {
	n := 80 + len(c.Namespace) + len(c.Queue) + len(c.Topic) + len(c.Subscription.Name) + len(c.RoutingKey)
	for _, b := range c.Bodies {
		n += len(b) + binary.MaxVarintLen32
	}
	for _, h := range c.Handles {
		n += len(h) + binary.MaxVarintLen32
	}
	for _, t := range c.Tags {
		n += len(t) + binary.MaxVarintLen32
	}
	return n
}

// Encode returns the binary encoding of c.
func (c *Command) Encode() []byte { return c.AppendEncode(make([]byte, 0, c.encodedSizeHint())) }

// AppendEncode appends the binary encoding of c to dst and returns it.
func (c *Command) AppendEncode(dst []byte) []byte {
	version := byte(commandFormatVersion)
	if c.Replay.Hash != 0 {
		version = commandFormatVersionReplay
	}
	dst = append(dst, version, byte(c.Type))
	dst = binary.AppendVarint(dst, c.Now)
	dst = appendString(dst, c.Namespace)
	dst = appendString(dst, c.Queue)
	dst = binary.AppendUvarint(dst, c.QueueID)
	dst = appendString(dst, c.Topic)
	dst = appendString(dst, c.Subscription.Name)
	if version == commandFormatVersionReplay {
		dst = binary.LittleEndian.AppendUint64(dst, c.Replay.Hash)
		dst = binary.AppendVarint(dst, c.Replay.Expiry)
	}
	switch c.Type {
	case CmdCreateQueue:
		dst = appendAttrs(dst, &c.Attrs)
	case CmdSetQueueAttributes:
		dst = appendUpdate(dst, &c.Update)
	case CmdSend:
		dst = binary.AppendVarint(dst, c.DelaySeconds)
		dst = appendBodies(dst, c.Bodies)
	case CmdReceive:
		dst = binary.AppendUvarint(dst, uint64(c.MaxMessages))
	case CmdDelete, CmdChangeVisibility:
		dst = binary.AppendVarint(dst, c.VisibilitySeconds)
		dst = binary.AppendVarint(dst, c.VisibilityMillis)
		dst = binary.AppendUvarint(dst, uint64(len(c.Handles)))
		for _, h := range c.Handles {
			dst = appendString(dst, h)
		}
	case CmdRewind:
		dst = binary.AppendVarint(dst, c.StartConsumeTime)
	case CmdCreateTopic, CmdSetTopicAttributes:
		dst = binary.AppendVarint(dst, c.TopicAttrs.MaxMsgSize)
		dst = binary.AppendVarint(dst, int64(c.TopicAttrs.FilterType))
	case CmdPublish:
		dst = appendStrings(dst, c.Tags)
		dst = appendString(dst, c.RoutingKey)
		dst = appendBodies(dst, c.Bodies)
	case CmdSubscribe:
		sc := &c.Subscription
		for _, v := range [...]string{sc.Protocol, sc.Endpoint, sc.NotifyStrategy, sc.NotifyContentFormat} {
			dst = appendString(dst, v)
		}
		dst = appendStrings(dst, sc.FilterTags)
		dst = appendStrings(dst, sc.BindingKeys)
	case CmdSetSubscription:
		u := &c.SubUpdate
		dst = appendString(dst, u.NotifyStrategy)
		dst = appendString(dst, u.NotifyContentFormat)
		dst = appendOptionalStrings(dst, u.FilterTags)
		dst = appendOptionalStrings(dst, u.BindingKeys)
	case CmdPushDone:
		dst = appendStrings(dst, c.Handles)
		dst = append(dst, boolByte(c.GiveUp))
	}
	return dst
}

func appendBodies(dst []byte, bodies [][]byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(bodies)))
	for _, b := range bodies {
		dst = appendBytes(dst, b)
	}
	return dst
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = appendString(dst, s)
	}
	return dst
}

// appendOptionalStrings tells "not given" (nil) from "given, empty".
func appendOptionalStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, 0)
	}
	return appendStrings(append(dst, 1), ss)
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// DecodeCommand decodes one command. The returned command's byte slices alias b.
func DecodeCommand(b []byte) (*Command, error) {
	d := decoder{b: b}
	version := d.byte()
	if version != commandFormatVersion && version != commandFormatVersionReplay {
		return nil, fmt.Errorf("%w: unknown format version", ErrBadCommand)
	}
	c := &Command{Type: CommandType(d.byte())}
	c.Now = d.varint()
	c.Namespace = d.string()
	c.Queue = d.string()
	c.QueueID = d.uvarint()
	c.Topic = d.string()
	c.Subscription.Name = d.string()
	if version == commandFormatVersionReplay {
		if c.Replay.Hash = d.uint64(); c.Replay.Hash == 0 {
			d.fail("replay key") // written as version 1
		}
		c.Replay.Expiry = d.varint()
	}
	switch c.Type {
	case CmdCreateQueue:
		d.attrs(&c.Attrs)
	case CmdSetQueueAttributes:
		d.update(&c.Update)
	case CmdSend:
		c.DelaySeconds = d.varint()
		c.Bodies = d.bodies()
	case CmdReceive:
		n := d.uvarint()
		if n > 1<<20 {
			d.fail("receive count")
		}
		c.MaxMessages = int(n)
	case CmdDelete, CmdChangeVisibility:
		c.VisibilitySeconds = d.varint()
		c.VisibilityMillis = d.varint()
		n := d.count()
		c.Handles = make([]string, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			c.Handles = append(c.Handles, d.string())
		}
	case CmdRewind:
		c.StartConsumeTime = d.varint()
	case CmdCreateTopic, CmdSetTopicAttributes:
		c.TopicAttrs.MaxMsgSize = d.varint()
		c.TopicAttrs.FilterType = int(d.varint())
	case CmdPublish:
		c.Tags = d.strings()
		c.RoutingKey = d.string()
		c.Bodies = d.bodies()
	case CmdSubscribe:
		sc := &c.Subscription
		for _, p := range [...]*string{&sc.Protocol, &sc.Endpoint, &sc.NotifyStrategy, &sc.NotifyContentFormat} {
			*p = d.string()
		}
		sc.FilterTags = d.strings()
		sc.BindingKeys = d.strings()
	case CmdSetSubscription:
		u := &c.SubUpdate
		u.NotifyStrategy = d.string()
		u.NotifyContentFormat = d.string()
		u.FilterTags = d.optionalStrings()
		u.BindingKeys = d.optionalStrings()
	case CmdPushDone:
		c.Handles = d.strings()
		switch d.byte() {
		case 0:
		case 1:
			c.GiveUp = true
		default:
			d.fail("flag")
		}
	case CmdDeleteQueue, CmdUnbindDeadLetter, CmdTick, CmdDeleteTopic, CmdUnsubscribe, CmdClearSubscriptionFilter:
	default:
		return nil, fmt.Errorf("%w: unknown type %d", ErrBadCommand, c.Type)
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadCommand, len(d.b))
	}
	return c, nil
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendAttrs(dst []byte, a *QueueAttributes) []byte {
	for _, v := range [...]int64{a.MaxMsgHeapNum, a.PollingWaitSeconds, a.VisibilityTimeout, a.MaxMsgSize, a.MsgRetentionSeconds, a.RewindSeconds} {
		dst = binary.AppendVarint(dst, v)
	}
	return appendPolicy(dst, a.DeadLetter)
}

func appendPolicy(dst []byte, p *DeadLetterPolicy) []byte {
	if p == nil {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = appendString(dst, p.Queue)
	dst = binary.AppendVarint(dst, int64(p.Policy))
	dst = binary.AppendVarint(dst, p.MaxReceiveCount)
	return binary.AppendVarint(dst, p.MaxTimeToLive)
}

func appendUpdate(dst []byte, u *QueueAttributeUpdate) []byte {
	fields := u.fields()
	var mask byte
	for i, f := range fields {
		if *f != nil {
			mask |= 1 << i
		}
	}
	if u.ClearDeadLetter {
		mask |= 1 << 7
	}
	dst = append(dst, mask)
	for _, f := range fields {
		if *f != nil {
			dst = binary.AppendVarint(dst, **f)
		}
	}
	return appendPolicy(dst, u.DeadLetter)
}

// fields lists the optional integer attributes in their encoding order.
func (u *QueueAttributeUpdate) fields() [6]**int64 {
	return [6]**int64{&u.MaxMsgHeapNum, &u.PollingWaitSeconds, &u.VisibilityTimeout, &u.MaxMsgSize, &u.MsgRetentionSeconds, &u.RewindSeconds}
}

// decoder reads the encoding above; the first error sticks and later reads return zeros.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s", ErrBadCommand, what)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("byte")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// Varints must be minimal (binary.Uvarint also accepts a value padded with 0x80 bytes and
// a final 0x00): every encoding has exactly one decoding and vice versa, so two logs that
// mean the same thing are the same bytes.
func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 || n > 1 && d.b[n-1] == 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 || n > 1 && d.b[n-1] == 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.fail("uint64")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) count() int {
	n := d.uvarint()
	// Every element takes at least one byte, so a count above the bytes left is corrupt; this
	// bounds what a decoder allocates by the size of its input.
	if n > uint64(len(d.b)) {
		d.fail("count")
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) bodies() [][]byte {
	n := d.count()
	out := make([][]byte, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.bytes())
	}
	return out
}

// strings decodes appendStrings' output; an empty list decodes as nil.
func (d *decoder) strings() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.string())
	}
	return out
}

func (d *decoder) optionalStrings() []string {
	switch d.byte() {
	case 0:
		return nil
	case 1:
		if ss := d.strings(); ss != nil {
			return ss
		}
		return []string{}
	default:
		d.fail("optional list flag")
		return nil
	}
}

func (d *decoder) attrs(a *QueueAttributes) {
	for _, p := range [...]*int64{&a.MaxMsgHeapNum, &a.PollingWaitSeconds, &a.VisibilityTimeout, &a.MaxMsgSize, &a.MsgRetentionSeconds, &a.RewindSeconds} {
		*p = d.varint()
	}
	a.DeadLetter = d.policy()
}

func (d *decoder) policy() *DeadLetterPolicy {
	switch d.byte() {
	case 0:
		return nil
	case 1:
		p := &DeadLetterPolicy{Queue: d.string()}
		p.Policy = int(d.varint())
		p.MaxReceiveCount = d.varint()
		p.MaxTimeToLive = d.varint()
		return p
	default:
		d.fail("policy flag")
		return nil
	}
}

func (d *decoder) update(u *QueueAttributeUpdate) {
	mask := d.byte()
	if mask&0x40 != 0 {
		d.fail("update mask")
		return
	}
	for i, f := range u.fields() {
		if mask&(1<<i) != 0 {
			v := d.varint()
			*f = &v
		}
	}
	u.ClearDeadLetter = mask&(1<<7) != 0
	u.DeadLetter = d.policy()
}
