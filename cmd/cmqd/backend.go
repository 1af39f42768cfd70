package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/httpapi"
)

// errStarting answers API calls that arrive while the engine is still recovering (cmqd
// listens, and answers /healthz and /readyz, before the engine is open).
var errStarting = &engine.Error{Code: 6000, Module: 10050, Message: "server is starting: the queue engine is still recovering, retry shortly"}

// startingBackend forwards to the engine once it is open and refuses calls before.
type startingBackend struct {
	b atomic.Pointer[engine.Engine]
}

var _ httpapi.Backend = (*startingBackend)(nil)

func (s *startingBackend) get() (*engine.Engine, error) {
	if e := s.b.Load(); e != nil {
		return e, nil
	}
	return nil, errStarting
}

func (s *startingBackend) CreateQueue(ctx context.Context, ns, name string, a engine.QueueAttributes) (string, error) {
	e, err := s.get()
	if err != nil {
		return "", err
	}
	return e.CreateQueue(ctx, ns, name, a)
}

func (s *startingBackend) SetQueueAttributes(ctx context.Context, ns, name string, u engine.QueueAttributeUpdate) (engine.QueueAttributes, error) {
	e, err := s.get()
	if err != nil {
		return engine.QueueAttributes{}, err
	}
	return e.SetQueueAttributes(ctx, ns, name, u)
}

func (s *startingBackend) DeleteQueue(ctx context.Context, ns, name string) error {
	e, err := s.get()
	if err != nil {
		return err
	}
	return e.DeleteQueue(ctx, ns, name)
}

func (s *startingBackend) GetQueueAttributes(ctx context.Context, ns, name string) (engine.QueueInfo, error) {
	e, err := s.get()
	if err != nil {
		return engine.QueueInfo{}, err
	}
	return e.GetQueueAttributes(ctx, ns, name)
}

func (s *startingBackend) ListQueues(ctx context.Context, ns, search string, offset, limit int) (int, []engine.QueueRef, error) {
	e, err := s.get()
	if err != nil {
		return 0, nil, err
	}
	return e.ListQueues(ctx, ns, search, offset, limit)
}

func (s *startingBackend) ListDeadLetterSourceQueues(ctx context.Context, ns, dlq, search string, offset, limit int) (int, []engine.QueueRef, error) {
	e, err := s.get()
	if err != nil {
		return 0, nil, err
	}
	return e.ListDeadLetterSourceQueues(ctx, ns, dlq, search, offset, limit)
}

func (s *startingBackend) BatchSendMessage(ctx context.Context, ns, name string, bodies [][]byte, delaySeconds int64) ([]string, error) {
	e, err := s.get()
	if err != nil {
		return nil, err
	}
	return e.BatchSendMessage(ctx, ns, name, bodies, delaySeconds)
}

func (s *startingBackend) ReceiveMessage(ctx context.Context, ns, name string, n int, waitSeconds int64) ([]engine.Message, error) {
	e, err := s.get()
	if err != nil {
		return nil, err
	}
	return e.ReceiveMessage(ctx, ns, name, n, waitSeconds)
}

func (s *startingBackend) BatchDeleteMessage(ctx context.Context, ns, name string, handles []string) ([]error, error) {
	e, err := s.get()
	if err != nil {
		return nil, err
	}
	return e.BatchDeleteMessage(ctx, ns, name, handles)
}

func (s *startingBackend) ChangeMessageVisibility(ctx context.Context, ns, name, handle string, seconds int64) (time.Time, error) {
	e, err := s.get()
	if err != nil {
		return time.Time{}, err
	}
	return e.ChangeMessageVisibility(ctx, ns, name, handle, seconds)
}

func (s *startingBackend) RewindQueue(ctx context.Context, ns, name string, startConsumeTime int64) error {
	e, err := s.get()
	if err != nil {
		return err
	}
	return e.RewindQueue(ctx, ns, name, startConsumeTime)
}

func (s *startingBackend) UnbindDeadLetterQueue(ctx context.Context, ns, name string) error {
	e, err := s.get()
	if err != nil {
		return err
	}
	return e.UnbindDeadLetterQueue(ctx, ns, name)
}
