package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/opencmq/opencmq/httpapi/client"
)

const subUsage = `sub <create|list|get|set|delete|clear-tags> ...

  sub create TOPIC NAME QUEUE|URL [--protocol queue|http] [--strategy S] [--format F]
             [--tag T]... [--binding-key K]...
  sub list TOPIC [--search WORD] [--offset N] [--limit N]
  sub get TOPIC NAME
  sub set TOPIC NAME [--strategy S] [--format F] [--tag T]... [--binding-key K]...
  sub delete TOPIC NAME
  sub clear-tags TOPIC NAME`

func runSub(ctx context.Context, g *globals, args []string) error {
	if len(args) == 0 {
		return usagef("usage: cmqctl %s", subUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create", "subscribe":
		return subCreate(ctx, g, rest)
	case "list", "ls":
		return subList(ctx, g, rest)
	case "get", "attributes", "show":
		return subGet(ctx, g, rest)
	case "set":
		return subSet(ctx, g, rest)
	case "delete", "rm", "unsubscribe":
		return subDelete(ctx, g, rest)
	case "clear-tags":
		return subClearTags(ctx, g, rest)
	case "-h", "--help", "-help", "help":
		fmt.Fprintf(g.env.stdout, "Usage: cmqctl %s\n", subUsage)
		return nil
	}
	return usagef("unknown sub subcommand %q\nusage: cmqctl %s", sub, subUsage)
}

// subFlags are the flags of sub create and sub set.
type subFlags struct {
	strategy, format string
	tags, keys       stringsFlag
}

func addSubFlags(fs *flag.FlagSet) *subFlags {
	f := &subFlags{}
	fs.StringVar(&f.strategy, "strategy", "", "notifyStrategy: BACKOFF_RETRY or EXPONENTIAL_DECAY_RETRY (server default)")
	fs.StringVar(&f.format, "format", "", "notifyContentFormat: JSON (http default) or SIMPLIFIED (the only one for queue)")
	fs.Var(&f.tags, "tag", "filterTag: only messages with one of these tags (tag topics); repeatable or comma-separated, at most 5; on set, replaces the tags")
	fs.Var(&f.keys, "binding-key", "bindingKey: only messages whose routing key matches (routing-key topics; * one word, # any words); repeatable, at most 5; on set, replaces the keys")
	return f
}

func subCreate(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("sub create", "sub create TOPIC NAME ENDPOINT [flags]\n\n"+
		"ENDPOINT is a queue of the same account (protocol queue: matching messages are put into it)\n"+
		"or an http:// or https:// URL (protocol http: the server pushes matching messages to it).")
	protocol := fs.String("protocol", "", "queue or http (default: http for an http:// or https:// ENDPOINT, else queue)")
	sf := addSubFlags(fs)
	pos, err := parse(fs, args, 3, 3)
	if err != nil {
		return err
	}
	endpoint := &pos[2]
	proto := *protocol
	if proto == "" {
		proto = client.ProtocolQueue
		if l := strings.ToLower(*endpoint); strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
			proto = client.ProtocolHTTP
		}
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	id, err := c.Subscribe(g.callCtx(ctx), pos[0], client.Subscription{Name: pos[1], Protocol: proto, Endpoint: *endpoint,
		NotifyStrategy: sf.strategy, NotifyContentFormat: sf.format, FilterTags: sf.tags, BindingKeys: sf.keys})
	if err != nil {
		return err
	}
	if !g.jsonOut {
		fmt.Fprintf(g.env.stdout, "created subscription %s on topic %s (subscriptionId %s): %s %s\n", pos[1], pos[0], id, proto, *endpoint)
	}
	return nil
}

func subList(ctx context.Context, g *globals, args []string) error {
	return listCommand[client.SubscriptionRef]{
		name: "sub list", usage: "sub list TOPIC [flags]", plural: "subscriptions",
		limitHelp: "list at most this many (1-100; default: all)", positional: 1, maxPages: 100,
		fetch: func(ctx context.Context, c *client.Client, pos []string, o client.ListOptions) ([]client.SubscriptionRef, int, error) {
			l, err := c.ListSubscriptionByTopic(ctx, pos[0], o)
			if err != nil {
				return nil, 0, err
			}
			return l.Subscriptions, l.TotalCount, nil
		},
		empty: func(pos []string, total int) string {
			return fmt.Sprintf("no subscriptions on topic %s (total %d)", pos[0], total)
		},
		header: "SUBSCRIPTION NAME\tPROTOCOL\tENDPOINT\tSUBSCRIPTION ID",
		row: func(s client.SubscriptionRef) string {
			return s.SubscriptionName + "\t" + s.Protocol + "\t" + s.Endpoint + "\t" + s.SubscriptionID
		},
	}.run(ctx, g, args)
}

func listOrNone(vs []string) string {
	if len(vs) == 0 {
		return "(none)"
	}
	return strings.Join(vs, ", ")
}

func subGet(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("sub get", "sub get TOPIC NAME")
	pos, err := parse(fs, args, 2, 2)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	info, err := c.GetSubscriptionAttributes(g.callCtx(ctx), pos[0], pos[1])
	if err != nil || g.jsonOut {
		return err
	}
	tw := table(g.env.stdout)
	for _, r := range [][2]string{
		{"subscriptionName", pos[1]},
		{"subscriptionId", info.SubscriptionID},
		{"topicName", pos[0]},
		{"topicOwner", info.TopicOwner},
		{"protocol", info.Protocol},
		{"endpoint", info.Endpoint},
		{"notifyStrategy", info.NotifyStrategy},
		{"notifyContentFormat", info.NotifyContentFormat},
		{"filterTag", listOrNone(info.FilterTags)},
		{"bindingKey", listOrNone(info.BindingKeys)},
		{"msgCount", fmt.Sprint(info.MsgCount)},
		{"deliveredCount", fmt.Sprint(info.DeliveredCount)},
		{"failedCount", fmt.Sprint(info.FailedCount)},
		{"undeliverableCount", fmt.Sprint(info.UndeliverableCount)},
		{"createTime", formatUnix(info.CreateTime)},
		{"lastModifyTime", formatUnix(info.LastModifyTime)},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

func subSet(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("sub set", "sub set TOPIC NAME [flags]")
	sf := addSubFlags(fs)
	pos, err := parse(fs, args, 2, 2)
	if err != nil {
		return err
	}
	if sf.strategy == "" && sf.format == "" && len(sf.tags) == 0 && len(sf.keys) == 0 {
		return usagef("sub set: give at least one of --strategy, --format, --tag, --binding-key (sub clear-tags empties the tags)")
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	u := client.SubscriptionUpdate{NotifyStrategy: sf.strategy, NotifyContentFormat: sf.format, FilterTags: sf.tags, BindingKeys: sf.keys}
	if err := c.SetSubscriptionAttributes(g.callCtx(ctx), pos[0], pos[1], u); err != nil {
		return err
	}
	if !g.jsonOut {
		fmt.Fprintf(g.env.stdout, "updated subscription %s on topic %s\n", pos[1], pos[0])
	}
	return nil
}

func subDelete(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("sub delete", "sub delete TOPIC NAME")
	pos, err := parse(fs, args, 2, 2)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Unsubscribe(g.callCtx(ctx), pos[0], pos[1]); err != nil {
		return err
	}
	if !g.jsonOut {
		fmt.Fprintf(g.env.stdout, "deleted subscription %s on topic %s\n", pos[1], pos[0])
	}
	return nil
}

func subClearTags(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("sub clear-tags", "sub clear-tags TOPIC NAME")
	pos, err := parse(fs, args, 2, 2)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.ClearSubscriptionFilterTags(g.callCtx(ctx), pos[0], pos[1]); err != nil {
		return err
	}
	if !g.jsonOut {
		fmt.Fprintf(g.env.stdout, "cleared the filter tags of subscription %s on topic %s\n", pos[1], pos[0])
	}
	return nil
}
