package app_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"credkeep/internal/redact"
	"credkeep/kms"
	"credkeep/kms/kmstest"
)

// TestKMSOutageFailsClosed: with the master key in a KMS (KMIP on loopback)
// that stops answering, an instance that holds no unwrapped key answers
// /readyz 503, and every request that needs a secret fails with INTERNAL and
// a request id, revealing nothing and storing nothing; when the KMS answers
// again the same instance serves them, without a restart.
func TestKMSOutageFailsClosed(t *testing.T) {
	srv := kmstest.StartKMIP(t)
	settings, err := kms.New(srv.Config(), redact.Bytes{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(e *env) { e.kms = &settings })
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "kms outage")
	cred := e.createCredential(alice, ws, "api_key", "Key", field{"key": "apiKey", "value": secrets[1]})
	bot, _ := e.apiToken(alice, map[string]any{"name": "bot", "scopes": []string{"CREDENTIALS_USE"}, "workspaceId": ws})

	srv.SetDown(true)
	fresh := e.instance() // a restarted instance: no data key unwrapped yet
	if r := get(t, fresh.srv.URL+"/readyz"); r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "KMS") {
		t.Errorf("readyz with the KMS down: %d %s", r.Status, r.Body)
	}
	const use = `mutation($id: ID!) { useCredential(id: $id) { fields { key value } } }`
	r := e.gqlOn(fresh.srv, bot, use, map[string]any{"id": cred})
	if r.code() != "INTERNAL" || !strings.Contains(r.Body, "request id") || strings.Contains(r.Body, secrets[1]) {
		t.Fatalf("useCredential with the KMS down: HTTP %d %s", r.Status, r.Body)
	}
	create := func(name string) response {
		return e.gqlOn(fresh.srv, alice, `mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"workspaceId": ws, "type": "api_key", "name": name, "fields": []field{{"key": "apiKey", "value": secrets[2]}}}})
	}
	if r := create("during the outage"); r.code() != "INTERNAL" || !strings.Contains(r.Body, "request id") {
		t.Fatalf("createCredential with the KMS down: HTTP %d %s", r.Status, r.Body)
	}

	srv.SetDown(false)
	time.Sleep(2100 * time.Millisecond) // readyz's last KMS answer expires
	if r := get(t, fresh.srv.URL+"/readyz"); r.Status != http.StatusOK {
		t.Errorf("readyz once the KMS answers: %d %s", r.Status, r.Body)
	}
	var out struct {
		Fields []struct{ Key, Value string }
	}
	mustOK(t, e.gqlOn(fresh.srv, bot, use, map[string]any{"id": cred})).field(t, "useCredential", &out)
	e.forget(secrets[1])
	if apiKeyOf(out.Fields) != secrets[1] {
		t.Fatal("after the outage the secret does not read back")
	}
	// Nothing of the refused create was stored: the name is free.
	mustOK(t, create("during the outage"))
	var list struct {
		Credentials struct{ TotalCount int }
	}
	mustOK(t, e.gqlOn(fresh.srv, alice, `query($ws: ID!) { workspace(id: $ws) { credentials { totalCount } } }`, map[string]any{"ws": ws})).
		field(t, "workspace", &list)
	if list.Credentials.TotalCount != 2 {
		t.Fatalf("%d credentials after the outage, want 2", list.Credentials.TotalCount)
	}
}
