package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opencmq/opencmq/httpapi/client"
)

const queueUsage = `queue <create|list|get|set|delete|rewind> ...

  queue create NAME [attribute flags]
  queue list [--search WORD] [--offset N] [--limit N]
  queue get NAME
  queue set NAME [attribute flags]
  queue delete NAME
  queue rewind NAME (--time UNIX|RFC3339 | --ago DURATION)`

func runQueue(ctx context.Context, g *globals, args []string) error {
	if len(args) == 0 {
		return usagef("usage: cmqctl %s", queueUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create":
		return queueCreate(ctx, g, rest)
	case "list", "ls":
		return queueList(ctx, g, rest)
	case "get", "attributes", "show":
		return queueGet(ctx, g, rest)
	case "set":
		return queueSet(ctx, g, rest)
	case "delete", "rm":
		return queueDelete(ctx, g, rest)
	case "rewind":
		return queueRewind(ctx, g, rest)
	case "-h", "--help", "-help", "help":
		fmt.Fprintf(g.env.stdout, "Usage: cmqctl %s\n", queueUsage)
		return nil
	}
	return usagef("unknown queue subcommand %q\nusage: cmqctl %s", sub, queueUsage)
}

// attrFlags are the queue attribute flags of create and set.
type attrFlags struct {
	fs                                                                      *flag.FlagSet
	maxHeap, pollWait, visibility, maxSize, retention, rewind, maxRecv, ttl int64
	dlQueue                                                                 string
	dlPolicy                                                                int
}

func addAttrFlags(fs *flag.FlagSet) *attrFlags {
	a := &attrFlags{fs: fs}
	fs.Int64Var(&a.maxHeap, "max-msg-heap-num", 0, "maxMsgHeapNum: most messages the queue holds")
	fs.Int64Var(&a.pollWait, "polling-wait-seconds", 0, "pollingWaitSeconds: default long-poll wait of receives, 0-30")
	fs.Int64Var(&a.visibility, "visibility-timeout", 0, "visibilityTimeout: seconds a received message stays invisible")
	fs.Int64Var(&a.maxSize, "max-msg-size", 0, "maxMsgSize: largest message body in bytes")
	fs.Int64Var(&a.retention, "msg-retention-seconds", 0, "msgRetentionSeconds: how long a message lives")
	fs.Int64Var(&a.rewind, "rewind-seconds", 0, "rewindSeconds: how far back RewindQueue may go (0: off)")
	fs.StringVar(&a.dlQueue, "dead-letter-queue", "", "dead-letter queue name (sets deadLetterPolicy)")
	fs.IntVar(&a.dlPolicy, "dead-letter-policy", 0, "dead-letter policy: 0 = after --max-receive-count receives, 1 = after --max-time-to-live seconds")
	fs.Int64Var(&a.maxRecv, "max-receive-count", 0, "dead-letter maxReceiveCount (policy 0)")
	fs.Int64Var(&a.ttl, "max-time-to-live", 0, "dead-letter maxTimeToLive in seconds (policy 1)")
	return a
}

// attributes returns the attributes whose flags were given.
func (a *attrFlags) attributes() (client.QueueAttributes, int, error) {
	var out client.QueueAttributes
	n := 0
	var dlFlags []string
	a.fs.Visit(func(f *flag.Flag) {
		p := func(v int64) *int64 { n++; return client.Int64(v) }
		switch f.Name {
		case "max-msg-heap-num":
			out.MaxMsgHeapNum = p(a.maxHeap)
		case "polling-wait-seconds":
			out.PollingWaitSeconds = p(a.pollWait)
		case "visibility-timeout":
			out.VisibilityTimeout = p(a.visibility)
		case "max-msg-size":
			out.MaxMsgSize = p(a.maxSize)
		case "msg-retention-seconds":
			out.MsgRetentionSeconds = p(a.retention)
		case "rewind-seconds":
			out.RewindSeconds = p(a.rewind)
		case "dead-letter-policy", "max-receive-count", "max-time-to-live":
			dlFlags = append(dlFlags, "--"+f.Name)
		}
	})
	if a.dlQueue != "" {
		n++
		out.DeadLetterPolicy = &client.DeadLetterPolicy{Queue: a.dlQueue, Policy: a.dlPolicy, MaxReceiveCount: a.maxRecv, MaxTimeToLive: a.ttl}
	} else if len(dlFlags) > 0 {
		return out, 0, usagef("%s need --dead-letter-queue", strings.Join(dlFlags, ", "))
	}
	return out, n, nil
}

func queueCreate(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("queue create", "queue create NAME [flags]")
	af := addAttrFlags(fs)
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	attrs, _, err := af.attributes()
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := c.CreateQueue(g.callCtx(ctx), pos[0], &attrs)
	if err != nil {
		return err
	}
	if !g.jsonOut {
		fmt.Fprintf(g.env.stdout, "created queue %s (queueId %s)\n", pos[0], id)
	}
	return nil
}

// listPage is the page size queue list uses when --limit is not given (it then lists all).
const listPage = 100

func queueList(ctx context.Context, g *globals, args []string) error {
	return listCommand[client.QueueRef]{
		name: "queue list", usage: "queue list [flags]", plural: "queues",
		limitHelp: "list at most this many queues (default: all)", maxPages: 10000,
		fetch: func(ctx context.Context, c *client.Client, _ []string, o client.ListOptions) ([]client.QueueRef, int, error) {
			l, err := c.ListQueue(ctx, o)
			if err != nil {
				return nil, 0, err
			}
			return l.Queues, l.TotalCount, nil
		},
		empty:  func(_ []string, total int) string { return fmt.Sprintf("no queues (total %d)", total) },
		header: "QUEUE NAME\tQUEUE ID",
		row:    func(q client.QueueRef) string { return q.QueueName + "\t" + q.QueueID },
	}.run(ctx, g, args)
}

func queueGet(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("queue get", "queue get NAME")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	info, err := c.GetQueueAttributes(g.callCtx(ctx), pos[0])
	if err != nil || g.jsonOut {
		return err
	}
	dl := info.DeadLetterPolicy
	if dl == "" {
		dl = "(none)"
	}
	tw := table(g.env.stdout)
	rows := [][2]string{
		{"queueName", info.QueueName},
		{"queueId", info.QueueID},
		{"activeMsgNum", fmt.Sprint(info.ActiveMsgNum)},
		{"inactiveMsgNum", fmt.Sprint(info.InactiveMsgNum)},
		{"delayMsgNum", fmt.Sprint(info.DelayMsgNum)},
		{"rewindMsgNum", fmt.Sprint(info.RewindMsgNum)},
		{"minMsgTime", formatUnix(info.MinMsgTime)},
		{"maxMsgHeapNum", fmt.Sprint(info.MaxMsgHeapNum)},
		{"pollingWaitSeconds", fmt.Sprint(info.PollingWaitSeconds)},
		{"visibilityTimeout", fmt.Sprint(info.VisibilityTimeout)},
		{"maxMsgSize", fmt.Sprint(info.MaxMsgSize)},
		{"msgRetentionSeconds", fmt.Sprint(info.MsgRetentionSeconds)},
		{"rewindSeconds", fmt.Sprint(info.RewindSeconds)},
		{"deadLetterPolicy", dl},
		{"createTime", formatUnix(info.CreateTime)},
		{"lastModifyTime", formatUnix(info.LastModifyTime)},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

func queueSet(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("queue set", "queue set NAME [flags]")
	af := addAttrFlags(fs)
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	attrs, n, err := af.attributes()
	if err != nil {
		return err
	}
	if n == 0 {
		return usagef("queue set: give at least one attribute flag (see cmqctl queue set --help)")
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := c.SetQueueAttributes(g.callCtx(ctx), pos[0], attrs)
	if err != nil || g.jsonOut {
		return err
	}
	fmt.Fprintf(g.env.stdout, "updated queue %s\n", pos[0])
	dl := s.DeadLetterPolicy
	if dl == "" {
		dl = "(none)"
	}
	tw := table(g.env.stdout)
	fmt.Fprintf(tw, "maxMsgHeapNum\t%d\npollingWaitSeconds\t%d\nvisibilityTimeout\t%d\nmaxMsgSize\t%d\nmsgRetentionSeconds\t%d\nrewindSeconds\t%d\ndeadLetterPolicy\t%s\n",
		s.MaxMsgHeapNum, s.PollingWaitSeconds, s.VisibilityTimeout, s.MaxMsgSize, s.MsgRetentionSeconds, s.RewindSeconds, dl)
	return tw.Flush()
}

func queueDelete(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("queue delete", "queue delete NAME")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.DeleteQueue(g.callCtx(ctx), pos[0]); err != nil {
		return err
	}
	if !g.jsonOut {
		fmt.Fprintf(g.env.stdout, "deleted queue %s\n", pos[0])
	}
	return nil
}

// parseTime accepts unix seconds or RFC 3339.
func parseTime(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, fmt.Errorf("time %q: want unix seconds or RFC 3339 (2006-01-02T15:04:05Z07:00)", s)
	}
	return t.Unix(), nil
}

func queueRewind(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("queue rewind", "queue rewind NAME (--time T | --ago D)")
	at := fs.String("time", "", "rewind to this time: unix seconds or RFC 3339")
	ago := fs.Duration("ago", 0, "rewind to this long ago, e.g. 10m")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	var start int64
	switch {
	case *at != "" && *ago != 0:
		return usagef("queue rewind: give --time or --ago, not both")
	case *at != "":
		if start, err = parseTime(*at); err != nil {
			return usagef("queue rewind: %v", err)
		}
	case *ago > 0:
		start = time.Now().Add(-*ago).Unix()
	default:
		return usagef("queue rewind: give --time UNIX|RFC3339 or --ago DURATION")
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.RewindQueue(g.callCtx(ctx), pos[0], start); err != nil {
		return err
	}
	if !g.jsonOut {
		fmt.Fprintf(g.env.stdout, "rewound queue %s to %s\n", pos[0], formatUnix(start))
	}
	return nil
}
