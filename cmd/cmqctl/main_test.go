package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/opencmq/opencmq/engine"
	"github.com/opencmq/opencmq/httpapi"
)

// testServer is a real opencmq API (httpapi over an engine in a temp dir) on a free port.
type testServer struct {
	endpoint string
	accounts []httpapi.Account
}

func startServer(t *testing.T) *testServer {
	t.Helper()
	eng, err := engine.Open(t.TempDir(), engine.Options{NoSync: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	accounts := []httpapi.Account{
		{Namespace: "ns-a", SecretID: "AKIDaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", SecretKey: "keyAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{Namespace: "ns-b", SecretID: "AKIDbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", SecretKey: "keyBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"},
	}
	api, err := httpapi.New(httpapi.Config{Backend: eng, Accounts: accounts, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewHTTPServer()
	done := make(chan struct{})
	go func() { srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		srv.Shutdown()
		<-done
		eng.Close()
	})
	return &testServer{endpoint: "http://" + ln.Addr().String(), accounts: accounts}
}

// result is one cmqctl run.
type result struct {
	stdout, stderr string
	code           int
}

// cmqctl runs the CLI in-process as account 0 of s (credentials from the environment).
func (s *testServer) cmqctl(t *testing.T, stdin string, args ...string) result {
	return s.cmqctlAs(t, 0, stdin, args...)
}

func (s *testServer) cmqctlAs(t *testing.T, account int, stdin string, args ...string) result {
	t.Helper()
	vars := map[string]string{
		"CMQ_ENDPOINT":   s.endpoint,
		"CMQ_SECRET_ID":  s.accounts[account].SecretID,
		"CMQ_SECRET_KEY": s.accounts[account].SecretKey,
	}
	return runWith(t, stdin, func(k string) string { return vars[k] }, args...)
}

func runWith(t *testing.T, stdin string, getenv func(string) string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: getenv})
	return result{out.String(), errOut.String(), code}
}

func (r result) mustOK(t *testing.T) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r
}

func (r result) mustFail(t *testing.T, code int, stderrContains ...string) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stderrContains {
		if !strings.Contains(r.stderr, s) {
			t.Fatalf("stderr does not contain %q:\n%s", s, r.stderr)
		}
	}
	return r
}

func noEnv(string) string { return "" }

var handleRE = regexp.MustCompile(`(?m)^receiptHandle\s+(\S+)$`)

// handles extracts the receipt handles from human receive output.
func handles(out string) []string {
	var hs []string
	for _, m := range handleRE.FindAllStringSubmatch(out, -1) {
		hs = append(hs, m[1])
	}
	return hs
}

func TestUsageAndVersion(t *testing.T) {
	r := runWith(t, "", noEnv)
	r.mustFail(t, exitUsage, "Commands:", "queue", "receive")
	r = runWith(t, "", noEnv, "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Commands:") || !strings.Contains(r.stdout, "CMQ_SECRET_ID") {
		t.Fatalf("--help: %+v", r)
	}
	runWith(t, "", noEnv, "frobnicate").mustFail(t, exitUsage, `unknown command "frobnicate"`)
	r = runWith(t, "", noEnv, "version").mustOK(t)
	if !strings.Contains(r.stdout, "cmqctl "+version) {
		t.Fatalf("version: %q", r.stdout)
	}
	r = runWith(t, "", noEnv, "send", "--help").mustOK(t)
	if !strings.Contains(r.stdout, "-delay") || strings.Contains(r.stdout, "-secret-key string") {
		t.Fatalf("send --help should list send's own flags only:\n%s", r.stdout)
	}
	runWith(t, "", noEnv, "send", "--bogus", "q", "x").mustFail(t, exitUsage, "flag provided but not defined: -bogus")
}

func TestMissingCredentials(t *testing.T) {
	runWith(t, "", noEnv, "queue", "list").mustFail(t, exitUsage, "no credentials", "CMQ_SECRET_ID")
}

func TestUnreachableEndpointFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	runWith(t, "", noEnv, "--endpoint", "http://"+addr, "--secret-id", "AKIDx", "--secret-key", "k", "queue", "list").
		mustFail(t, exitFail, "connection refused")
}

func TestFlagsOverrideEnvironmentAndGlobalsAnywhere(t *testing.T) {
	s := startServer(t)
	// Environment has account B's id with a wrong key; flags give account A's credentials.
	vars := map[string]string{"CMQ_ENDPOINT": s.endpoint, "CMQ_SECRET_ID": s.accounts[1].SecretID, "CMQ_SECRET_KEY": "wrong"}
	getenv := func(k string) string { return vars[k] }
	runWith(t, "", getenv, "queue", "list").mustFail(t, exitFail, "CMQ error code 4100")
	// Global flags before the command…
	runWith(t, "", getenv, "--secret-id", s.accounts[0].SecretID, "--secret-key", s.accounts[0].SecretKey, "queue", "create", "q1").mustOK(t)
	// …and after it, between positional arguments.
	r := runWith(t, "", getenv, "queue", "list", "--secret-id", s.accounts[0].SecretID, "--secret-key", s.accounts[0].SecretKey).mustOK(t)
	if !strings.Contains(r.stdout, "q1") {
		t.Fatalf("list: %s", r.stdout)
	}
	// GET and HmacSHA256 work too.
	r = s.cmqctl(t, "", "--get", "--signature-method", "HmacSHA256", "send", "q1", "via get").mustOK(t)
	if !strings.HasPrefix(r.stdout, "sent msgId ") {
		t.Fatalf("send: %s", r.stdout)
	}
}

func TestParseInterspersed(t *testing.T) {
	g := &globals{env: &env{stdout: io.Discard, stderr: io.Discard, getenv: noEnv}}
	fs := g.newFlagSet("x", "x")
	n := fs.Int("n", 0, "")
	pos, err := parse(fs, []string{"a", "-n", "3", "b", "--", "-c", "--json"}, 0, -1)
	if err != nil || *n != 3 || strings.Join(pos, " ") != "a b -c --json" || g.jsonOut {
		t.Fatalf("pos %q n %d err %v json %v", pos, *n, err, g.jsonOut)
	}
	if _, err := parse(g.newFlagSet("y", "y"), []string{"a", "b"}, 1, 1); err == nil {
		t.Fatal("too many arguments accepted")
	}
}
