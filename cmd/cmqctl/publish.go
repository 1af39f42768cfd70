package main

import (
	"context"
	"fmt"
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
	topic, bodies := pos[0], pos[1:]
	if len(bodies) == 0 {
		if bodies, err = readBodies(g.env.stdin, *lines); err != nil {
			return err
		}
		if len(bodies) == 0 {
			return usagef("publish: no message: give BODY arguments or pipe the message into stdin")
		}
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	cctx := g.callCtx(ctx)
	if len(bodies) == 1 {
		id, err := c.PublishMessage(cctx, topic, bodies[0], tags, *routingKey)
		if err != nil {
			return err
		}
		if !g.jsonOut {
			fmt.Fprintf(g.env.stdout, "published msgId %s\n", id)
		}
		return nil
	}
	sent := 0
	for len(bodies) > 0 {
		n := min(len(bodies), maxBatch)
		ids, err := c.BatchPublishMessage(cctx, topic, bodies[:n], tags, *routingKey)
		if err != nil {
			if sent > 0 {
				return fmt.Errorf("%d message(s) published, then: %w", sent, err)
			}
			return err
		}
		if !g.jsonOut {
			for _, id := range ids {
				fmt.Fprintf(g.env.stdout, "published msgId %s\n", id)
			}
		}
		sent += n
		bodies = bodies[n:]
	}
	return nil
}
