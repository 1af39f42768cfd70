// Command cmqctl is a command-line client for opencmq (and any CMQ v2 endpoint).
//
//	cmqctl [global flags] <command> [flags] [args]
//
// Commands:
//
//	queue create|list|get|set|delete|rewind   manage queues
//	send QUEUE [BODY...]                      send messages (stdin if no BODY)
//	receive QUEUE [--wait S] [--num N] [--delete]
//	delete QUEUE HANDLE...                    delete received messages by receipt handle
//	topic create|list|get|set|delete          manage topics
//	publish TOPIC [BODY...] [--tag T]... [--routing-key K]
//	sub create|list|get|set|delete|clear-tags manage a topic's subscriptions
//	call ACTION [name=value...]               any action, raw JSON out
//	cluster status|add|remove                 cmqd's raft group: view it, add or remove nodes
//	version
//
// Credentials come from --endpoint, --secret-id, --secret-key, or the environment variables
// CMQ_ENDPOINT, CMQ_SECRET_ID, CMQ_SECRET_KEY. The cluster commands use the admin token
// instead (--admin-token or CMQ_ADMIN_TOKEN). Output is human-readable unless --json is
// given, which prints each raw JSON response on its own line. Exit status: 0 success,
// 1 a request failed (the CMQ code and message are printed), 2 usage error.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/opencmq/opencmq/httpapi/client"
)

// DefaultEndpoint is where cmqd listens by default.
const DefaultEndpoint = "http://127.0.0.1:8080"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// env is the process environment a command runs in (replaced in tests).
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// exit statuses
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// usageError is a command-line mistake: printed with a hint, exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, g *globals, args []string) error
}

func commands() []command {
	return []command{
		{"queue", "manage queues: create, list, get, set, delete, rewind", runQueue},
		{"send", "send messages to a queue", runSend},
		{"receive", "receive (and optionally delete) messages", runReceive},
		{"delete", "delete received messages by receipt handle", runDelete},
		{"topic", "manage topics: create, list, get, set, delete", runTopic},
		{"publish", "publish messages to a topic (--tag, --routing-key)", runPublish},
		{"sub", "manage a topic's subscriptions: create, list, get, set, delete, clear-tags", runSub},
		{"call", "send any CMQ action with name=value parameters; prints the raw JSON", runCall},
		{"cluster", "cmqd's raft group: status, add, remove (admin token)", runCluster},
		{"version", "print the version", runVersion},
	}
}

const topUsage = `cmqctl — command-line client for opencmq / CMQ

Usage:
  cmqctl [global flags] <command> [flags] [args]

Commands:
%s
Global flags (accepted before or after the command):
%s
Environment: CMQ_ENDPOINT, CMQ_SECRET_ID, CMQ_SECRET_KEY, CMQ_ADMIN_TOKEN (flags win).
Run "cmqctl <command> --help" for a command's flags.
`

func printTopUsage(w io.Writer) {
	var cmds strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&cmds, "  %-9s %s\n", c.name, c.summary)
	}
	fs := flag.NewFlagSet("cmqctl", flag.ContinueOnError)
	(&globals{}).register(fs, func(string) string { return "" })
	var flags strings.Builder
	fs.SetOutput(&flags)
	fs.PrintDefaults()
	fmt.Fprintf(w, topUsage, cmds.String(), flags.String())
}

func run(ctx context.Context, args []string, e *env) int {
	g := &globals{env: e}
	top := flag.NewFlagSet("cmqctl", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	g.register(top, e.getenv)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printTopUsage(e.stdout)
			return exitOK
		}
		fmt.Fprintf(e.stderr, "cmqctl: %v\n", err)
		printTopUsage(e.stderr)
		return exitUsage
	}
	rest := top.Args()
	if len(rest) == 0 {
		printTopUsage(e.stderr)
		return exitUsage
	}
	name := rest[0]
	if name == "help" {
		printTopUsage(e.stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return report(e, c.run(ctx, g, rest[1:]))
		}
	}
	fmt.Fprintf(e.stderr, "cmqctl: unknown command %q\n\n", name)
	printTopUsage(e.stderr)
	return exitUsage
}

// report prints err (if any) and returns the exit status.
func report(e *env, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.stderr, "cmqctl: %s\n", ue.msg)
		return exitUsage
	}
	var ce *client.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(e.stderr, "cmqctl: %s failed: CMQ error code %d: %s", ce.Action, ce.Code, ce.Message)
		if ce.RequestID != "" {
			fmt.Fprintf(e.stderr, " (requestId %s)", ce.RequestID)
		}
		fmt.Fprintln(e.stderr)
		return exitFail
	}
	fmt.Fprintf(e.stderr, "cmqctl: %v\n", err)
	return exitFail
}

