package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"credkeep/authn"
	"credkeep/internal/keyfile"
	"credkeep/internal/logging/logtest"
	"credkeep/internal/redact"
	"credkeep/storage/embedded"
)

const secret = "0123456789abcdef0123456789abcdef-secret"

func TestTokenSubcommand(t *testing.T) {
	t.Setenv("CREDKEEP_JWT_SECRET", secret)
	t.Setenv("CREDKEEP_JWT_AUDIENCE", "credkeep")
	var out, errOut bytes.Buffer
	if code := run([]string{"token", "--sub", "alice", "--email", "a@x.io", "--admin", "--ttl", "2h"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	v, err := authn.NewJWTVerifier(context.Background(), authn.JWTConfig{Secret: redact.New(secret), Audience: "credkeep"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || c.Email != "a@x.io" || !c.IsAdmin() || time.Until(c.ExpiresAt.Time) < 119*time.Minute {
		t.Errorf("claims = %+v", c)
	}
}

// A development server's key (make run) signs tokens when no secret is set.
func TestTokenSubcommandUsesTheDevelopmentKey(t *testing.T) {
	dir := t.TempDir()
	key, _, err := keyfile.LoadOrCreate(filepath.Join(dir, "dev-jwt.key"), 32)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDKEEP_JWT_SECRET", "")
	t.Setenv("CREDKEEP_DATA_DIR", dir)
	var out, errOut bytes.Buffer
	if code := run([]string{"token", "--sub", "bob"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	v, err := authn.NewJWTVerifier(context.Background(), authn.JWTConfig{Secret: redact.New(string(key.Reveal()))})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(strings.TrimSpace(out.String()))
	if err != nil || claims.Subject != "bob" {
		t.Errorf("token not signed with the development key: %v %+v", err, claims)
	}
}

func TestTokenSubcommandRefusals(t *testing.T) {
	cases := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"no secret", "", []string{"token", "--sub", "alice"}, "CREDKEEP_JWT_SECRET is not set"},
		{"no sub", secret, []string{"token"}, "--sub is required"},
		{"bad ttl", secret, []string{"token", "--sub", "a", "--ttl", "-1h"}, "--ttl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CREDKEEP_JWT_SECRET", tc.env)
			t.Setenv("CREDKEEP_DATA_DIR", t.TempDir()) // no development server's key there
			var out, errOut bytes.Buffer
			if code := run(tc.args, &out, &errOut); code != exitConfig {
				t.Errorf("exit %d, want %d", code, exitConfig)
			}
			if out.Len() != 0 || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
			}
		})
	}
}

func TestBadConfigurationExitsWithCode2(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, 96))
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ferret, err := embedded.Start(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ferret.Stop()
	cases := []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"short master key", map[string]string{"CREDKEEP_MASTER_KEY": "c2hvcnQ="}, "CREDKEEP_MASTER_KEY"},
		{"bad rate limit", map[string]string{"CREDKEEP_TOKEN_RATE_LIMIT": "-5"}, "CREDKEEP_TOKEN_RATE_LIMIT"},
		{"no secret versions", map[string]string{"CREDKEEP_SECRET_VERSIONS": "0"}, "CREDKEEP_SECRET_VERSIONS"},
		{"no subscriptions", map[string]string{"CREDKEEP_MAX_SUBSCRIPTIONS": "0"}, "CREDKEEP_MAX_SUBSCRIPTIONS"},
		{"bad webhook rate", map[string]string{"CREDKEEP_WEBHOOK_RATE": "fast"}, "CREDKEEP_WEBHOOK_RATE"},
		{"bad expiry warning", map[string]string{"CREDKEEP_EXPIRY_WARNING": "14d"}, "CREDKEEP_EXPIRY_WARNING"},
		{"unreachable database", map[string]string{
			"MONGODB_URI":         "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300",
			"CREDKEEP_MASTER_KEY": key, "CREDKEEP_JWT_SECRET": secret,
		}, "MONGODB_URI"},
		{"bad port", map[string]string{"CREDKEEP_ADDR": "127.0.0.1:-1"}, "CREDKEEP_ADDR"},
		{"FerretDB v1 at MONGODB_URI", map[string]string{
			"MONGODB_URI": ferret.URI(), "CREDKEEP_MASTER_KEY": key, "CREDKEEP_JWT_SECRET": secret,
		}, "MONGODB_URI"},
		{"bad single-instance flag", map[string]string{"CREDKEEP_SINGLE_INSTANCE": "maybe"}, "CREDKEEP_SINGLE_INSTANCE"},
		{"bad CORS header", map[string]string{"CREDKEEP_CORS_HEADERS": "X-Ok, not a header"}, "CREDKEEP_CORS_HEADERS"},
		{"missing manifest", map[string]string{"CREDKEEP_PERSISTED_QUERIES": "/nonexistent/manifest.json"}, "CREDKEEP_PERSISTED_QUERIES"},
		{"invalid manifest", map[string]string{"CREDKEEP_PERSISTED_QUERIES": badManifest(t)}, "CREDKEEP_PERSISTED_QUERIES"},
		{"port in use", map[string]string{"CREDKEEP_ADDR": busy.Addr().String()}, "CREDKEEP_ADDR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CREDKEEP_DATA_DIR", t.TempDir())
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			start := time.Now()
			code := run(nil, &out, &errOut)
			if code != exitConfig {
				t.Fatalf("exit %d, want 2; stderr: %s", code, errOut.String())
			}
			lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "credkeep: "+tc.wantVar+": ") {
				t.Errorf("last line does not name %s: %q", tc.wantVar, last)
			}
			if strings.HasPrefix(tc.name, "FerretDB") && !strings.Contains(last, "CREDKEEP_SINGLE_INSTANCE=true") {
				t.Errorf("the refusal does not say how to run one instance: %q", last)
			}
			if strings.Contains(errOut.String(), key) || strings.Contains(errOut.String(), secret) {
				t.Error("a key was printed")
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

// TestServeDevMode starts the real server the way `make run` does (embedded
// database, no JWT configuration), uses the printed token, and stops it with SIGINT.
func TestServeDevMode(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CREDKEEP_DATA_DIR", filepath.Join(dir, "data"))
	t.Setenv("CREDKEEP_ADDR", "127.0.0.1:0")
	t.Setenv("CREDKEEP_JWT_SECRET", "")
	t.Setenv("MONGODB_URI", "")
	pr, pw := io.Pipe()
	errOut := &logtest.Buffer{}
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"serve"}, pw, errOut)
		pw.Close()
	}()

	var banner []string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		banner = append(banner, sc.Text())
		if strings.HasPrefix(sc.Text(), "Playground:") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	text := strings.Join(banner, "\n")
	if !strings.Contains(text, "WARNING: development mode") {
		t.Fatalf("no development warning in %q (stderr %s)", text, errOut.String())
	}
	tok := regexp.MustCompile(`eyJ[\w-]+\.[\w-]+\.[\w-]+`).FindString(text)
	base := regexp.MustCompile(`GraphQL:\s+(http://\S+)/graphql`).FindStringSubmatch(text)
	if tok == "" || base == nil {
		t.Fatalf("banner lacks token or URL: %q", text)
	}

	req, _ := http.NewRequest(http.MethodPost, base[1]+"/graphql", strings.NewReader(`{"query":"{ viewer { isAdmin user { id } } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"isAdmin":true`) || !strings.Contains(string(body), `"dev-admin"`) {
		t.Errorf("dev token did not work: %s", body)
	}
	for _, f := range []string{"master.key", "dev-jwt.key"} {
		st, err := os.Stat(filepath.Join(dir, "data", f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, st, err)
		}
	}
	if strings.Contains(errOut.String(), tok) {
		t.Error("the dev token was written to the log")
	}
	// Everything the server created in its data directory is its user's alone.
	var files int
	err = filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %o", p, perm)
		}
		files++
		return nil
	})
	if err != nil || files < 5 {
		t.Errorf("data directory walk: %d entries, %v", files, err)
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after SIGINT: %s", code, errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop on SIGINT")
	}
}

func badManifest(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "bad.json")
	body := `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"a","body":"{ noSuchField }"}]}`
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestManifestSubcommand(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "me.graphql"), []byte("query Me { viewer { user { id } } }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "manifest.json")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"manifest", dir, "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"apollo-persisted-query-manifest"`) || !strings.Contains(string(b), `"name": "Me"`) {
		t.Fatalf("manifest: %s", b)
	}
	// The server loads what the subcommand wrote.
	t.Setenv("CREDKEEP_PERSISTED_QUERIES", out)
	t.Setenv("CREDKEEP_ADDR", "127.0.0.1:-1") // stop right after the manifest is checked
	t.Setenv("CREDKEEP_DATA_DIR", t.TempDir())
	stderr.Reset()
	if code := run(nil, &stdout, &stderr); code != exitConfig || !strings.Contains(stderr.String(), "CREDKEEP_ADDR") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	// A folder with an invalid operation is refused.
	if err := os.WriteFile(filepath.Join(dir, "bad.graphql"), []byte("query Bad { nope }"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"manifest", dir}, &stdout, &stderr); code == 0 {
		t.Fatal("an invalid operation was accepted")
	}
}
