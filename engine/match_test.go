package engine

import "testing"

func TestMatchTags(t *testing.T) {
	cases := []struct {
		filter, tags []string
		want         bool
	}{
		{nil, nil, true},
		{nil, []string{"a"}, true},
		{[]string{"a"}, nil, false},
		{[]string{"a"}, []string{"a"}, true},
		{[]string{"a", "b"}, []string{"c", "b"}, true},
		{[]string{"a"}, []string{"A"}, false},
		{[]string{"a"}, []string{"b", "c"}, false},
	}
	for _, c := range cases {
		if got := matchTags(c.filter, c.tags); got != c.want {
			t.Errorf("matchTags(%q, %q) = %v, want %v", c.filter, c.tags, got, c.want)
		}
	}
}

func TestMatchBindingKeys(t *testing.T) {
	cases := []struct {
		binding, key string
		want         bool
	}{
		// The reference's examples.
		{"1.*.0", "1.x.0", true},
		{"1.#.0", "1.2.3.4.4.2.2.0", true},
		{"1.#.0", "1.0", true},
		// Exact words.
		{"a.b.c", "a.b.c", true},
		{"a.b.c", "a.b", false},
		{"a.b", "a.b.c", false},
		{"a.b.c", "A.b.c", false},
		// '*' is exactly one word.
		{"*", "a", true},
		{"*", "", false},
		{"*", "a.b", false},
		{"a.*", "a.", true}, // the empty word after the dot is a word
		{"*.*", "a.b", true},
		// '#' is zero or more words.
		{"#", "", true},
		{"#", "a", true},
		{"#", "a.b.c", true},
		{"a.#", "a", true},
		{"a.#", "a.b.c", true},
		{"#.c", "c", true},
		{"#.c", "a.b.c", true},
		{"#.c", "a.b.d", false},
		{"a.#.#.b", "a.b", true},
		{"#.#", "", true},
		// Mixed.
		{"*.#.*", "a.b", true},
		{"*.#.*", "a", false},
		{"*.#.*", "a.b.c.d", true},
		{"*.#.*", "", false},
		{"#.*", "", false},
		{"#.*", "x", true},
		{"a.*.#", "a", false},
		{"a.*.#", "a.b", true},
		// Empty words.
		{"a..b", "a..b", true},
		{"a.*.b", "a..b", true},
		{"", "", true},
		{"", "a", false},
	}
	for _, c := range cases {
		if got := matchBindingKeys([]string{c.binding}, c.key); got != c.want {
			t.Errorf("binding %q, routing key %q: %v, want %v", c.binding, c.key, got, c.want)
		}
	}
	if !matchBindingKeys(nil, "anything") {
		t.Error("no binding keys must match everything")
	}
	if !matchBindingKeys([]string{"x", "a.#"}, "a.b") {
		t.Error("any binding key may match")
	}
}
