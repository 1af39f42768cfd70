package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	var l latencies
	for i := 1; i <= 1000; i++ {
		l = append(l, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{
		{50, 500 * time.Millisecond},
		{99, 990 * time.Millisecond},
		{99.9, 999 * time.Millisecond},
		{100, 1000 * time.Millisecond},
		{0, 1 * time.Millisecond},
		{0.05, 1 * time.Millisecond},
	} {
		if got := l.percentile(c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := (latencies{}).percentile(50); got != 0 {
		t.Errorf("empty: %v", got)
	}
	one := latencies{7}
	if one.percentile(50) != 7 || one.percentile(99.9) != 7 {
		t.Errorf("single sample: %v %v", one.percentile(50), one.percentile(99.9))
	}
	// Small sets: p99 of 10 samples is the largest (rank ceil(9.9) = 10).
	ten := latencies{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if ten.percentile(99) != 10 || ten.percentile(50) != 5 || ten.percentile(90) != 9 {
		t.Errorf("ten: p50 %v p90 %v p99 %v", ten.percentile(50), ten.percentile(90), ten.percentile(99))
	}
}

func TestMergeSorts(t *testing.T) {
	a := &recorder{samples: []time.Duration{5, 1, 9}}
	b := &recorder{samples: []time.Duration{3, 7}}
	got := merge([]*recorder{a, b})
	want := latencies{1, 3, 5, 7, 9}
	if len(got) != len(want) {
		t.Fatalf("merge = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("merge = %v, want %v", got, want)
		}
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("odd: %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("even: %v", m)
	}
	if m := median(nil); m != 0 {
		t.Errorf("empty: %v", m)
	}
	xs := []float64{3, 1, 2}
	median(xs)
	if xs[0] != 3 {
		t.Error("median reordered its argument")
	}
}

func TestBodyTimestamp(t *testing.T) {
	b := newBody(64)
	now := time.Unix(1_700_000_000, 123456789)
	fillBody(b, now)
	got, err := bodyTime(b)
	if err != nil || !got.Equal(now) {
		t.Fatalf("bodyTime = %v, %v; want %v", got, err, now)
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			t.Fatalf("body is not printable ASCII: %q", b)
		}
	}
	if _, err := bodyTime([]byte("short")); err == nil {
		t.Error("short body accepted")
	}
}

func TestFlagValidation(t *testing.T) {
	ok := []string{"--adapter", "opencmq-engine"}
	bad := map[string][]string{
		"no adapter":            {},
		"unknown adapter":       {"--adapter", "kafka"},
		"unknown workload":      {"--adapter", "opencmq-engine", "--workload", "soak"},
		"batch 0":               append(ok, "--batch", "0"),
		"batch 17":              append(ok, "--batch", "17"),
		"size too small":        append(ok, "--size", "8"),
		"size too large":        append(ok, "--size", "70000"),
		"e2e without consumers": append(ok, "--workload", "e2e", "--producers", "4"),
		"drain without n":       append(ok, "--workload", "drain", "--consumers", "2", "--n", "0"),
		"zero duration":         append(ok, "--duration", "0s"),
		"negative warmup":       append(ok, "--warmup", "-1s"),
		"zero producers":        append(ok, "--producers", "0"),
		"repeat 0":              append(ok, "--repeat", "0"),
		"recv batch 17":         append(ok, "--recv-batch", "17"),
		"negative rate":         append(ok, "--rate", "-5"),
		"bad http clients":      append(ok, "--http-clients", "pooled"),
		"bad http transport":    append(ok, "--http-transport", "grpc"),
		"bad nats ack":          append(ok, "--nats-ack", "never"),
		"nats replicas 0":       {"--adapter", "nats", "--nats-replicas", "0"},
		"nats replicas 7":       {"--adapter", "nats", "--nats-replicas", "7"},
		"nats replicas junk":    {"--adapter", "nats", "--nats-replicas", "three"},
		"nats no url":           {"--adapter", "nats", "--nats-url", " , "},
		"rabbitmq no url":       {"--adapter", "rabbitmq", "--amqp-url", ""},
		"ceiling e2e":           {"--adapter", "fasthttp-ceiling", "--workload", "e2e", "--consumers", "1"},
		"fsync batch too big":   {"--adapter", "fsync-ceiling", "--batch", "2048"},
		"http no credentials":   {"--adapter", "opencmq-http", "--secret-id", "", "--secret-key", ""},
		"stray argument":        append(ok, "extra"),
	}
	for name, args := range bad {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%s: %q accepted", name, args)
		}
	}
	good := [][]string{
		ok,
		append(ok, "--workload", "e2e", "--producers", "32", "--consumers", "8", "--batch", "16"),
		append(ok, "--workload", "drain", "--consumers", "8", "--n", "300000"),
		{"--adapter", "fsync-ceiling", "--batch", "64"},
		{"--adapter", "opencmq-http", "--secret-id", "a", "--secret-key", "b", "--endpoint", "http://127.0.0.1:1,http://127.0.0.1:2"},
		{"--adapter", "nats", "--nats-replicas", "3", "--nats-url", "nats://127.0.0.1:1,nats://127.0.0.1:2,nats://127.0.0.1:3"},
		{"--adapter", "nats", "--nats-replicas", "5"},
		{"--adapter", "rabbitmq", "--rabbit-quorum", "--amqp-url", "amqp://g:g@127.0.0.1:1/,amqp://g:g@127.0.0.1:2/"},
	}
	for _, args := range good {
		if _, err := parseFlags(args, io.Discard); err != nil {
			t.Errorf("%q refused: %v", args, err)
		}
	}
	c, _ := parseFlags([]string{"--adapter", "opencmq-http", "--secret-id", "a", "--secret-key", "b", "--endpoint", "http://x:1, http://y:2"}, io.Discard)
	if len(c.endpoints) != 2 || c.endpoints[1] != "http://y:2" {
		t.Errorf("endpoints = %q", c.endpoints)
	}
	c, _ = parseFlags([]string{"--adapter", "nats", "--nats-url", "nats://a:1,nats://b:2, nats://c:3", "--nats-replicas", "3"}, io.Discard)
	if c.natsReplicas != 3 || len(c.natsURLs) != 3 || c.natsURLs[2] != "nats://c:3" {
		t.Errorf("nats: replicas %d, urls %q", c.natsReplicas, c.natsURLs)
	}
	if c, _ = parseFlags([]string{"--adapter", "nats"}, io.Discard); c.natsReplicas != 1 {
		t.Errorf("nats replicas default = %d, want 1", c.natsReplicas)
	}
	c, _ = parseFlags([]string{"--adapter", "rabbitmq", "--amqp-url", "amqp://a/,amqp://b/"}, io.Discard)
	if len(c.amqpURLs) != 2 || c.amqpURLs[1] != "amqp://b/" {
		t.Errorf("amqp urls = %q", c.amqpURLs)
	}
}

func TestNATSServersRotate(t *testing.T) {
	urls := []string{"nats://a", "nats://b", "nats://c"}
	for i, want := range []string{"nats://a,nats://b,nats://c", "nats://b,nats://c,nats://a", "nats://c,nats://a,nats://b", "nats://a,nats://b,nats://c"} {
		if got := natsServers(urls, i); got != want {
			t.Errorf("natsServers(%d) = %q, want %q", i, got, want)
		}
	}
	if got := natsServers(urls[:1], 5); got != "nats://a" {
		t.Errorf("one server: %q", got)
	}
}

// runTiny runs loadgen's main with args and returns stdout.
func runTiny(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := mainErr(args, &out, &errb); code != 0 {
		t.Fatalf("loadgen %q: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out.String(), errb.String())
	}
	return out.String()
}

func decodeRuns(t *testing.T, out string) []result {
	t.Helper()
	var rs []result
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "{") {
			var r result
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("bad JSON line %q: %v", line, err)
			}
			rs = append(rs, r)
		}
	}
	return rs
}

func TestEngineTinyRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("fsyncs on the real disk")
	}
	dir := t.TempDir()
	common := []string{"--adapter", "opencmq-engine", "--engine-dir", dir, "--json", "--quiet", "--size", "256"}

	out := runTiny(t, append(common, "--workload", "produce", "--producers", "4", "--batch", "16",
		"--warmup", "100ms", "--duration", "500ms", "--repeat", "2")...)
	rs := decodeRuns(t, out)
	if len(rs) != 2 {
		t.Fatalf("want 2 runs, got %d:\n%s", len(rs), out)
	}
	for _, r := range rs {
		if r.Msgs <= 0 || r.MsgsPerSec <= 0 || r.Errors != 0 || r.Latency != "send-ack" || r.P50ms <= 0 || r.P99ms < r.P50ms {
			t.Errorf("produce run: %+v", r)
		}
		if r.Msgs%16 != 0 {
			t.Errorf("batch 16 counted %d messages", r.Msgs)
		}
	}
	if !strings.Contains(out, "| opencmq-engine produce P=4 batch=16 |") {
		t.Errorf("no summary row:\n%s", out)
	}

	out = runTiny(t, append(common, "--workload", "e2e", "--producers", "2", "--consumers", "2",
		"--warmup", "100ms", "--duration", "600ms", "--rate", "2000")...)
	rs = decodeRuns(t, out)
	if len(rs) != 1 || rs[0].Msgs <= 0 || rs[0].Latency != "end-to-end" || rs[0].Errors != 0 || rs[0].SentPerSec <= 0 {
		t.Fatalf("e2e: %s", out)
	}
	// Paced at 2000 msgs/s: the producers may not exceed it by much.
	if rs[0].SentPerSec > 2600 {
		t.Errorf("e2e sent %v msgs/s with --rate 2000", rs[0].SentPerSec)
	}

	out = runTiny(t, append(common, "--workload", "drain", "--n", "500", "--consumers", "3", "--preload-producers", "2")...)
	rs = decodeRuns(t, out)
	if len(rs) != 1 || rs[0].Msgs != 500 || rs[0].Latency != "receive+ack" || rs[0].Errors != 0 || rs[0].PreloadPerSec <= 0 {
		t.Fatalf("drain: %s", out)
	}
}

