package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"credkeep/authn"
	"credkeep/internal/redact"
)

// The server binary, built once for the tests that start and kill it.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func serverBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "ckbin"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "credkeep")
		built.out, built.err = exec.Command("go", "build", "-tags", "cse", "-o", built.bin, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("build: %v\n%s", built.err, built.out)
	}
	return built.bin
}

// serverProc runs the server binary on a data directory of its own, as a
// process the test can kill.
type serverProc struct {
	t    *testing.T
	bin  string
	env  []string
	base string
	cmd  *exec.Cmd
	jwt  string
}

// masterKeyB64 is the master key of the processes' data directories.
var masterKeyB64 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 96))

func newServerProc(t *testing.T, dataDir string) *serverProc {
	t.Helper()
	jwt, err := authn.MintHS256(redact.New(secret), authn.MintOptions{Subject: "alice", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return &serverProc{t: t, bin: serverBinary(t), jwt: jwt.Reveal(), env: append(os.Environ(),
		"CREDKEEP_DATA_DIR="+dataDir,
		"CREDKEEP_JWT_SECRET="+secret,
		"CREDKEEP_MASTER_KEY="+masterKeyB64,
		"MONGODB_URI=", "CREDKEEP_LOG_LEVEL=error",
	)}
}

// start starts the server and waits until it is ready.
func (p *serverProc) start() {
	t := p.t
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(p.bin)
	cmd.Env = append(p.env, "CREDKEEP_ADDR="+addr)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	// The server dies with the test binary even when cleanups do not run
	// (a test binary killed or timed out left one serving, found in a session).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	p.base, p.cmd = "http://"+addr, cmd
	for i := 0; ; i++ {
		if r, err := http.Get(p.base + "/readyz"); err == nil && r.StatusCode == http.StatusOK {
			r.Body.Close()
			return
		}
		if i > 200 {
			t.Fatal("server did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the server with SIGKILL: nothing of it runs after.
func (p *serverProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_, _ = p.cmd.Process.Wait()
}

// gql runs an operation as alice; ok is false on any error (or no server).
func (p *serverProc) gql(q string, vars map[string]any) (map[string]any, bool) {
	body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, p.base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.jwt)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	var out struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	if json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Errors) > 0 || resp.StatusCode != http.StatusOK {
		return nil, false
	}
	return out.Data, true
}
