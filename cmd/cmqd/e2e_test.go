package main

// End-to-end tests: build the cmqd and cmqctl binaries, run cmqd as a process on a free port,
// and drive it through the Go client and the cmqctl binary.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencmq/opencmq/httpapi"
	"github.com/opencmq/opencmq/httpapi/client"
	"github.com/opencmq/opencmq/httpapi/signature"
)

// binaries are built once per test binary run.
var (
	buildOnce            sync.Once
	buildErr             error
	cmqdBin, cmqctlBin   string
	buildDir             string
	e2eAccounts          = []httpapi.Account{{Namespace: "team-a", SecretID: "AKIDteamA000000000000000000000000000", SecretKey: "secretA0000000000000000000000000"}, {Namespace: "team-b", SecretID: "AKIDteamB000000000000000000000000000", SecretKey: "secretB0000000000000000000000000"}}
	startedRE            = regexp.MustCompile(`"msg":"cmqd started"`)
	generatedIDRE        = regexp.MustCompile(`SecretId:\s+(AKID[A-Za-z0-9]{32})`)
	generatedKeyRE       = regexp.MustCompile(`SecretKey:\s+([A-Za-z0-9]{32})`)
	adminTokenRE         = regexp.MustCompile(`admin token:\s+([A-Za-z0-9]{40})`)
	defaultReadyAttempts = 200
	readyTimeout         = 20 * time.Second
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func buildBinaries(t *testing.T) {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "cmqd-e2e-bin-")
		if buildErr != nil {
			return
		}
		cmqdBin = filepath.Join(buildDir, "cmqd")
		cmqctlBin = filepath.Join(buildDir, "cmqctl")
		for bin, pkg := range map[string]string{cmqdBin: ".", cmqctlBin: "../cmqctl"} {
			args := []string{"build", "-o", bin}
			if raceBuild {
				args = append(args, "-race")
			}
			out, err := exec.Command("go", append(args, pkg)...).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// syncBuffer is a bytes.Buffer safe for a process writer and test readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cmqdProc is one running cmqd.
type cmqdProc struct {
	cmd      *exec.Cmd
	stdout   *syncBuffer
	stderr   *syncBuffer
	done     chan struct{}
	exitCode int
	endpoint string // scheme://host:port
}

// startCmqd starts cmqd with --listen 127.0.0.1:0 --log-format json and the given flags; it
// does not wait for readiness. The process is killed at cleanup if it is still running.
func startCmqd(t *testing.T, args ...string) *cmqdProc {
	t.Helper()
	buildBinaries(t)
	return startCmqdBin(t, cmqdBin, nil, args...)
}

// startCmqdBin is startCmqd for the cmqd binary bin, with env added to the environment.
func startCmqdBin(t *testing.T, bin string, env []string, args ...string) *cmqdProc {
	t.Helper()
	all := append([]string{"--listen", "127.0.0.1:0", "--raft-listen", "127.0.0.1:0", "--log-format", "json", "--shutdown-timeout", "10s"}, args...)
	p := &cmqdProc{cmd: exec.Command(bin, all...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.exitCode = 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.exitCode = ee.ExitCode()
		} else if err != nil {
			p.exitCode = -1
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if strings.Contains(p.stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("the race detector fired in cmqd")
		}
		if t.Failed() {
			t.Logf("cmqd %v\nstdout:\n%s\nstderr:\n%s", all, p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

// waitReady parses the bound address from the startup log line and polls /readyz (bounded).
func (p *cmqdProc) waitReady(t *testing.T) {
	t.Helper()
	if err := p.awaitReady(); err != nil {
		t.Fatal(err)
	}
}

// errCmqdExited is returned (wrapped) by awaitReady when cmqd exits before it is ready.
var errCmqdExited = errors.New("cmqd exited")

// awaitReady is waitReady returning the error.
func (p *cmqdProc) awaitReady() error {
	exited := func(when string) error {
		return fmt.Errorf("%w with %d %s:\n%s", errCmqdExited, p.exitCode, when, p.stderr.String())
	}
	for i := 0; p.endpoint == "" && i < defaultReadyAttempts; i++ {
		select {
		case <-p.done:
			return exited("before starting")
		default:
		}
		sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
		for sc.Scan() {
			if !startedRE.MatchString(sc.Text()) {
				continue
			}
			var rec struct {
				Endpoint string `json:"endpoint"`
				TLS      bool   `json:"tls"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				return fmt.Errorf("startup line %q: %v", sc.Text(), err)
			}
			p.endpoint = rec.Endpoint
		}
		if p.endpoint == "" {
			time.Sleep(25 * time.Millisecond)
		}
	}
	if p.endpoint == "" {
		return fmt.Errorf("no startup log line within %d attempts:\n%s", defaultReadyAttempts, p.stderr.String())
	}
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer hc.CloseIdleConnections()
	// A raft node is ready once it knows a leader: a lone node elects itself after 1-2 s.
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return exited("before it was ready")
		default:
		}
		resp, err := hc.Get(p.endpoint + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("cmqd at %s not ready within %v", p.endpoint, readyTimeout)
}

// stop sends SIGTERM and returns the exit code (bounded wait).
func (p *cmqdProc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return p.wait(t, 20*time.Second)
}

func (p *cmqdProc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.exitCode
	case <-time.After(d):
		t.Fatalf("cmqd did not exit within %v", d)
		return -1
	}
}

func writeAccounts(t *testing.T, accs []httpapi.Account) string {
	t.Helper()
	b, err := json.Marshal(accs)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "accounts.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newClient(t *testing.T, endpoint string, a httpapi.Account, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(endpoint, a.SecretID, a.SecretKey, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// ctl runs the cmqctl binary against endpoint as account a.
func ctl(t *testing.T, endpoint string, a httpapi.Account, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cmqctlBin, args...)
	cmd.Env = append(os.Environ(), "CMQ_ENDPOINT="+endpoint, "CMQ_SECRET_ID="+a.SecretID, "CMQ_SECRET_KEY="+a.SecretKey)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if strings.Contains(errOut.String(), "WARNING: DATA RACE") {
		t.Errorf("the race detector fired in cmqctl %v:\n%s", args, errOut.String())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("cmqctl %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// must(f())(t) returns f's value, failing t if f returned an error.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestE2EServer drives one cmqd through the Go client and cmqctl, refuses a second cmqd on
// its data directory, stops it with SIGTERM and checks a restart keeps unconsumed messages.
func TestE2EServer(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	accountsFile := writeAccounts(t, e2eAccounts)
	p := startCmqd(t, "--data", dataDir, "--accounts", accountsFile)
	p.waitReady(t)
	ctx := context.Background()
	a := newClient(t, p.endpoint, e2eAccounts[0])
	b := newClient(t, p.endpoint, e2eAccounts[1], client.WithSignatureMethod(signature.MethodSHA256), client.WithGET()) // HmacSHA256 over GET

	// Queues.
	if _, err := a.CreateQueue(ctx, "orders", &client.QueueAttributes{RewindSeconds: client.Int64(3600), VisibilityTimeout: client.Int64(30)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateQueue(ctx, "orders", nil); client.CodeOf(err) != client.CodeQueueExists {
		t.Fatalf("duplicate create: %v", err)
	}
	// Send, batch send.
	id1 := must(a.SendMessage(ctx, "orders", "m1", 0))(t)
	ids := must(a.BatchSendMessage(ctx, "orders", []string{"m2", "m3", "m4", "m5", "m6"}, 0))(t)
	if id1 == "" || len(ids) != 5 {
		t.Fatalf("ids %q %q", id1, ids)
	}
	info := must(a.GetQueueAttributes(ctx, "orders"))(t)
	if info.ActiveMsgNum != 6 || info.RewindSeconds != 3600 || info.QueueName != "orders" {
		t.Fatalf("attributes %+v", info)
	}
	// Receive, delete.
	m := must(a.ReceiveMessage(ctx, "orders", 0))(t)
	if m.Body != "m1" || m.MsgID != id1 || m.DequeueCount != 1 {
		t.Fatalf("received %+v", m)
	}
	if err := a.DeleteMessage(ctx, "orders", m.ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteMessage(ctx, "orders", m.ReceiptHandle); client.CodeOf(err) != client.CodeInvalidHandle {
		t.Fatalf("second delete: %v", err)
	}
	// Batch receive, batch delete (one spent handle → partial failure with errorList).
	ms := must(a.BatchReceiveMessage(ctx, "orders", 3, 0))(t)
	if len(ms) != 3 || ms[0].Body != "m2" {
		t.Fatalf("batch received %+v", ms)
	}
	errs, err := a.BatchDeleteMessage(ctx, "orders", []string{ms[0].ReceiptHandle, ms[1].ReceiptHandle})
	if err != nil || len(errs) != 2 || errs[0] != nil || errs[1] != nil {
		t.Fatalf("batch delete: %v %v", errs, err)
	}
	errs, err = a.BatchDeleteMessage(ctx, "orders", []string{ms[2].ReceiptHandle, ms[0].ReceiptHandle})
	if client.CodeOf(err) != client.CodeBatchDeletePart || errs[0] != nil || client.CodeOf(errs[1]) != client.CodeInvalidHandle {
		t.Fatalf("partial batch delete: %v %v", errs, err)
	}
	// ChangeMessageVisibility: make one visible at once.
	m = must(a.ReceiveMessage(ctx, "orders", 0))(t)
	if _, err := a.ChangeMessageVisibility(ctx, "orders", m.ReceiptHandle, 0); err != nil {
		t.Fatal(err)
	}
	again := must(a.ReceiveMessage(ctx, "orders", 1))(t)
	if again.MsgID != m.MsgID || again.DequeueCount != 2 {
		t.Fatalf("after ChangeMessageVisibility: %+v", again)
	}
	// Long poll: an empty queue answers "no message" after the wait.
	must(a.CreateQueue(ctx, "empty", nil))(t)
	start := time.Now()
	if _, err := a.ReceiveMessage(ctx, "empty", 1); !client.IsNoMessage(err) {
		t.Fatalf("empty receive: %v", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 5*time.Second {
		t.Fatalf("1 s long poll took %v", d)
	}
	// List.
	l := must(a.ListQueue(ctx, client.ListOptions{}))(t)
	names := []string{}
	for _, q := range l.Queues {
		names = append(names, q.QueueName)
	}
	slices.Sort(names)
	if l.TotalCount != 2 || strings.Join(names, ",") != "empty,orders" {
		t.Fatalf("list %+v", l)
	}
	// Rewind: everything sent in the last minute is receivable again (deleted ones too).
	if err := a.RewindQueue(ctx, "orders", time.Now().Add(-time.Minute).Unix()); err != nil {
		t.Fatal(err)
	}
	ms = must(a.BatchReceiveMessage(ctx, "orders", 16, 0))(t)
	if len(ms) != 6 || ms[0].Body != "m1" {
		t.Fatalf("after rewind: %d messages, first %+v", len(ms), ms[0])
	}
	// Leave 4 messages unconsumed (and visible) for the restart check: delete m1 and m2,
	// make m3..m6 visible again.
	errs, err = a.BatchDeleteMessage(ctx, "orders", []string{ms[0].ReceiptHandle, ms[1].ReceiptHandle})
	if err != nil {
		t.Fatalf("%v %v", errs, err)
	}
	for _, m := range ms[2:] {
		if _, err := a.ChangeMessageVisibility(ctx, "orders", m.ReceiptHandle, 0); err != nil {
			t.Fatal(err)
		}
	}
	// Dead-letter actions.
	must(a.CreateQueue(ctx, "dlq", nil))(t)
	must(a.SetQueueAttributes(ctx, "empty", client.QueueAttributes{DeadLetterPolicy: &client.DeadLetterPolicy{Queue: "dlq", MaxReceiveCount: 3}}))(t)
	if src := must(a.ListDeadLetterSourceQueues(ctx, "dlq", client.ListOptions{}))(t); src.TotalCount != 1 || src.Queues[0].QueueName != "empty" {
		t.Fatalf("dead-letter sources %+v", src)
	}
	if err := a.UnbindDeadLetterQueue(ctx, "empty"); err != nil {
		t.Fatal(err)
	}
	// Generic call.
	if r, err := a.Call(ctx, "GetQueueAttributes", map[string]string{"queueName": "orders"}); err != nil || r["queueName"] != "orders" {
		t.Fatalf("Call: %v %v", r, err)
	}

	// Namespace isolation: account B sees none of A's queues and has its own "orders".
	if _, err := b.GetQueueAttributes(ctx, "orders"); !client.IsQueueNotExist(err) {
		t.Fatalf("B sees A's queue: %v", err)
	}
	if l := must(b.ListQueue(ctx, client.ListOptions{}))(t); l.TotalCount != 0 {
		t.Fatalf("B lists %+v", l)
	}
	must(b.CreateQueue(ctx, "orders", nil))(t)
	must(b.SendMessage(ctx, "orders", "from B", 0))(t)
	if bm := must(b.ReceiveMessage(ctx, "orders", 0))(t); bm.Body != "from B" {
		t.Fatalf("B received %+v", bm)
	}
	if info := must(a.GetQueueAttributes(ctx, "orders"))(t); info.ActiveMsgNum+info.InactiveMsgNum != 4 {
		t.Fatalf("A's queue changed by B: %+v", info)
	}
	// A wrong key is refused.
	bad := newClient(t, p.endpoint, httpapi.Account{SecretID: e2eAccounts[0].SecretID, SecretKey: "wrong"})
	if _, err := bad.ListQueue(ctx, client.ListOptions{}); client.CodeOf(err) != client.CodeAuthFailed {
		t.Fatalf("wrong key: %v", err)
	}

	// cmqctl (the binary), as account B.
	acctB := e2eAccounts[1]
	if out, errOut, code := ctl(t, p.endpoint, acctB, "", "queue", "create", "cli"); code != 0 || !strings.Contains(out, "created queue cli") {
		t.Fatalf("cmqctl queue create: %d %q %q", code, out, errOut)
	}
	if out, _, code := ctl(t, p.endpoint, acctB, "", "send", "cli", "hello from cmqctl"); code != 0 || !strings.HasPrefix(out, "sent msgId ") {
		t.Fatalf("cmqctl send: %d %q", code, out)
	}
	if out, _, code := ctl(t, p.endpoint, acctB, "piped body", "send", "cli"); code != 0 || !strings.HasPrefix(out, "sent msgId ") {
		t.Fatalf("cmqctl send stdin: %d %q", code, out)
	}
	out, errOut, code := ctl(t, p.endpoint, acctB, "", "receive", "cli", "--num", "2", "--wait", "2", "--delete")
	if code != 0 || !strings.Contains(out, "hello from cmqctl") || !strings.Contains(out, "piped body") || !strings.Contains(errOut, "deleted 2 messages") {
		t.Fatalf("cmqctl receive: %d %q %q", code, out, errOut)
	}
	if out, errOut, code := ctl(t, p.endpoint, acctB, "", "receive", "cli", "--wait", "0"); code != 0 || out != "" || !strings.Contains(errOut, "no message") {
		t.Fatalf("cmqctl receive empty: %d %q %q", code, out, errOut)
	}
	must(b.SendMessage(ctx, "cli", "by handle", 0))(t)
	out, _, code = ctl(t, p.endpoint, acctB, "", "--json", "receive", "cli")
	var recv struct {
		ReceiptHandle string `json:"receiptHandle"`
		MsgBody       string `json:"msgBody"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &recv) != nil || recv.MsgBody != "by handle" {
		t.Fatalf("cmqctl receive --json: %d %q", code, out)
	}
	if out, _, code := ctl(t, p.endpoint, acctB, "", "delete", "cli", recv.ReceiptHandle); code != 0 || !strings.Contains(out, "deleted") {
		t.Fatalf("cmqctl delete: %d %q", code, out)
	}
	if _, errOut, code := ctl(t, p.endpoint, acctB, "", "delete", "cli", recv.ReceiptHandle); code != 1 || !strings.Contains(errOut, "CMQ error code 4430") {
		t.Fatalf("cmqctl delete spent handle: %d %q", code, errOut)
	}
	out, _, code = ctl(t, p.endpoint, acctB, "", "queue", "list")
	if code != 0 || !strings.Contains(out, "cli") || !strings.Contains(out, "orders") || !strings.Contains(out, "2 of 2") {
		t.Fatalf("cmqctl queue list: %d %q", code, out)
	}
	if _, errOut, code := ctl(t, p.endpoint, acctB, "", "queue", "get", "empty"); code != 1 || !strings.Contains(errOut, "CMQ error code 4440") {
		t.Fatalf("cmqctl isolation: %d %q", code, errOut)
	}
	if out, _, code := ctl(t, p.endpoint, acctB, "", "queue", "set", "cli", "--rewind-seconds", "60"); code != 0 || !strings.Contains(out, "rewindSeconds        60") {
		t.Fatalf("cmqctl queue set: %d %q", code, out)
	}
	if out, _, code := ctl(t, p.endpoint, acctB, "", "queue", "rewind", "cli", "--ago", "30s"); code != 0 || !strings.Contains(out, "rewound queue cli") {
		t.Fatalf("cmqctl queue rewind: %d %q", code, out)
	}
	if out, _, code := ctl(t, p.endpoint, acctB, "", "queue", "delete", "cli"); code != 0 || !strings.Contains(out, "deleted queue cli") {
		t.Fatalf("cmqctl queue delete: %d %q", code, out)
	}

	// A second cmqd on the same data directory is refused.
	second := startCmqd(t, "--data", dataDir, "--accounts", accountsFile)
	if code := second.wait(t, 10*time.Second); code != 1 {
		t.Fatalf("second cmqd exited %d", code)
	}
	wantMsg := fmt.Sprintf("data directory %s is in use by another cmqd (pid %d)", dataDir, p.cmd.Process.Pid)
	if !strings.Contains(second.stderr.String(), wantMsg) {
		t.Fatalf("second cmqd said %q, want %q", second.stderr.String(), wantMsg)
	}

	// SIGTERM: exit 0, logging each step.
	if code := p.stop(t); code != 0 {
		t.Fatalf("cmqd exited %d after SIGTERM", code)
	}
	for _, step := range []string{"shutting down", "HTTP server stopped", "queue engine closed", `"msg":"stopped"`} {
		if !strings.Contains(p.stderr.String(), step) {
			t.Errorf("shutdown log lacks %q", step)
		}
	}
	// Restart on the same data: the 4 unconsumed messages of A's queue are still there.
	r := startCmqd(t, "--data", dataDir, "--accounts", accountsFile)
	r.waitReady(t)
	a2 := newClient(t, r.endpoint, e2eAccounts[0])
	if info := must(a2.GetQueueAttributes(ctx, "orders"))(t); info.ActiveMsgNum != 4 || info.InactiveMsgNum != 0 {
		t.Fatalf("after restart: %+v", info)
	}
	got := []string{}
	for _, m := range must(a2.BatchReceiveMessage(ctx, "orders", 16, 0))(t) {
		got = append(got, m.Body)
	}
	if s := strings.Join(got, ","); s != "m3,m4,m5,m6" {
		t.Fatalf("after restart received %q", s)
	}
	if bm := must(newClient(t, r.endpoint, e2eAccounts[1]).GetQueueAttributes(ctx, "orders"))(t); bm.ActiveMsgNum+bm.InactiveMsgNum != 1 {
		t.Fatalf("B's queue after restart: %+v", bm)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("restarted cmqd exited %d", code)
	}
}

// TestE2EFirstStartAccount checks the generated account: printed once, saved with mode 0600,
// reused silently on restart.
func TestE2EFirstStartAccount(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "data")
	p := startCmqd(t, "--data", dataDir)
	p.waitReady(t)
	out := p.stdout.String()
	idm, keym := generatedIDRE.FindStringSubmatch(out), generatedKeyRE.FindStringSubmatch(out)
	if idm == nil || keym == nil || !strings.Contains(out, "cmqctl") || !strings.Contains(out, "CMQ_SECRET_KEY="+keym[1]) {
		t.Fatalf("first start printed:\n%s", out)
	}
	acc := httpapi.Account{Namespace: "default", SecretID: idm[1], SecretKey: keym[1]}
	path := filepath.Join(dataDir, "accounts.json")
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("accounts file: %v %v", st, err)
	}
	saved := must(httpapi.LoadAccounts(path))(t)
	if len(saved) != 1 || saved[0] != acc {
		t.Fatalf("saved %+v, printed %+v", saved, acc)
	}
	if strings.Contains(p.stderr.String(), acc.SecretKey) {
		t.Fatal("the secret key appears in the log")
	}
	ctx := context.Background()
	// The admin token: printed once, saved with mode 0600, required by the admin POSTs.
	tokm := adminTokenRE.FindStringSubmatch(out)
	if tokm == nil || !strings.Contains(out, "CMQ_ADMIN_TOKEN="+tokm[1]) {
		t.Fatalf("first start printed no admin token:\n%s", out)
	}
	token := tokm[1]
	tokPath := filepath.Join(dataDir, "admin-token")
	if st, err := os.Stat(tokPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("admin token file: %v %v", st, err)
	}
	if b, _ := os.ReadFile(tokPath); strings.TrimSpace(string(b)) != token {
		t.Fatalf("saved token %q, printed %q", b, token)
	}
	if strings.Contains(p.stderr.String(), token) {
		t.Fatal("the admin token appears in the log")
	}
	open := must(client.NewAdmin(p.endpoint, ""))(t)
	defer open.Close()
	if st, err := open.ClusterStatus(ctx); err != nil || st.ID != 1 || st.Role != "leader" || !st.Ready || len(st.Peers) != 1 {
		t.Fatalf("status of a lone node on loopback without a token: %+v %v", st, err)
	}
	if err := open.ClusterRemove(ctx, 9); client.AdminCodeOf(err) != client.AdminUnauthorized {
		t.Fatalf("remove without the token: %v", err)
	}
	authed := must(client.NewAdmin(p.endpoint, token))(t)
	defer authed.Close()
	if err := authed.ClusterRemove(ctx, 9); client.AdminCodeOf(err) != client.AdminNotMember {
		t.Fatalf("remove a stranger with the token: %v", err)
	}
	c := newClient(t, p.endpoint, acc)
	must(c.CreateQueue(ctx, "q", nil))(t)
	must(c.SendMessage(ctx, "q", "kept", 0))(t)
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}

	r := startCmqd(t, "--data", dataDir)
	r.waitReady(t)
	if s := r.stdout.String(); strings.Contains(s, acc.SecretKey) || strings.Contains(s, "SecretId") || strings.Contains(s, token) {
		t.Fatalf("restart printed the account again:\n%s", s)
	}
	if !strings.Contains(r.stderr.String(), `"msg":"loaded accounts"`) || strings.Contains(r.stderr.String(), acc.SecretKey) {
		t.Fatalf("restart log:\n%s", r.stderr.String())
	}
	c2 := newClient(t, r.endpoint, acc)
	if m := must(c2.ReceiveMessage(ctx, "q", 0))(t); m.Body != "kept" {
		t.Fatalf("after restart: %+v", m)
	}
	// cmqctl with the printed credentials.
	if out, errOut, code := ctl(t, r.endpoint, acc, "", "queue", "list"); code != 0 || !strings.Contains(out, "q ") {
		t.Fatalf("cmqctl: %d %q %q", code, out, errOut)
	}
	if code := r.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// TestE2ETLS serves HTTPS with a self-signed certificate made here.
func TestE2ETLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile := selfSignedCert(t)
	p := startCmqd(t, "--data", filepath.Join(t.TempDir(), "data"), "--accounts", writeAccounts(t, e2eAccounts), "--tls-cert", certFile, "--tls-key", keyFile)
	p.waitReady(t)
	if !strings.HasPrefix(p.endpoint, "https://") || !strings.Contains(p.stderr.String(), `"tls":true`) {
		t.Fatalf("endpoint %s, log:\n%s", p.endpoint, p.stderr.String())
	}
	ctx := context.Background()
	acc := e2eAccounts[0]
	// Verification against the generated certificate as a CA, and with InsecureSkipVerify.
	pemBytes := must(os.ReadFile(certFile))(t)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	verified := newClient(t, p.endpoint, acc, client.WithTLSConfig(&tls.Config{RootCAs: pool}))
	must(verified.CreateQueue(ctx, "secure", nil))(t)
	insecure := newClient(t, p.endpoint, acc, client.WithTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	must(insecure.SendMessage(ctx, "secure", "over tls", 0))(t)
	if m := must(verified.ReceiveMessage(ctx, "secure", 1))(t); m.Body != "over tls" {
		t.Fatalf("received %+v", m)
	}
	// Without trusting the certificate the handshake fails.
	untrusting := newClient(t, p.endpoint, acc)
	if _, err := untrusting.ListQueue(ctx, client.ListOptions{}); err == nil || client.CodeOf(err) != 0 {
		t.Fatalf("untrusted certificate accepted: %v", err)
	}
	if out, errOut, code := ctl(t, p.endpoint, acc, "", "--insecure", "send", "secure", "cli over tls"); code != 0 || !strings.HasPrefix(out, "sent") {
		t.Fatalf("cmqctl --insecure: %d %q %q", code, out, errOut)
	}
	if out, errOut, code := ctl(t, p.endpoint, acc, "", "--ca-cert", certFile, "receive", "secure", "--delete"); code != 0 || !strings.Contains(out, "cli over tls") {
		t.Fatalf("cmqctl --ca-cert: %d %q %q", code, out, errOut)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

// selfSignedCert writes a self-signed ECDSA certificate for 127.0.0.1 and localhost.
func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "cmqd e2e"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key))(t)
	keyDER := must(x509.MarshalECPrivateKey(key))(t)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
