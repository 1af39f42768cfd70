// Package benchmarks holds opencmq's performance measurements: Go benchmarks of the
// embedded engine (durable send, receive+delete, end-to-end), of the raw fsync rate of the
// disk underneath, and memory measurements (heap per queued message, per empty queue,
// restart time). It has no non-test code besides this comment; see README.md for how to
// run everything and RESULTS.md for the numbers measured so far.
//
// The large measurements (10M queued messages, restart) are in TestMeasureBig, which runs
// only with OPENCMQ_BIG=1 so that `go test ./...` stays fast.
package benchmarks
