package app_test

import (
	"context"
	"fmt"
	"testing"

	"credkeep/connection"
)

// TestStagedRotation: new SMTP credentials are staged while the current ones
// keep being used, tested against a real SMTP server on loopback, then
// promoted; a stage can be discarded; a credential changed after its stage
// refuses the promotion; the destination rule holds for a stage.
func TestStagedRotation(t *testing.T) {
	cert, pool := testCA(t)
	starttls, _ := startSMTP(t, cert)
	e := newEnvWith(t, func(e *env) {
		e.allowPrivate = true
		e.outbound = connection.Config{RootCAs: pool}
	})
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "staging")
	e.addMember(alice, ws, "bob", "MEMBER")
	// The provider changed the password: the stored one no longer works.
	cred := e.createCredential(alice, ws, "smtp", "Mail",
		field{"key": "host", "value": "127.0.0.1"}, field{"key": "port", "value": starttls},
		field{"key": "username", "value": "mailer"}, field{"key": "password", "value": "wrong-password-456"},
		field{"key": "security", "value": "starttls"})
	bot, _ := e.apiToken(alice, map[string]any{"name": "bot", "scopes": []string{"CREDENTIALS_USE"}})
	password := func() string {
		t.Helper()
		var out struct{ Fields []struct{ Key, Value string } }
		mustOK(t, e.gql(bot, `mutation($id: ID!) { useCredential(id: $id) { fields { key value } } }`, map[string]any{"id": cred})).field(t, "useCredential", &out)
		for _, f := range out.Fields {
			if f.Key == "password" {
				return f.Value
			}
		}
		return ""
	}
	stage := func(token string, fields ...field) response {
		return e.gql(token, `mutation($id: ID!, $f: [FieldInput!]!) { stageCredentialSecrets(id: $id, fields: $f) { id } }`, map[string]any{"id": cred, "f": fields})
	}
	states := func() string {
		t.Helper()
		vs, _, _ := credentialVersions(t, e, alice, cred)
		s := ""
		for _, v := range vs {
			s += fmt.Sprintf("%d:%s ", v.Version, v.State)
		}
		return s
	}
	promote := func() response {
		return e.gql(alice, `mutation($id: ID!) { promoteCredentialSecrets(id: $id) { id } }`, map[string]any{"id": cred})
	}
	discard := func() response {
		return e.gql(alice, `mutation($id: ID!) { discardCredentialSecrets(id: $id) { id } }`, map[string]any{"id": cred})
	}
	testPending := func() testResultJSON {
		t.Helper()
		var r testResultJSON
		mustOK(t, e.gql(alice, `mutation($id: ID!) { testCredential(id: $id, pending: true) { ok message testedAt credential { status statusMessage lastTestedAt } } }`,
			map[string]any{"id": cred})).field(t, "testCredential", &r)
		return r
	}

	// Refusals first: nothing staged, a stage without a secret change, a
	// destination moved without the secret, a member without MANAGE.
	if r := promote(); r.code() != "NOT_FOUND" {
		t.Fatalf("promote with nothing staged: %s", r.Body)
	}
	if r := stage(alice, field{"key": "username", "value": "other"}); r.code() != "BAD_USER_INPUT" {
		t.Fatalf("a stage that changes no secret: %s", r.Body)
	}
	if r := stage(alice, field{"key": "host", "value": "127.0.0.2"}); r.code() != "BAD_USER_INPUT" || r.Errors[0].Extensions["reason"] != "SECRET_REQUIRED_FOR_DESTINATION_CHANGE" {
		t.Fatalf("a stage moving the host without the password: %s", r.Body)
	}
	if r := stage(e.token("bob"), field{"key": "password", "value": "x"}); r.code() != "NOT_FOUND" && r.code() != "FORBIDDEN" {
		t.Fatalf("a member without access staged: %s", r.Body)
	}

	// A token that may only use the credential may not stage, promote or read versions.
	if r := stage(bot, field{"key": "password", "value": "right-password-123"}); r.code() != "FORBIDDEN" {
		t.Fatalf("a CREDENTIALS_USE token staged: %s", r.Body)
	}
	if r := e.gql(bot, `mutation($id: ID!) { promoteCredentialSecrets(id: $id) { id } }`, map[string]any{"id": cred}); r.code() != "FORBIDDEN" {
		t.Fatalf("a CREDENTIALS_USE token promoted: %s", r.Body)
	}

	mustOK(t, stage(alice, field{"key": "password", "value": "right-password-123"}))
	if got := states(); got != "2:PENDING 1:CURRENT " {
		t.Fatalf("after the stage: %s", got)
	}
	if password() != "wrong-password-456" {
		t.Fatal("useCredential returned the staged password")
	}
	if r := testPending(); !r.OK || r.Credential.LastTestedAt != nil {
		t.Fatalf("testing the staged password: %+v (the credential's own test date must not move)", r)
	}
	mustOK(t, promote())
	if password() != "right-password-123" || states() != "2:CURRENT 1:PREVIOUS " {
		t.Fatalf("after the promotion: %s", states())
	}
	if r := e.testCred(alice, cred); !r.OK {
		t.Fatalf("the promoted password does not authenticate: %+v", r)
	}

	// Discarded, and a stale stage.
	mustOK(t, stage(alice, field{"key": "password", "value": "wrong-password-456"}))
	if r := testPending(); r.OK {
		t.Fatal("the staged wrong password authenticated")
	}
	mustOK(t, discard())
	if r := discard(); r.code() != "NOT_FOUND" {
		t.Fatalf("discarding twice: %s", r.Body)
	}
	if got := states(); got != "2:CURRENT 1:PREVIOUS " || password() != "right-password-123" {
		t.Fatalf("after the discard: %s", got)
	}
	mustOK(t, stage(alice, field{"key": "password", "value": "third-password"}))
	mustOK(t, e.gql(alice, `mutation($in: UpdateCredentialInput!) { updateCredential(input: $in) { id } }`, map[string]any{"in": map[string]any{"id": cred, "name": "Mail (renamed)"}}))
	if r := promote(); r.code() != "CONFLICT" {
		t.Fatalf("promoting a stage older than the credential: %s", r.Body)
	}

	entries, err := e.db.Raw(t).AuditEntriesFor(context.Background(), cred)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		switch en.Action {
		case "CREDENTIAL_STAGED", "CREDENTIAL_PROMOTED", "CREDENTIAL_DISCARDED":
			actions = append(actions, en.Action)
		}
	}
	if fmt.Sprint(actions) != "[CREDENTIAL_STAGED CREDENTIAL_PROMOTED CREDENTIAL_STAGED CREDENTIAL_DISCARDED CREDENTIAL_STAGED]" {
		t.Fatalf("audited: %v", actions)
	}
}
