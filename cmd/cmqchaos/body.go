package main

// Self-checking message bodies: every body says which logical message it is, how long its
// padding is and the padding's checksum, so a delivered body can be verified on its own:
//
//	id=<worker>-<seq>;len=<n>;h=<xxhash64(pad), 16 hex digits>;pad=<n printable bytes>

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// padAlphabet is what padding is made of: printable, and nothing the form encoding or JSON
// escaping treats specially beyond the ordinary.
const padAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~+/ =&%\"\\<>"

// makeBody builds the body of message id with n bytes of padding drawn from r.
func makeBody(id string, n int, r *rand.Rand) string {
	pad := make([]byte, n)
	for i := range pad {
		pad[i] = padAlphabet[r.IntN(len(padAlphabet))]
	}
	return fmt.Sprintf("id=%s;len=%d;h=%016x;pad=%s", id, n, xxhash.Sum64(pad), pad)
}

// bodySum identifies a body's exact bytes in the history without storing them.
func bodySum(body string) string { return fmt.Sprintf("%016x", xxhash.Sum64String(body)) }

// parseBody checks a body and returns its message id. An error means the body is not one
// makeBody wrote, or was altered: cut, padded, or with a byte changed.
func parseBody(body string) (id string, err error) {
	rest, ok := strings.CutPrefix(body, "id=")
	if !ok {
		return "", fmt.Errorf("no id= prefix")
	}
	id, rest, ok = strings.Cut(rest, ";len=")
	if !ok || id == "" {
		return "", fmt.Errorf("no id")
	}
	lenStr, rest, ok := strings.Cut(rest, ";h=")
	if !ok {
		return id, fmt.Errorf("no len")
	}
	n, err := strconv.Atoi(lenStr)
	if err != nil || n < 0 {
		return id, fmt.Errorf("bad len %q", lenStr)
	}
	hash, pad, ok := strings.Cut(rest, ";pad=")
	if !ok {
		return id, fmt.Errorf("no pad")
	}
	if len(pad) != n {
		return id, fmt.Errorf("padding is %d bytes, the body says %d", len(pad), n)
	}
	if want := fmt.Sprintf("%016x", xxhash.Sum64String(pad)); hash != want {
		return id, fmt.Errorf("padding checksum %s, the body says %s", want, hash)
	}
	return id, nil
}
