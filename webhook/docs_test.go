package webhook

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credkeep/storage"
)

// TestDocsVerifyExample runs the Go program of docs/events.md against a
// delivery signed by this package: the example verifies what credkeep sends,
// and rejects it changed.
func TestDocsVerifyExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```go\n")
	program, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 || !strings.Contains(program, "func verify(") {
		t.Fatal("docs/events.md has no Go verification program")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "verify")
	build := exec.Command("go", "build", "-o", bin, "main.go")
	build.Dir = dir
	build.Env = append(os.Environ(), "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the docs' program does not build: %v\n%s", err, out)
	}

	secret, err := newSecret()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := signingKey(secret)
	now := time.Now()
	b, err := body(storage.AuditEntry{Log: "ws", Seq: 42, At: now, Action: "CREDENTIAL_EXPIRING", Outcome: "SUCCESS", ActorKind: "SYSTEM",
		Details: []storage.AuditDetail{{Key: "days", Value: "3"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := storage.DeliveryID("hook", 42)
	delivery := func(sig, body string) string {
		return fmt.Sprintf("webhook-id: %s\nwebhook-timestamp: %d\nwebhook-signature: %s\n%s", id, now.Unix(), sig, body)
	}
	run := func(input string) (string, error) {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "CREDKEEP_WEBHOOK_SECRET="+secret.Reveal())
		cmd.Stdin = strings.NewReader(input)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	sig := sign(key, id, now, b)
	if out, err := run(delivery(sig, string(b))); err != nil || out != "verified" {
		t.Fatalf("a delivery credkeep signed: %q %v", out, err)
	}
	if out, err := run(delivery("v1,bogus "+sig, string(b))); err != nil || out != "verified" {
		t.Fatalf("with a second signature beside it: %q %v", out, err)
	}
	if out, err := run(delivery(sig, strings.Replace(string(b), `"3"`, `"30"`, 1))); err == nil || !strings.HasPrefix(out, "rejected") {
		t.Fatalf("a changed body: %q %v", out, err)
	}
}
