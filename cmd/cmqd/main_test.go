package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/opencmq/opencmq/httpapi"
)

func TestParseFlags(t *testing.T) {
	c, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.listen != "127.0.0.1:8080" || c.dataDir != "./data" || c.logFormat != "text" || c.logLevel != "info" ||
		c.timestampWindow != httpapi.DefaultTimestampWindow || c.checkpointBytes <= 0 || c.shutdownTimeout.Seconds() != 35 {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = parseFlags([]string{"--public-host", "a.example.com, b:8080", "--public-host", "c", "--log-format", "json", "--log-level", "debug"}, &bytes.Buffer{})
	if err != nil || strings.Join(c.publicHosts, "|") != "a.example.com|b:8080|c" || c.logFormat != "json" {
		t.Fatalf("%+v %v", c, err)
	}
	bad := [][]string{
		{"--tls-cert", "x.pem"},
		{"--log-format", "xml"},
		{"--log-level", "loud"},
		{"--checkpoint-bytes", "0"},
		{"--timestamp-window", "-1s"},
		{"extra"},
		{"--nope"},
	}
	for _, args := range bad {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

func TestRunVersionHelpAndUsageErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--version"}, &out, &errOut, nil); code != exitOK || !strings.HasPrefix(out.String(), "cmqd "+version) {
		t.Fatalf("--version: %d %q", code, out.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"--help"}, &out, &errOut, nil); code != exitOK {
		t.Fatalf("--help: %d", code)
	}
	for _, want := range []string{"-listen", "-data", "-accounts", "-tls-cert", "-tls-key", "-log-format", "-log-level",
		"-timestamp-window", "-public-host", "-checkpoint-bytes", "-version", "<data>/engine/"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("--help does not document %s", want)
		}
	}
	errOut.Reset()
	if code := run([]string{"--tls-key", "k.pem"}, &out, &errOut, nil); code != exitUsage || !strings.Contains(errOut.String(), "--tls-cert and --tls-key") {
		t.Fatalf("tls pair: %d %q", code, errOut.String())
	}
}

func TestLockDataDir(t *testing.T) {
	dir := t.TempDir()
	l, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, lockFileName))
	if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file holds %q", b)
	}
	// flock locks belong to the open file: a second open in this process conflicts too.
	_, err = lockDataDir(dir)
	var inUse *errDirInUse
	if !errors.As(err, &inUse) || inUse.pid != os.Getpid() {
		t.Fatalf("second lock: %v", err)
	}
	want := "data directory " + dir + " is in use by another cmqd (pid " + strconv.Itoa(os.Getpid()) + ")"
	if err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
	if err := l.release(); err != nil {
		t.Fatal(err)
	}
	l, err = lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l.release()
}

var (
	secretIDRE  = regexp.MustCompile(`^AKID[A-Za-z0-9]{32}$`)
	secretKeyRE = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
)

func TestAccountsCreatedOnceThenReused(t *testing.T) {
	dir := t.TempDir()
	accs, src, path, err := loadOrCreateAccounts("", dir)
	if err != nil || src != accountsCreated || len(accs) != 1 {
		t.Fatalf("first: %v %v %v", accs, src, err)
	}
	a := accs[0]
	if a.Namespace != "default" || !secretIDRE.MatchString(a.SecretID) || !secretKeyRE.MatchString(a.SecretKey) {
		t.Fatalf("generated %+v", a)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 || path != filepath.Join(dir, accountsFileName) {
		t.Fatalf("file %s: %v %v", path, st.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temp files left behind: %v", entries)
	}
	again, src, _, err := loadOrCreateAccounts("", dir)
	if err != nil || src != accountsFromDataDir || len(again) != 1 || again[0] != a {
		t.Fatalf("second: %v %v %v", again, src, err)
	}
	// --accounts wins over the data directory's file.
	other := filepath.Join(t.TempDir(), "accounts.json")
	os.WriteFile(other, []byte(`[{"namespace":"x","secretId":"AKIDx","secretKey":"k"}]`), 0o600)
	fromFlag, src, _, err := loadOrCreateAccounts(other, dir)
	if err != nil || src != accountsFromFlag || fromFlag[0].Namespace != "x" {
		t.Fatalf("flag: %v %v %v", fromFlag, src, err)
	}
	if _, _, _, err := loadOrCreateAccounts(filepath.Join(dir, "missing.json"), dir); err == nil {
		t.Fatal("missing --accounts file accepted")
	}
}

func TestRandomAlnum(t *testing.T) {
	seen := map[byte]bool{}
	for i := 0; i < 50; i++ {
		s, err := randomAlnum(32)
		if err != nil || !secretKeyRE.MatchString(s) {
			t.Fatalf("%q %v", s, err)
		}
		for j := 0; j < len(s); j++ {
			seen[s[j]] = true
		}
	}
	if len(seen) < 55 { // 1600 draws from 62 symbols
		t.Fatalf("only %d distinct characters", len(seen))
	}
}

func TestWriteFileAtomicReplaces(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := writeFileAtomic(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Fatalf("%q", b)
	}
}

func TestClientHost(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:8080": "127.0.0.1:8080",
		"0.0.0.0:80":     "127.0.0.1:80",
		"[::]:9":         "127.0.0.1:9",
		":7":             "127.0.0.1:7",
		"example.com:1":  "example.com:1",
	} {
		if got := clientHost(in); got != want {
			t.Errorf("clientHost(%q) = %q, want %q", in, got, want)
		}
	}
}
