package main

import (
	"context"
)

func runPublish(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("publish", "publish TOPIC [BODY...] [--tag T]... [--routing-key K]\n\n"+
		"Publishes each BODY as one message (16 per BatchPublishMessage), all with the same tags\n"+
		"or routing key. Without BODY, reads the message from stdin: all of it as one message, or\n"+
		"one message per line with --lines.")
	var tags stringsFlag
	fs.Var(&tags, "tag", "msgTag of the messages (tag-filtering topics); repeatable or comma-separated, at most 5")
	routingKey := fs.String("routing-key", "", "routingKey of the messages (routing-key topics), e.g. order.eu.created")
	lines := fs.Bool("lines", false, "with stdin: publish each non-empty line as a message")
	pos, err := parse(fs, args, 1, -1)
	if err != nil {
		return err
	}
	topic := pos[0]
	bodies, err := messageBodies(g, "publish", pos[1:], *lines)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	cctx := g.callCtx(ctx)
	return sendInBatches(g, "published", bodies,
		func(body string) (string, error) { return c.PublishMessage(cctx, topic, body, tags, *routingKey) },
		func(batch []string) ([]string, error) {
			return c.BatchPublishMessage(cctx, topic, batch, tags, *routingKey)
		})
}
