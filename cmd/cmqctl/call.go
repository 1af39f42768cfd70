package main

import (
	"context"
	"fmt"
	"strings"
)

func runCall(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("call", "call ACTION [name=value...] [flags]\n\n"+
		"Sends any CMQ action (e.g. ListDeadLetterSourceQueues deadLetterQueueName=dlq) and prints\n"+
		"the raw JSON response. The public parameters and the signature are added for you.")
	pos, err := parse(fs, args, 1, -1)
	if err != nil {
		return err
	}
	params := make(map[string]string, len(pos)-1)
	for _, kv := range pos[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return usagef("call: parameter %q is not name=value", kv)
		}
		params[k] = v
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	body, err := c.CallRaw(ctx, pos[0], params)
	if body != nil {
		g.env.stdout.Write(body)
		if body[len(body)-1] != '\n' {
			fmt.Fprintln(g.env.stdout)
		}
	}
	return err
}
