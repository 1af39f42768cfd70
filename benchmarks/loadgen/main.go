// Command loadgen is a load generator for opencmq and for the brokers it is compared with
// (RabbitMQ, NATS JetStream), plus two ceilings (a bare fasthttp server, raw fsync).
//
// Adapters (--adapter):
//
//	opencmq-http      httpapi/client against a running cmqd (--endpoint, comma-separated for a cluster)
//	opencmq-engine    the engine in-process, durable (--raft: behind a one-voter raft node, as cmqd)
//	opencmq-inproc    cmqd's server path in-process (httpapi on fasthttp + engine, --raft), driven
//	                  over loopback HTTP: with --cpuprofile it profiles client and server together
//	rabbitmq          amqp091-go: durable queue, persistent messages, publisher confirms, manual acks
//	nats              nats.go JetStream: file storage, work-queue retention, PubAck, pull consumer
//	fasthttp-ceiling  a bare fasthttp server answering a fixed JSON, same client (produce only)
//	fsync-ceiling     append --batch records and fsync, per producer file (produce only)
//
// Every adapter runs the same workloads (--workload):
//
//	produce  P producers; each send waits for the broker's durable acknowledgement
//	e2e      P producers and C consumers together; end-to-end latency from a timestamp in the body
//	drain    preload N messages (untimed), then C consumers receive+ack until all are gone
//
// Examples:
//
//	loadgen --adapter opencmq-engine --workload produce --producers 32
//	loadgen --adapter opencmq-http --endpoint http://127.0.0.1:8080 --secret-id AKID… --secret-key … \
//	        --workload e2e --producers 32 --consumers 8 --batch 16
//	loadgen --adapter rabbitmq --amqp-url amqp://guest:guest@127.0.0.1:5672/ --workload drain --n 300000 --consumers 8
//	loadgen --adapter nats --nats-url nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224 \
//	        --nats-replicas 3 --workload produce --producers 32
//
// --endpoint, --amqp-url and --nats-url take a comma-separated list (the nodes of a cluster);
// worker i uses the i mod n-th.
//
// Each run prints one result line (or one JSON line with --json); after all --repeat runs
// a markdown table row with the medians. A progress line goes to stderr once a second.
// benchmarks/scripts/bench-opencmq.sh and bench-compare.sh run the standard sets;
// benchmarks/RESULTS.md has the numbers measured so far.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// config is the parsed command line.
type config struct {
	adapter   string
	workload  string
	producers int
	consumers int
	batch     int
	recvBatch int
	size      int
	warmup    time.Duration
	duration  time.Duration
	n         int
	repeat    int
	json      bool
	label     string
	timeout   time.Duration
	preloadP  int
	quiet     bool
	rate      float64

	cpuProfile string

	// opencmq-http and fasthttp-ceiling
	endpoints   []string
	secretID    string
	secretKey   string
	httpClients string
	// httpTransport is what the opencmq client sends with: fasthttp or net/http.
	httpTransport string
	sigMethod     string
	queue         string

	// opencmq-engine, opencmq-inproc
	engineDir string
	raft      bool

	// rabbitmq
	amqpURLs     []string // worker i uses amqpURLs[i mod n]; the queue is declared through the first
	rabbitQuorum bool
	prefetch     int

	// nats
	natsURLs     []string // worker i connects to natsURLs[i mod n] first (the others are its fallbacks)
	natsAck      string
	natsReplicas int

	// fsync-ceiling
	fsyncDir string
}

