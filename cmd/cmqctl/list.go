package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/opencmq/opencmq/httpapi/client"
)

// listPages lists with fetch: one page of limit items from offset when limit > 0, otherwise
// every item from offset, page by page (listPage items a page, at most maxPages pages). It
// returns the items and the server's total count.
func listPages[T any](search string, offset, limit, maxPages int, fetch func(client.ListOptions) ([]T, int, error)) ([]T, int, error) {
	if limit > 0 {
		return fetch(client.ListOptions{SearchWord: search, Offset: offset, Limit: limit})
	}
	var all []T
	total := 0
	for page := 0; page < maxPages; page++ {
		items, t, err := fetch(client.ListOptions{SearchWord: search, Offset: offset, Limit: listPage})
		if err != nil {
			return nil, 0, err
		}
		all, total = append(all, items...), t
		offset += len(items)
		if len(items) == 0 || offset >= t {
			break
		}
	}
	return all, total, nil
}

// listCommand is a list subcommand (queue list, topic list, sub list): its flags, how to
// fetch one page, and how to print the items.
type listCommand[T any] struct {
	name, usage string // "queue list", "queue list [flags]"
	plural      string // "queues": in flag help and messages
	limitHelp   string
	positional  int // required positional arguments
	maxPages    int
	fetch       func(ctx context.Context, c *client.Client, pos []string, o client.ListOptions) ([]T, int, error)
	empty       func(pos []string, total int) string // the line printed when nothing is listed
	header      string                               // tab-separated column names
	row         func(T) string                       // tab-separated cells
}

// run parses args, lists (one page with --limit, else everything) and prints a table and a
// count, or only the JSON answers with --json.
func (lc listCommand[T]) run(ctx context.Context, g *globals, args []string) error {
	fs := g.newFlagSet(lc.name, lc.usage)
	search := fs.String("search", "", "only "+lc.plural+" whose name contains this word")
	offset := fs.Int("offset", 0, "skip this many "+lc.plural)
	limit := fs.Int("limit", 0, lc.limitHelp)
	pos, err := parse(fs, args, lc.positional, lc.positional)
	if err != nil {
		return err
	}
	c, err := g.client()
	if err != nil {
		return err
	}
	defer c.Close()
	cctx := g.callCtx(ctx)
	all, total, err := listPages(*search, *offset, *limit, lc.maxPages, func(o client.ListOptions) ([]T, int, error) {
		return lc.fetch(cctx, c, pos, o)
	})
	if err != nil || g.jsonOut {
		return err
	}
	if len(all) == 0 {
		fmt.Fprintln(g.env.stdout, lc.empty(pos, total))
		return nil
	}
	tw := table(g.env.stdout)
	fmt.Fprintln(tw, lc.header)
	for _, it := range all {
		fmt.Fprintln(tw, lc.row(it))
	}
	tw.Flush()
	fmt.Fprintf(g.env.stdout, "%d of %d %s\n", len(all), total, strings.TrimSuffix(lc.plural, "s")+"(s)")
	return nil
}
