package main

import "github.com/opencmq/opencmq/httpapi/client"

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
