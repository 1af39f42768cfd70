package httpapi

import (
	"errors"
	"fmt"

	"github.com/opencmq/opencmq/engine"
)

// The API's own errors (the engine's are in package engine). The JSON "message" of every
// error is "(module)text", as CMQ formats it.
var (
	errTooManyParams = &engine.Error{Code: 4000, Module: 10000, Message: fmt.Sprintf("invalid request parameters: more than %d parameters", MaxParams)}
	errAuthFailed    = &engine.Error{Code: 4100, Module: 10030, Message: "authentication failed"}
	errNoSecretID    = &engine.Error{Code: 4100, Module: 10030, Message: "authentication failed: parameter SecretId is missing"}
	errNoSignature   = &engine.Error{Code: 4100, Module: 10030, Message: "authentication failed: parameter Signature is missing"}
	errNoTimestamp   = &engine.Error{Code: 4100, Module: 10030, Message: "authentication failed: parameter Timestamp is missing"}
	errBadTimestamp  = &engine.Error{Code: 4100, Module: 10030, Message: "authentication failed: parameter Timestamp must be unix seconds"}
	errSecretID      = &engine.Error{Code: 4100, Module: 10270, Message: "secret id is not existed"}
	// Requests the HTTP server could not read (see Server.unparsable).
	errUnparsable      = &engine.Error{Code: 4000, Module: 10420, Message: "cannot parse request: malformed HTTP"}
	errHeadersTooLarge = &engine.Error{Code: 4000, Module: 10420, Message: "cannot parse request: the request line and headers are too large"}
	errRequestTimeout  = &engine.Error{Code: 4000, Module: 10420, Message: "cannot parse request: the request did not arrive in time"}
	// The replay refusals are the engine's, so a replay is answered alike whether this
	// node's cache or the replicated record (engine.WithReplayKey) catches it.
	errReplay     = engine.ErrReplayed
	errReplayFull = engine.ErrReplayTooOld
)

// clip shortens client-supplied text quoted in an error message.
func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}

func errMethod(m []byte) error {
	return &engine.Error{Code: 4000, Module: 10410, Message: fmt.Sprintf("unexpected http %s, only GET or POST is supported", clip(m))}
}

func errTooLarge(limit int) error {
	return &engine.Error{Code: 4000, Module: 10420, Message: fmt.Sprintf("cannot parse request, or request size is more than %s", sizeText(limit))}
}

func sizeText(n int) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%dMB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

func errRepeated(name []byte) error {
	return &engine.Error{Code: 4000, Module: 10330, Message: fmt.Sprintf("parameter %s is NOT a repeatable parameter", clip(name))}
}

func errRepeatedIndex(prefix string, n uint32) error {
	return &engine.Error{Code: 4000, Module: 10330, Message: fmt.Sprintf("parameter %s%d is NOT a repeatable parameter", prefix, n)}
}

func errMissing(name string) error {
	return &engine.Error{Code: 4000, Module: 10390, Message: "lacked of required parameter " + name}
}

func errType(name string) error {
	return &engine.Error{Code: 4000, Module: 10360, Message: "parameter " + name + " error type: must be an integer"}
}

func errRange(name string, lo, hi int64) error {
	return errRangeMsg(name, fmt.Sprintf("must be %d-%d", lo, hi))
}

func errRangeMsg(name, detail string) error {
	return &engine.Error{Code: 4000, Module: 10350, Message: "parameter " + name + " value or length is out of range: " + detail}
}

func errBatchSize(prefix string) error {
	return &engine.Error{Code: 4000, Module: 10370, Message: fmt.Sprintf("%sn parameter batch size is out of range: 1-%d", prefix, maxBatch)}
}

func errNotConsecutive(prefix string) error {
	return &engine.Error{Code: 4000, Module: 10380, Message: prefix + "n parameter is not consequent: indexes must run 0..n-1 or 1..n"}
}

func errKeyFormat(name []byte) error {
	return &engine.Error{Code: 4000, Module: 10310, Message: fmt.Sprintf("parameter %s key format error", clip(name))}
}

func errUnknownAction(a []byte) error {
	return &engine.Error{Code: 4000, Module: 10430, Message: fmt.Sprintf("action name %s is not existed", clip(a))}
}

func errNotUTF8(name string, offset int) error {
	return &engine.Error{Code: 4000, Module: 10110, Message: fmt.Sprintf("request parameters error: %s is not valid UTF-8 (at byte %d); message bodies are text, encode binary data (e.g. Base64)", name, offset)}
}

func errTimestamp(ts, now int64, window int64) error {
	return &engine.Error{Code: 4100, Module: 10030, Message: fmt.Sprintf("authentication failed: Timestamp %d is more than %d seconds from the server time %d; check the client's clock", ts, window, now)}
}

// asCMQError maps any error to the CMQ error the client sees: an *engine.Error as it is,
// anything else as 6000/10050 with the error's text.
func asCMQError(err error) *engine.Error {
	var e *engine.Error
	if errors.As(err, &e) {
		return e
	}
	return &engine.Error{Code: engine.ErrInternal.Code, Module: engine.ErrInternal.Module, Message: engine.ErrInternal.Message + ": " + err.Error()}
}
