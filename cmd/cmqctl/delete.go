package main

import (
	"context"
	"fmt"
)

func runDelete(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("delete", "delete QUEUE RECEIPT_HANDLE... [flags]\n\n"+
		"Deletes received messages by their receipt handles (16 per BatchDeleteMessage).")
	pos, err := parse(fs, args, 2, -1)
	if err != nil {
		return err
	}
	queue, handles := pos[0], pos[1:]
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	cctx := g.callCtx(ctx)
	if len(handles) == 1 {
		if err := c.DeleteMessage(cctx, queue, handles[0]); err != nil {
			return err
		}
		if !g.jsonOut {
			fmt.Fprintf(g.env.stdout, "deleted %s\n", handles[0])
		}
		return nil
	}
	failed := 0
	for len(handles) > 0 {
		n := min(len(handles), maxBatch)
		errs, err := c.BatchDeleteMessage(cctx, queue, handles[:n])
		if errs == nil && err != nil {
			return err
		}
		for i, e := range errs {
			if e != nil {
				failed++
				fmt.Fprintf(g.env.stderr, "cmqctl: %v\n", e)
			} else if !g.jsonOut {
				fmt.Fprintf(g.env.stdout, "deleted %s\n", handles[i])
			}
		}
		handles = handles[n:]
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d message(s) not deleted", failed, len(pos)-1)
	}
	return nil
}
