package app_test

import (
	"bytes"
	"context"
	"testing"
)

// TestNoPlaintextSecretsOnDisk stores and rotates secrets through the API, then
// searches every byte the embedded database wrote for them.
func TestNoPlaintextSecretsOnDisk(t *testing.T) {
	e := newEnv(t)
	owner := e.token("owner")
	ws := e.createWorkspace(owner, "disk")
	id := e.createCredential(owner, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	e.createCredential(owner, ws, "custom", "Custom", field{"key": "token", "value": secrets[2], "secret": true})
	mustOK(t, e.gql(owner, updateCredential, map[string]any{"in": map[string]any{"id": id, "fields": []field{{"key": "password", "value": secrets[4]}}}}))
	// The secrets are really stored: the hint of the rotated one is its last four characters.
	var c credentialJSON
	mustOK(t, e.gql(owner, credentialQuery, map[string]any{"id": id})).field(t, "credential", &c)
	if h := fieldByKey(t, c.Fields, "password").Hint; h == nil || *h != "••••1357" {
		t.Fatalf("hint = %v", h)
	}

	e.store.Close(context.Background())
	sawPlain := false
	for path, b := range e.db.ScanFiles(t) {
		for _, s := range []string{secrets[0], secrets[2], secrets[4]} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("plaintext secret in %s", path)
			}
		}
		// A non-secret value must be found: it proves the scan sees stored data.
		sawPlain = sawPlain || bytes.Contains(b, []byte("smtp.example.com"))
	}
	if !sawPlain {
		t.Fatal("the scan did not see the stored data")
	}
}
