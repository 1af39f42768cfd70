package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
)

// maxBatch is CMQ's batch size (BatchSendMessage, BatchReceiveMessage, BatchDeleteMessage).
const maxBatch = 16

func runSend(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("send", "send QUEUE [BODY...] [flags]\n\n"+
		"Sends each BODY as one message (16 per BatchSendMessage). Without BODY, reads the\n"+
		"message from stdin: all of it as one message, or one message per line with --lines.")
	delay := fs.Int64("delay", 0, "delaySeconds: the messages become visible after this many seconds")
	lines := fs.Bool("lines", false, "with stdin: send each non-empty line as a message")
	pos, err := parse(fs, args, 1, -1)
	if err != nil {
		return err
	}
	queue := pos[0]
	bodies, err := messageBodies(g, "send", pos[1:], *lines)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	cctx := g.callCtx(ctx)
	return sendInBatches(g, "sent", bodies,
		func(body string) (string, error) { return c.SendMessage(cctx, queue, body, *delay) },
		func(batch []string) ([]string, error) { return c.BatchSendMessage(cctx, queue, batch, *delay) })
}

// messageBodies returns the BODY arguments of send or publish, or, without any, the
// message(s) read from stdin.
func messageBodies(g *globals, cmd string, args []string, lines bool) ([]string, error) {
	if len(args) > 0 {
		return args, nil
	}
	bodies, err := readBodies(g.env.stdin, lines)
	if err != nil {
		return nil, err
	}
	if len(bodies) == 0 {
		return nil, usagef("%s: no message: give BODY arguments or pipe the message into stdin", cmd)
	}
	return bodies, nil
}

// sendInBatches sends (or publishes) bodies: one message with one, in batches of maxBatch
// otherwise, printing "<verb> msgId ID" for each message.
func sendInBatches(g *globals, verb string, bodies []string, one func(string) (string, error), batch func([]string) ([]string, error)) error {
	if len(bodies) == 1 {
		id, err := one(bodies[0])
		if err != nil {
			return err
		}
		if !g.jsonOut {
			fmt.Fprintf(g.env.stdout, "%s msgId %s\n", verb, id)
		}
		return nil
	}
	sent := 0
	for len(bodies) > 0 {
		n := min(len(bodies), maxBatch)
		ids, err := batch(bodies[:n])
		if err != nil {
			if sent > 0 {
				return fmt.Errorf("%d message(s) %s, then: %w", sent, verb, err)
			}
			return err
		}
		if !g.jsonOut {
			for _, id := range ids {
				fmt.Fprintf(g.env.stdout, "%s msgId %s\n", verb, id)
			}
		}
		sent += n
		bodies = bodies[n:]
	}
	return nil
}

// readBodies reads the message(s) to send from r.
func readBodies(r io.Reader, lines bool) ([]string, error) {
	if r == nil {
		return nil, nil
	}
	if !lines {
		b, err := io.ReadAll(io.LimitReader(r, 16<<20))
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
		if len(b) == 0 {
			return nil, nil
		}
		return []string{string(b)}, nil
	}
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if l := strings.TrimRight(sc.Text(), "\r"); l != "" {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading stdin: %w", err)
	}
	return out, nil
}