// globals are the connection and output flags every command accepts.
type globals struct {
	env        *env
	endpoint   string
	secretID   string
	secretKey  string
	jsonOut    bool
	timeout    time.Duration
	sigMethod  string
	get        bool
	insecure   bool
	caFile     string
	path       string
	adminToken string
	registered bool
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// register adds the global flags to fs, with defaults from the environment (or the values
// already parsed into g, for a subcommand's flag set).
func (g *globals) register(fs *flag.FlagSet, getenv func(string) string) {
	if !g.registered {
		g.endpoint = envOr(getenv, "CMQ_ENDPOINT", DefaultEndpoint)
		g.secretID = getenv("CMQ_SECRET_ID")
		g.secretKey = getenv("CMQ_SECRET_KEY")
		g.timeout = client.DefaultTimeout
		g.sigMethod = "HmacSHA1"
		g.path = client.DefaultPath
		g.adminToken = getenv("CMQ_ADMIN_TOKEN")
		g.registered = true
	}
	fs.StringVar(&g.endpoint, "endpoint", g.endpoint, "CMQ endpoint URL (env CMQ_ENDPOINT)")
	fs.StringVar(&g.secretID, "secret-id", g.secretID, "SecretId (env CMQ_SECRET_ID)")
	fs.StringVar(&g.secretKey, "secret-key", g.secretKey, "SecretKey (env CMQ_SECRET_KEY)")
	fs.BoolVar(&g.jsonOut, "json", g.jsonOut, "print the raw JSON response(s), one per line")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "timeout of one request (long polls get their wait on top)")
	fs.StringVar(&g.sigMethod, "signature-method", g.sigMethod, "HmacSHA1 or HmacSHA256")
	fs.BoolVar(&g.get, "get", g.get, "send requests as GET instead of POST")
	fs.StringVar(&g.path, "path", g.path, "API path")
	fs.BoolVar(&g.insecure, "insecure", g.insecure, "do not verify the server's TLS certificate")
	fs.StringVar(&g.caFile, "ca-cert", g.caFile, "PEM file of CA certificates to trust for HTTPS")
	fs.StringVar(&g.adminToken, "admin-token", g.adminToken, "admin token of cmqd's /cluster/ endpoints, for the cluster commands (env CMQ_ADMIN_TOKEN)")
}

// client builds the API client from the flags.
func (g *globals) client() (*client.Client, error) {
	if g.secretID == "" || g.secretKey == "" {
		return nil, usagef("no credentials: give --secret-id and --secret-key or set CMQ_SECRET_ID and CMQ_SECRET_KEY (cmqd prints them on its first start and keeps them in <data>/accounts.json)")
	}
	opts, err := g.options()
	if err != nil {
		return nil, err
	}
	opts = append(opts, client.WithSignatureMethodName(g.sigMethod), client.WithPath(g.path))
	if g.get {
		opts = append(opts, client.WithGET())
	}
	c, err := client.New(g.endpoint, g.secretID, g.secretKey, opts...)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return c, nil
}

// adminClient builds the client of the cluster commands: the admin token, no CMQ credentials.
func (g *globals) adminClient() (*client.Client, error) {
	opts, err := g.options()
	if err != nil {
		return nil, err
	}
	c, err := client.NewAdmin(g.endpoint, g.adminToken, opts...)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return c, nil
}

// options are the client options every client gets: the timeout and TLS.
func (g *globals) options() ([]client.Option, error) {
	opts := []client.Option{client.WithTimeout(g.timeout)}
	if g.insecure || g.caFile != "" {
		cfg := &tls.Config{InsecureSkipVerify: g.insecure}
		if g.caFile != "" {
			pem, err := os.ReadFile(g.caFile)
			if err != nil {
				return nil, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: no PEM certificates found", g.caFile)
			}
			cfg.RootCAs = pool
		}
		opts = append(opts, client.WithTLSConfig(cfg))
	}
	return opts, nil
}

// callCtx returns the context for API calls: under --json every raw response is printed.
func (g *globals) callCtx(ctx context.Context) context.Context {
	if !g.jsonOut {
		return ctx
	}
	return client.WithResponseHook(ctx, func(_ string, body []byte) {
		w := g.env.stdout
		w.Write(body)
		if len(body) == 0 || body[len(body)-1] != '\n' {
			io.WriteString(w, "\n")
		}
	})
}

// newFlagSet returns a subcommand's flag set with the global flags registered on it.
func (g *globals) newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(g.env.stdout) // parse prints --help here and discards the rest
	g.register(fs, g.env.getenv)
	globalNames := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { globalNames[f.Name] = true })
	fs.Usage = func() {
		own := flag.NewFlagSet(name, flag.ContinueOnError)
		own.SetOutput(fs.Output())
		fs.VisitAll(func(f *flag.Flag) {
			if !globalNames[f.Name] {
				own.Var(f.Value, f.Name, f.Usage)
			}
		})
		fmt.Fprintf(fs.Output(), "Usage: cmqctl %s\n", usage)
		n := 0
		own.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(fs.Output(), "\nFlags:")
			own.PrintDefaults()
		}
		fmt.Fprintln(fs.Output(), "\nGlobal flags (--endpoint, --secret-id, --secret-key, --json, …): see cmqctl --help")
	}
	return fs
}

// parse parses flags and positional arguments in any order ("--" ends the flags) and checks
// the positional count (max < 0: unbounded). --help prints the usage to stdout.
func parse(fs *flag.FlagSet, args []string, min, max int) ([]string, error) {
	stdout := fs.Output()
	fs.SetOutput(io.Discard)
	usage := func() string {
		var b strings.Builder
		fs.SetOutput(&b)
		fs.Usage()
		fs.SetOutput(io.Discard)
		return b.String()
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				io.WriteString(stdout, usage())
				return nil, err
			}
			return nil, usagef("%s: %v\n%s", fs.Name(), err, usage())
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		return nil, usagef("%s: wrong number of arguments\n%s", fs.Name(), usage())
	}
	return pos, nil
}

// table returns a tab writer for aligned human output.
func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// formatUnix renders unix seconds for humans ("-" for 0).
func formatUnix(s int64) string {
	if s == 0 {
		return "-"
	}
	return fmt.Sprintf("%s (%d)", time.Unix(s, 0).Format(time.RFC3339), s)
}

func runVersion(_ context.Context, g *globals, args []string) error {
	fs := g.newFlagSet("version", "version")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	fmt.Fprintf(g.env.stdout, "cmqctl %s (client opencmq-go/%s)\n", version, client.Version)
	return nil
}

// version is the cmqctl version; set with -ldflags "-X main.version=…".
var version = "0.1.0-dev"
