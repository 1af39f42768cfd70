package engine

import "strings"

// matchTags reports whether a message with tags msgTags goes to a subscription with filter
// tags filter (CMQ filterType 1): a subscription without filter tags gets every message; one
// with filter tags gets a message that carries at least one of them (so not an untagged one).
func matchTags(filter, msgTags []string) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		for _, t := range msgTags {
			if f == t {
				return true
			}
		}
	}
	return false
}

// matchBindingKeys reports whether routingKey matches any of the binding keys (CMQ
// filterType 2, RabbitMQ topic-exchange rules). A subscription without binding keys gets
// every message.
func matchBindingKeys(bindingKeys []string, routingKey string) bool {
	if len(bindingKeys) == 0 {
		return true
	}
	words := splitWords(routingKey)
	for _, b := range bindingKeys {
		if matchWords(splitWords(b), words) {
			return true
		}
	}
	return false
}

// splitWords splits a dotted key into words; the empty key has none.
func splitWords(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, ".")
}

// matchWords matches a binding key's words against a routing key's words: "*" is exactly one
// word, "#" zero or more words, anything else must be equal. An empty routing key has no
// words, so "#" matches it and "*" does not.
func matchWords(pattern, words []string) bool {
	// Iterative matching with backtracking to the last '#', like glob matching: O(p*w).
	p, w := 0, 0
	star, mark := -1, 0
	for w < len(words) {
		switch {
		case p < len(pattern) && pattern[p] == "#":
			star, mark = p, w
			p++
		case p < len(pattern) && (pattern[p] == "*" || pattern[p] == words[w]):
			p++
			w++
		case star >= 0:
			p = star + 1
			mark++
			w = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == "#" {
		p++
	}
	return p == len(pattern)
}