const usageHeader = `loadgen — load generator for opencmq, RabbitMQ and NATS JetStream (same workloads for each).

Usage:
  loadgen --adapter A --workload W [flags]

Adapters: %s
Workloads: produce (P producers, send waits for the durable ack), e2e (P producers + C consumers,
end-to-end latency), drain (preload --n messages, then C consumers only).
fasthttp-ceiling and fsync-ceiling support only produce.

Flags:
`

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.adapter, "adapter", "", "broker adapter: "+strings.Join(adapterNames(), ", "))
	fs.StringVar(&c.workload, "workload", "produce", "workload: produce, e2e or drain")
	fs.IntVar(&c.producers, "producers", 1, "producer workers (produce, e2e)")
	fs.IntVar(&c.consumers, "consumers", 0, "consumer workers (e2e, drain)")
	fs.IntVar(&c.batch, "batch", 1, "messages per send: 1 (SendMessage) .. 16 (BatchSendMessage); fsync-ceiling: records per fsync, up to 1024")
	fs.IntVar(&c.recvBatch, "recv-batch", 16, "messages per receive (1..16)")
	fs.IntVar(&c.size, "size", 1024, "message body size in bytes (>= 32)")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "warm-up before the measured window (produce, e2e)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured window (produce, e2e)")
	fs.IntVar(&c.n, "n", 100000, "drain: messages to preload and consume")
	fs.IntVar(&c.preloadP, "preload-producers", 16, "drain: workers preloading with batches of 16")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "drain: upper bound of the preload and of the consume phase each")
	fs.IntVar(&c.repeat, "repeat", 1, "runs; the summary row has the medians")
	fs.BoolVar(&c.json, "json", false, "print one JSON line per run instead of a text line")
	fs.StringVar(&c.label, "label", "", "label of the summary row (default: adapter workload P/C/batch)")
	fs.Float64Var(&c.rate, "rate", 0, "produce, e2e: total target send rate in msgs/s, paced per producer (0: as fast as acks come back)")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress line on stderr")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (useful for the in-process adapters) to FILE")

	var endpoints string
	fs.StringVar(&endpoints, "endpoint", "http://127.0.0.1:8080", "opencmq-http: cmqd endpoint(s), comma-separated; worker i uses endpoint i mod n")
	fs.StringVar(&c.secretID, "secret-id", os.Getenv("CMQ_SECRET_ID"), "opencmq-http: SecretId (default $CMQ_SECRET_ID)")
	fs.StringVar(&c.secretKey, "secret-key", os.Getenv("CMQ_SECRET_KEY"), "opencmq-http: SecretKey (default $CMQ_SECRET_KEY)")
	fs.StringVar(&c.httpTransport, "http-transport", "fasthttp", "opencmq-http, fasthttp-ceiling: what the opencmq Go client sends with: fasthttp (client.WithFastHTTP) or net/http")
	fs.StringVar(&c.httpClients, "http-clients", "shared", "opencmq-http, fasthttp-ceiling: shared (one client and connection pool per endpoint for all workers) or per-worker")
	fs.StringVar(&c.sigMethod, "signature-method", "HmacSHA1", "opencmq-http: HmacSHA1 or HmacSHA256")
	fs.StringVar(&c.queue, "queue", "loadgen", "queue/stream name prefix (each run uses a fresh one)")
	fs.StringVar(&c.engineDir, "engine-dir", "", "opencmq-engine: data directory (default: a fresh temp dir, removed afterwards)")
	fs.BoolVar(&c.raft, "raft", false, "opencmq-engine, opencmq-inproc: put the engine behind a one-voter raft node, as cmqd does (default: the standalone journal)")
	var amqpURLs, natsURLs string
	fs.StringVar(&amqpURLs, "amqp-url", "amqp://guest:guest@127.0.0.1:5672/", "rabbitmq: AMQP URL(s), comma-separated for a cluster; worker i uses URL i mod n")
	fs.BoolVar(&c.rabbitQuorum, "rabbit-quorum", false, "rabbitmq: quorum queue (x-queue-type=quorum) instead of a classic durable queue")
	fs.IntVar(&c.prefetch, "prefetch", 64, "rabbitmq: consumer prefetch (basic.qos)")
	fs.StringVar(&natsURLs, "nats-url", "nats://127.0.0.1:4222", "nats: server URL(s), comma-separated for a cluster; worker i connects to URL i mod n first")
	fs.StringVar(&c.natsAck, "nats-ack", "ack", "nats: ack (Ack per message, no server reply awaited) or sync (AckSync per message)")
	fs.IntVar(&c.natsReplicas, "nats-replicas", 1, "nats: the stream's replicas (1..5; more than 1 needs a JetStream cluster of at least that many servers)")
	fs.StringVar(&c.fsyncDir, "fsync-dir", "", "fsync-ceiling: directory for the files (default: a fresh temp dir)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), usageHeader, strings.Join(adapterNames(), ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.endpoints = splitList(endpoints)
	c.amqpURLs = splitList(amqpURLs)
	c.natsURLs = splitList(natsURLs)
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// validate checks the flags against each other.
func (c *config) validate() error {
	a, ok := adapters[c.adapter]
	if !ok {
		return fmt.Errorf("--adapter %q: want one of %s", c.adapter, strings.Join(adapterNames(), ", "))
	}
	switch c.workload {
	case "produce":
		if c.producers < 1 {
			return errors.New("produce needs --producers >= 1")
		}
	case "e2e":
		if c.producers < 1 || c.consumers < 1 {
			return errors.New("e2e needs --producers >= 1 and --consumers >= 1")
		}
	case "drain":
		if c.consumers < 1 {
			return errors.New("drain needs --consumers >= 1")
		}
		if c.n < 1 {
			return errors.New("drain needs --n >= 1")
		}
		if c.preloadP < 1 {
			return errors.New("--preload-producers must be >= 1")
		}
	default:
		return fmt.Errorf("--workload %q: want produce, e2e or drain", c.workload)
	}
	if c.workload != "produce" && !a.canReceive {
		return fmt.Errorf("--adapter %s supports only --workload produce", c.adapter)
	}
	if c.producers < 0 || c.consumers < 0 || c.producers > 4096 || c.consumers > 4096 {
		return errors.New("--producers and --consumers must be in 0..4096")
	}
	maxBatch := 16
	if c.adapter == "fsync-ceiling" {
		maxBatch = 1024
	}
	if c.batch < 1 || c.batch > maxBatch {
		return fmt.Errorf("--batch %d: want 1..%d", c.batch, maxBatch)
	}
	if c.recvBatch < 1 || c.recvBatch > 16 {
		return fmt.Errorf("--recv-batch %d: want 1..16", c.recvBatch)
	}
	if c.size < 32 || c.size > 65536 {
		return fmt.Errorf("--size %d: want 32..65536", c.size)
	}
	if c.duration <= 0 || c.warmup < 0 {
		return errors.New("--duration must be positive and --warmup not negative")
	}
	if c.duration+c.warmup > time.Hour {
		return errors.New("--warmup + --duration must not exceed 1h")
	}
	if c.timeout <= 0 || c.timeout > time.Hour {
		return errors.New("--timeout must be in (0, 1h]")
	}
	if c.rate < 0 {
		return errors.New("--rate must not be negative")
	}
	if c.repeat < 1 || c.repeat > 100 {
		return fmt.Errorf("--repeat %d: want 1..100", c.repeat)
	}
	if c.httpTransport != "fasthttp" && c.httpTransport != "net/http" {
		return fmt.Errorf("--http-transport %q: want fasthttp or net/http", c.httpTransport)
	}
	if c.httpClients != "shared" && c.httpClients != "per-worker" {
		return fmt.Errorf("--http-clients %q: want shared or per-worker", c.httpClients)
	}
	if c.natsAck != "ack" && c.natsAck != "sync" {
		return fmt.Errorf("--nats-ack %q: want ack or sync", c.natsAck)
	}
	if c.natsReplicas < 1 || c.natsReplicas > 5 {
		return fmt.Errorf("--nats-replicas %d: want 1..5", c.natsReplicas)
	}
	if c.adapter == "nats" && len(c.natsURLs) == 0 {
		return errors.New("nats needs --nats-url")
	}
	if c.adapter == "rabbitmq" && len(c.amqpURLs) == 0 {
		return errors.New("rabbitmq needs --amqp-url")
	}
	if c.prefetch < 1 {
		return errors.New("--prefetch must be >= 1")
	}
	if c.adapter == "opencmq-http" {
		if len(c.endpoints) == 0 {
			return errors.New("opencmq-http needs --endpoint")
		}
		if c.secretID == "" || c.secretKey == "" {
			return errors.New("opencmq-http needs --secret-id and --secret-key (or $CMQ_SECRET_ID, $CMQ_SECRET_KEY)")
		}
	}
	if c.queue == "" || len(c.queue) > 40 {
		return errors.New("--queue must be 1..40 characters")
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping blanks around and between items.
func splitList(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func (c *config) rowLabel() string {
	if c.label != "" {
		return c.label
	}
	switch c.workload {
	case "produce":
		return fmt.Sprintf("%s produce P=%d batch=%d", c.adapter, c.producers, c.batch)
	case "e2e":
		return fmt.Sprintf("%s e2e P=%d C=%d batch=%d", c.adapter, c.producers, c.consumers, c.batch)
	default:
		return fmt.Sprintf("%s drain N=%d C=%d", c.adapter, c.n, c.consumers)
	}
}

func main() {
	os.Exit(mainErr(os.Args[1:], os.Stdout, os.Stderr))
}

func mainErr(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "loadgen: %v\n", err)
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	var progress io.Writer = stderr
	if cfg.quiet {
		progress = io.Discard
	}
	results, err := runAll(ctx, cfg, progress)
	for _, r := range results {
		r.print(stdout, cfg.json)
	}
	if len(results) > 0 {
		fmt.Fprintln(stdout, summaryHeader())
		fmt.Fprintln(stdout, summaryRow(cfg, results))
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 1
	}
	return 0
}

// runAll opens the driver and does the --repeat runs.
func runAll(ctx context.Context, cfg *config, progress io.Writer) ([]*result, error) {
	drv, err := adapters[cfg.adapter].open(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.adapter, err)
	}
	defer drv.Close()
	var results []*result
	for run := range cfg.repeat {
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
		r, err := runOnce(ctx, cfg, drv, run, progress)
		if r != nil {
			r.Setup = drv.Describe()
			results = append(results, r)
		}
		if err != nil {
			return results, fmt.Errorf("run %d: %w", run+1, err)
		}
	}
	return results, nil
}
