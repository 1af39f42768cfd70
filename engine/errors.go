package engine

import (
	"errors"
	"fmt"
)

// Error is an API error with the codes CMQ clients expect: Code is CMQ's coarse error class
// (the JSON "code"), Module the documented module error code that CMQ prints inside the
// message, e.g. "(10100)queue is not existed, or deleted".
type Error struct {
	Code    int
	Module  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("(%d)%s", e.Module, e.Message) }

// Is makes errors.Is match on the (Code, Module) pair, so callers can compare against the
// sentinel values below even when the message carries details.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Module == e.Module
}

// Sentinels, one per distinct condition. Compare with errors.Is.
var (
	ErrInvalidParameter  = &Error{Code: 4000, Module: 10110, Message: "request parameters error"}
	ErrParameterRange    = &Error{Code: 4000, Module: 10350, Message: "parameter value or length is out of range"}
	ErrBatchSize         = &Error{Code: 4000, Module: 10370, Message: "parameter batch size is out of range"}
	ErrQueueName         = &Error{Code: 4000, Module: 10020, Message: "queue name format error"}
	ErrEmptyBody         = &Error{Code: 4000, Module: 10120, Message: "message body can't be empty"}
	ErrQueueNotExist     = &Error{Code: 4440, Module: 10100, Message: "queue is not existed, or deleted"}
	ErrQueueExists       = &Error{Code: 4460, Module: 10020, Message: "queue is already existed, case insensitive"}
	ErrTooManyQueues     = &Error{Code: 4450, Module: 10220, Message: "number of queues has reached the limit"}
	ErrMsgTooLarge       = &Error{Code: 4400, Module: 10230, Message: "exceed maximum message size"}
	ErrBatchTooLarge     = &Error{Code: 4470, Module: 10300, Message: "total message size exceed limit"}
	ErrQueueFull         = &Error{Code: 4410, Module: 10240, Message: "reach maximum retention number of message"}
	ErrTooManyUnacked    = &Error{Code: 6070, Module: 10690, Message: "too many unacked(inactive) messages or delayed messages"}
	ErrNoMessage         = &Error{Code: 7000, Module: 10200, Message: "no message"}
	ErrHandleMalformed   = &Error{Code: 4430, Module: 10260, Message: "receipt handle is invalid"}
	ErrHandleWrongQueue  = &Error{Code: 4430, Module: 10261, Message: "receipt handle belongs to another queue"}
	ErrHandleStale       = &Error{Code: 4430, Module: 10262, Message: "receipt handle is stale: the message was received again or its visibility timeout passed"}
	ErrHandleDeleted     = &Error{Code: 4430, Module: 10263, Message: "message already deleted"}
	ErrRewindDisabled    = &Error{Code: 6050, Module: 10670, Message: "your queue cannot be rewinded"}
	ErrRewindTime        = &Error{Code: 4000, Module: 10680, Message: "invalid rewind time"}
	ErrRewindRetention   = &Error{Code: 4000, Module: 10700, Message: "rewindSeconds cannot be greater than msgRetentionSeconds"}
	ErrDeadLetterJSON    = &Error{Code: 4000, Module: 10710, Message: "deadLetterPolicy must be a json string"}
	ErrDeadLetterParams  = &Error{Code: 4000, Module: 10720, Message: "deadLetterPolicy params error"}
	ErrDeadLetterMissing = &Error{Code: 4000, Module: 10730, Message: "deadLetter queue not exist"}
	ErrDeadLetterNest    = &Error{Code: 4000, Module: 10740, Message: "deadLetter queue is not allowed to nest"}
	ErrIsDeadLetterQueue = &Error{Code: 4000, Module: 10750, Message: "queue is a dead letter queue, cannot be deleted"}
	ErrDeadLetterBound   = &Error{Code: 4000, Module: 10780, Message: "deadLetter queue bound too many times"}
	ErrInternal          = &Error{Code: 6000, Module: 10050, Message: "server internal error"}
	// ErrReplayed refuses a signed request that was already applied (see WithReplayKey).
	ErrReplayed = &Error{Code: 4100, Module: 10030, Message: "authentication failed: replayed request: this signature was already used; sign every request with a fresh Nonce or Timestamp"}
	// ErrReplayTooOld refuses a signed request whose twin may have been forgotten: its
	// Timestamp is about to leave the window, or the replay record is full.
	ErrReplayTooOld = &Error{Code: 4100, Module: 10030, Message: "authentication failed: Timestamp is too old for the replay record (the server is under heavy load, or clocks are off); check the client's clock"}
)

// ErrOutcomeUnknown is returned when a command was handed to the log but its result could
// not be observed (the caller's context ended first, or the engine closed). The command may
// or may not have taken effect: retry idempotently or check.
var ErrOutcomeUnknown = errors.New("engine: outcome unknown: the command may or may not have been applied")

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("engine: closed")

// errorf returns a copy of sentinel with a detail appended to its message.
func errorf(sentinel *Error, format string, args ...any) *Error {
	return &Error{Code: sentinel.Code, Module: sentinel.Module, Message: sentinel.Message + ": " + fmt.Sprintf(format, args...)}
}

// CodeOf returns the CMQ (code, module) of err: the values of an *Error, 6000/10050 for any
// other non-nil error, (0, 0) for nil.
func CodeOf(err error) (code, module int) {
	if err == nil {
		return 0, 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code, e.Module
	}
	return ErrInternal.Code, ErrInternal.Module
}
