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
	queue, bodies := pos[0], pos[1:]
	if len(bodies) == 0 {
		if bodies, err = readBodies(g.env.stdin, *lines); err != nil {
			return err
		}
		if len(bodies) == 0 {
			return usagef("send: no message: give BODY arguments or pipe the message into stdin")
		}
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	cctx := g.callCtx(ctx)
	if len(bodies) == 1 {
		id, err := c.SendMessage(cctx, queue, bodies[0], *delay)
		if err != nil {
			return err
		}
		if !g.jsonOut {
			fmt.Fprintf(g.env.stdout, "sent msgId %s\n", id)
		}
		return nil
	}
	sent := 0
	for len(bodies) > 0 {
		n := min(len(bodies), maxBatch)
		ids, err := c.BatchSendMessage(cctx, queue, bodies[:n], *delay)
		if err != nil {
			if sent > 0 {
				return fmt.Errorf("%d message(s) sent, then: %w", sent, err)
			}
			return err
		}
		if !g.jsonOut {
			for _, id := range ids {
				fmt.Fprintf(g.env.stdout, "sent msgId %s\n", id)
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
