package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/opencmq/opencmq/httpapi/client"
)

const topicUsage = `topic <create|list|get|set|delete> ...

  topic create NAME [--max-msg-size N] [--filter-type 1|2 | --routing]
  topic list [--search WORD] [--offset N] [--limit N]
  topic get NAME
  topic set NAME --max-msg-size N
  topic delete NAME`

func runTopic(ctx context.Context, g *globals, args []string) error {
	if len(args) == 0 {
		return usagef("usage: cmqctl %s", topicUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create":
		return topicCreate(ctx, g, rest)
	case "list", "ls":
		return topicList(ctx, g, rest)
	case "get", "attributes", "show":
		return topicGet(ctx, g, rest)
	case "set":
		return topicSet(ctx, g, rest)
	case "delete", "rm":
		return topicDelete(ctx, g, rest)
	case "-h", "--help", "-help", "help":
		fmt.Fprintf(g.env.stdout, "Usage: cmqctl %s\n", topicUsage)
		return nil
	}
	return usagef("unknown topic subcommand %q\nusage: cmqctl %s", sub, topicUsage)
}

// stringsFlag is a repeatable string flag (--tag a --tag b); a value may also list several,
// comma-separated.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }

func (s *stringsFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// given reports whether the flag called name was set on fs.
func given(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

func filterTypeName(t int) string {
	switch t {
	case client.FilterTags:
		return "1 (tags)"
	case client.FilterRoutingKey:
		return "2 (routing key)"
	}
	return fmt.Sprint(t)
}

func topicCreate(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("topic create", "topic create NAME [flags]")
	maxSize := fs.Int64("max-msg-size", 0, "maxMsgSize: largest message body in bytes (server default 65536)")
	filterType := fs.Int("filter-type", 0, "filterType: 1 = subscriptions filter by tags, 2 = by routing key (server default 1; fixed at creation)")
	routing := fs.Bool("routing", false, "same as --filter-type 2")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	attrs := &client.TopicAttributes{MaxMsgSize: *maxSize, FilterType: *filterType}
	if *routing {
		if *filterType != 0 && *filterType != client.FilterRoutingKey {
			return usagef("topic create: --routing contradicts --filter-type %d", *filterType)
		}
		attrs.FilterType = client.FilterRoutingKey
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := c.CreateTopic(g.callCtx(ctx), pos[0], attrs)
	if err != nil {
		return err
	}
	if !g.jsonOut {
		fmt.Fprintf(g.env.stdout, "created topic %s (topicId %s)\n", pos[0], id)
	}
	return nil
}

func topicList(ctx context.Context, g *globals, args []string) error {
	return listCommand[client.TopicRef]{
		name: "topic list", usage: "topic list [flags]", plural: "topics",
		limitHelp: "list at most this many topics (default: all)", maxPages: 10000,
		fetch: func(ctx context.Context, c *client.Client, _ []string, o client.ListOptions) ([]client.TopicRef, int, error) {
			l, err := c.ListTopic(ctx, o)
			if err != nil {
				return nil, 0, err
			}
			return l.Topics, l.TotalCount, nil
		},
		empty:  func(_ []string, total int) string { return fmt.Sprintf("no topics (total %d)", total) },
		header: "TOPIC NAME\tTOPIC ID",
		row:    func(t client.TopicRef) string { return t.TopicName + "\t" + t.TopicID },
	}.run(ctx, g, args)
}

func topicGet(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("topic get", "topic get NAME")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	info, err := c.GetTopicAttributes(g.callCtx(ctx), pos[0])
	if err != nil || g.jsonOut {
		return err
	}
	tw := table(g.env.stdout)
	for _, r := range [][2]string{
		{"topicName", info.TopicName},
		{"topicId", info.TopicID},
		{"filterType", filterTypeName(info.FilterType)},
		{"msgCount", fmt.Sprint(info.MsgCount)},
		{"maxMsgSize", fmt.Sprint(info.MaxMsgSize)},
		{"msgRetentionSeconds", fmt.Sprint(info.MsgRetentionSeconds)},
		{"createTime", formatUnix(info.CreateTime)},
		{"lastModifyTime", formatUnix(info.LastModifyTime)},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

func topicSet(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("topic set", "topic set NAME --max-msg-size N")
	maxSize := fs.Int64("max-msg-size", 0, "maxMsgSize: largest message body in bytes (the only settable attribute)")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if !given(fs, "max-msg-size") {
		return usagef("topic set: give --max-msg-size (a topic's only settable attribute)")
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetTopicAttributes(g.callCtx(ctx), pos[0], *maxSize); err != nil {
		return err
	}
	if !g.jsonOut {
		fmt.Fprintf(g.env.stdout, "updated topic %s: maxMsgSize %d\n", pos[0], *maxSize)
	}
	return nil
}

func topicDelete(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("topic delete", "topic delete NAME")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.DeleteTopic(g.callCtx(ctx), pos[0]); err != nil {
		return err
	}
	if !g.jsonOut {
		fmt.Fprintf(g.env.stdout, "deleted topic %s\n", pos[0])
	}
	return nil
}
