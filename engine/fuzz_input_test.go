package engine

import (
	"strings"
	"testing"
)

// Fuzz targets for what clients hand the engine directly: receipt handles, binding and
// routing keys, dead-letter policies.

// FuzzDecodeHandle: any string is either refused or is exactly the encoding of the handle
// it decodes to (one handle, one spelling: a handle with other trailing bits or padding is
// not the same handle), and every handle round-trips.
func FuzzDecodeHandle(f *testing.F) {
	f.Add(receiptHandle{queueID: 1, seq: 2, lease: 3}.encode())
	f.Add(receiptHandle{queueID: 1 << 63, seq: 1<<64 - 1}.encode())
	f.Add("")
	f.Add(strings.Repeat("A", 38))
	f.Add(strings.Repeat("_", 256))
	f.Add("283748239349283")
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := decodeHandle(s)
		if ok && h.encode() != s {
			t.Fatalf("%q decodes to %+v, which encodes as %q", s, h, h.encode())
		}
		if len(s) >= 24 {
			// Build a handle from the input and check it round-trips.
			var b [24]byte
			copy(b[:], s)
			want := receiptHandle{
				queueID: uint64(b[0]) | uint64(b[1])<<8 | uint64(b[7])<<56,
				seq:     uint64(b[8]) | uint64(b[15])<<56,
				lease:   uint64(b[16]) | uint64(b[23])<<56,
			}
			got, ok := decodeHandle(want.encode())
			if !ok || got != want {
				t.Fatalf("%+v does not round-trip: %+v %v", want, got, ok)
			}
		}
	})
}

// referenceMatch is RabbitMQ's topic matching written recursively: "*" one word, "#" zero
// or more.
func referenceMatch(pattern, words []string) bool {
	if len(pattern) == 0 {
		return len(words) == 0
	}
	switch pattern[0] {
	case "#":
		for i := 0; i <= len(words); i++ {
			if referenceMatch(pattern[1:], words[i:]) {
				return true
			}
		}
		return false
	case "*":
		return len(words) > 0 && referenceMatch(pattern[1:], words[1:])
	default:
		return len(words) > 0 && words[0] == pattern[0] && referenceMatch(pattern[1:], words[1:])
	}
}

// FuzzMatchBindingKey: the iterative matcher agrees with the recursive reference for any
// binding and routing key (bounded to CMQ's sizes, so the reference stays fast).
func FuzzMatchBindingKey(f *testing.F) {
	for _, c := range [][2]string{
		{"1.*.0", "1.x.0"}, {"1.#.0", "1.2.3.4.4.2.2.0"}, {"1.#.0", "1.0"}, {"#", ""}, {"*", ""},
		{"#.#", "a"}, {"a.#.b.#.c", "a.b.x.b.c"}, {"*.#.*", "a"}, {"", ""}, {"..", "."},
	} {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, binding, key string) {
		if len(binding) > 64 || len(key) > 64 {
			return
		}
		got := matchBindingKeys([]string{binding}, key)
		want := referenceMatch(splitWords(binding), splitWords(key))
		if got != want {
			t.Fatalf("binding %q, routing key %q: %v, reference %v", binding, key, got, want)
		}
	})
}

// FuzzParseDeadLetterPolicy: any text is refused with a dead-letter error or parses to a
// policy whose rendering parses back to the same policy.
func FuzzParseDeadLetterPolicy(f *testing.F) {
	f.Add(`{"deadLetterQueue":"dlq","policy":0,"maxReceiveCount":3}`)
	f.Add(`{"deadLetterQueue":"dlq","policy":1,"maxTimeToLive":300}`)
	f.Add(`{"policy":1e400}`)
	f.Add(`{"deadLetterQueue":"\ud800","policy":0}`)
	f.Add(`[]`)
	f.Add(` `)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseDeadLetterPolicy(s)
		if err != nil {
			if c, _ := CodeOf(err); c != 4000 {
				t.Fatalf("%q: error %v is not a 4000", s, err)
			}
			return
		}
		if p == nil {
			return
		}
		again, err := ParseDeadLetterPolicy(p.String())
		if err != nil || *again != *p {
			t.Fatalf("%q parses to %+v, which renders as %s and parses to %+v (%v)", s, *p, p.String(), again, err)
		}
	})
}
