package main

import (
	"context"

	"github.com/opencmq/opencmq/engine"
)

// The topic half of startingBackend (httpapi.Backend): forwards to the engine once it is
// open and refuses calls before.

func (s *startingBackend) CreateTopic(ctx context.Context, ns, name string, a engine.TopicAttributes) (string, error) {
	e, err := s.get()
	if err != nil {
		return "", err
	}
	return e.CreateTopic(ctx, ns, name, a)
}

func (s *startingBackend) SetTopicAttributes(ctx context.Context, ns, name string, maxMsgSize int64) error {
	e, err := s.get()
	if err != nil {
		return err
	}
	return e.SetTopicAttributes(ctx, ns, name, maxMsgSize)
}

func (s *startingBackend) DeleteTopic(ctx context.Context, ns, name string) error {
	e, err := s.get()
	if err != nil {
		return err
	}
	return e.DeleteTopic(ctx, ns, name)
}

func (s *startingBackend) ListTopics(ctx context.Context, ns, search string, offset, limit int) (int, []engine.TopicRef, error) {
	e, err := s.get()
	if err != nil {
		return 0, nil, err
	}
	return e.ListTopics(ctx, ns, search, offset, limit)
}

func (s *startingBackend) GetTopicAttributes(ctx context.Context, ns, name string) (engine.TopicInfo, error) {
	e, err := s.get()
	if err != nil {
		return engine.TopicInfo{}, err
	}
	return e.GetTopicAttributes(ctx, ns, name)
}

func (s *startingBackend) PublishMessage(ctx context.Context, ns, topic string, bodies [][]byte, tags []string, routingKey string) ([]string, error) {
	e, err := s.get()
	if err != nil {
		return nil, err
	}
	return e.PublishMessage(ctx, ns, topic, bodies, tags, routingKey)
}

func (s *startingBackend) Subscribe(ctx context.Context, ns, topic string, cfg engine.SubscriptionConfig) (string, error) {
	e, err := s.get()
	if err != nil {
		return "", err
	}
	return e.Subscribe(ctx, ns, topic, cfg)
}

func (s *startingBackend) SetSubscriptionAttributes(ctx context.Context, ns, topic, name string, u engine.SubscriptionUpdate) error {
	e, err := s.get()
	if err != nil {
		return err
	}
	return e.SetSubscriptionAttributes(ctx, ns, topic, name, u)
}

func (s *startingBackend) Unsubscribe(ctx context.Context, ns, topic, name string) error {
	e, err := s.get()
	if err != nil {
		return err
	}
	return e.Unsubscribe(ctx, ns, topic, name)
}

func (s *startingBackend) ClearSubscriptionFilterTags(ctx context.Context, ns, topic, name string) error {
	e, err := s.get()
	if err != nil {
		return err
	}
	return e.ClearSubscriptionFilterTags(ctx, ns, topic, name)
}

func (s *startingBackend) ListSubscriptions(ctx context.Context, ns, topic, search string, offset, limit int) (int, []engine.SubscriptionRef, error) {
	e, err := s.get()
	if err != nil {
		return 0, nil, err
	}
	return e.ListSubscriptions(ctx, ns, topic, search, offset, limit)
}

func (s *startingBackend) GetSubscriptionAttributes(ctx context.Context, ns, topic, name string) (engine.SubscriptionInfo, error) {
	e, err := s.get()
	if err != nil {
		return engine.SubscriptionInfo{}, err
	}
	return e.GetSubscriptionAttributes(ctx, ns, topic, name)
}
