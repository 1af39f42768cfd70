package engine_test

import (
	"context"
	"fmt"
	"os"

	"github.com/opencmq/opencmq/engine"
)

// The engine embedded in a Go program: open a directory, create a queue, send, receive and
// delete.
func Example() {
	dir, _ := os.MkdirTemp("", "opencmq-example")
	defer os.RemoveAll(dir)

	e, err := engine.Open(dir, engine.Options{})
	if err != nil {
		panic(err)
	}
	defer e.Close()
	ctx := context.Background()

	if _, err := e.CreateQueue(ctx, "my-namespace", "orders", engine.DefaultQueueAttributes()); err != nil {
		panic(err)
	}
	if _, err := e.SendMessage(ctx, "my-namespace", "orders", []byte("order #1"), 0); err != nil {
		panic(err)
	}
	msgs, err := e.ReceiveMessage(ctx, "my-namespace", "orders", 16, 0)
	if err != nil {
		panic(err)
	}
	for _, m := range msgs {
		fmt.Printf("%s (received %d time)\n", m.Body, m.DequeueCount)
		if err := e.DeleteMessage(ctx, "my-namespace", "orders", m.ReceiptHandle); err != nil {
			panic(err)
		}
	}
	info, _ := e.GetQueueAttributes(context.Background(), "my-namespace", "orders")
	fmt.Println("left:", info.ActiveMsgNum+info.InactiveMsgNum+info.DelayMsgNum)
	// Output:
	// order #1 (received 1 time)
	// left: 0
}