// TestInprocRaftTiny runs cmqd's path in-process: httpapi over fasthttp, the engine behind a
// one-voter raft node, driven by httpapi/client; e2e so that send, receive and delete all go
// over HTTP.
func TestInprocRaftTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("fsyncs on the real disk")
	}
	out := runTiny(t, "--adapter", "opencmq-inproc", "--raft", "--engine-dir", t.TempDir(), "--json", "--quiet",
		"--workload", "e2e", "--producers", "2", "--consumers", "1", "--batch", "4",
		"--warmup", "100ms", "--duration", "500ms")
	rs := decodeRuns(t, out)
	if len(rs) != 1 || rs[0].Msgs <= 0 || rs[0].Errors != 0 || !strings.Contains(rs[0].Setup, "raft") {
		t.Fatalf("inproc raft e2e: %s", out)
	}
}

func TestCeilingsTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("fsyncs on the real disk")
	}
	out := runTiny(t, "--adapter", "fsync-ceiling", "--fsync-dir", t.TempDir(), "--batch", "64", "--size", "1024",
		"--warmup", "0s", "--duration", "300ms", "--json", "--quiet")
	rs := decodeRuns(t, out)
	if len(rs) != 1 || rs[0].Msgs <= 0 || rs[0].Msgs%64 != 0 {
		t.Fatalf("fsync-ceiling: %s", out)
	}
	out = runTiny(t, "--adapter", "fasthttp-ceiling", "--producers", "4",
		"--warmup", "0s", "--duration", "300ms", "--json", "--quiet")
	rs = decodeRuns(t, out)
	if len(rs) != 1 || rs[0].Msgs <= 0 || rs[0].Errors != 0 {
		t.Fatalf("fasthttp-ceiling: %s", out)
	}
}

func TestUnreachableBrokersFail(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens, the connection is refused at once.
	if _, err := openRabbitMQ(ctx, &config{amqpURLs: []string{"amqp://guest:guest@127.0.0.1:1/"}}); err == nil {
		t.Error("rabbitmq: no error")
	}
	if _, err := openNATS(ctx, &config{natsURLs: []string{"nats://127.0.0.1:1"}}); err == nil {
		t.Error("nats: no error")
	}
}
