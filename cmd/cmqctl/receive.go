package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencmq/opencmq/httpapi/client"
)

func runReceive(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("receive", "receive QUEUE [flags]\n\n"+
		"Receives up to --num messages and prints them. Prints \"no message\" to stderr (exit\n"+
		"status 0) when the queue stayed empty for the whole wait.")
	wait := fs.Int("wait", client.QueueWait, "long-poll up to this many seconds (0-30) for a message; -1: the queue's pollingWaitSeconds")
	num := fs.Int("num", 1, "receive up to this many messages (1-16)")
	del := fs.Bool("delete", false, "delete the messages after printing them")
	pos, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	if *num < 1 || *num > maxBatch {
		return usagef("receive: --num must be 1-%d", maxBatch)
	}
	if *wait < client.QueueWait || *wait > client.MaxPollingWaitSeconds {
		return usagef("receive: --wait must be 0-%d (or -1 for the queue's default)", client.MaxPollingWaitSeconds)
	}
	queue := pos[0]
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	cctx := g.callCtx(ctx)
	var msgs []client.Message
	if *num == 1 {
		var m *client.Message
		if m, err = c.ReceiveMessage(cctx, queue, *wait); err == nil {
			msgs = []client.Message{*m}
		}
	} else {
		msgs, err = c.BatchReceiveMessage(cctx, queue, *num, *wait)
	}
	if client.IsNoMessage(err) {
		fmt.Fprintln(g.env.stderr, "no message")
		return nil
	}
	if err != nil {
		return err
	}
	out := g.env.stdout
	if !g.jsonOut {
		for i, m := range msgs {
			if i > 0 {
				fmt.Fprintln(out)
			}
			tw := table(out)
			fmt.Fprintf(tw, "msgId\t%s\nreceiptHandle\t%s\nenqueueTime\t%s\nnextVisibleTime\t%s\nfirstDequeueTime\t%s\ndequeueCount\t%d\n",
				m.MsgID, m.ReceiptHandle, formatUnix(m.EnqueueTime), formatUnix(m.NextVisibleTime), formatUnix(m.FirstDequeueTime), m.DequeueCount)
			tw.Flush()
			fmt.Fprintf(out, "msgBody:\n%s\n", m.Body)
		}
	}
	if !*del {
		return nil
	}
	if len(msgs) == 1 {
		if err := c.DeleteMessage(cctx, queue, msgs[0].ReceiptHandle); err != nil {
			return fmt.Errorf("message printed but not deleted: %w", err)
		}
		if !g.jsonOut {
			fmt.Fprintln(g.env.stderr, "deleted 1 message")
		}
		return nil
	}
	handles := make([]string, len(msgs))
	for i, m := range msgs {
		handles[i] = m.ReceiptHandle
	}
	errs, err := c.BatchDeleteMessage(cctx, queue, handles)
	if errs == nil && err != nil {
		return fmt.Errorf("messages printed but not deleted: %w", err)
	}
	failed := 0
	for i, e := range errs {
		if e != nil {
			failed++
			fmt.Fprintf(g.env.stderr, "cmqctl: msgId %s not deleted: %v\n", msgs[i].MsgID, e)
		}
	}
	if failed > 0 {
		return errors.New(fmt.Sprintf("%d of %d message(s) not deleted", failed, len(msgs)))
	}
	if !g.jsonOut {
		fmt.Fprintf(g.env.stderr, "deleted %d messages\n", len(msgs))
	}
	return nil
}
