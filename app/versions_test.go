package app_test

import (
	"fmt"
	"slices"
	"testing"
)

type versionJSON struct {
	Version       int
	State         string
	ChangedFields []string
	CreatedBy     *struct{ ID string }
}

const versionsQuery = `query($id: ID!) { credential(id: $id) { secretVersions { version state changedFields createdBy { id } } fields { key value } } }`

// TestSecretVersionsAndRollback: every change of secret values makes a
// version (a change of plain fields alone does not); MANAGE reads them, VIEW
// gets null and FORBIDDEN; a rollback makes a copy of an earlier version
// current, with the destination it had, and is itself a version; versions
// survive a workspace key rotation; only the last 10 are kept.
func TestSecretVersionsAndRollback(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.token("alice"), e.token("bob")
	ws := e.createWorkspace(alice, "versions")
	e.addMember(alice, ws, "bob", "MEMBER")
	const good, evil = "https://api.good.example", "https://collector.evil.example"
	cred := e.createCredential(alice, ws, "api_key", "Key",
		field{"key": "apiKey", "value": "version-one-key"}, field{"key": "baseUrl", "value": good})
	update := func(fields ...field) {
		t.Helper()
		mustOK(t, e.gql(alice, `mutation($in: UpdateCredentialInput!) { updateCredential(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"id": cred, "fields": fields}}))
	}
	versions := func(token string) ([]versionJSON, map[string]string, response) {
		t.Helper()
		return credentialVersions(t, e, token, cred)
	}
	numbers := func(vs []versionJSON) string {
		s := ""
		for _, v := range vs {
			s += fmt.Sprintf("%d:%s ", v.Version, v.State)
		}
		return s
	}

	update(field{"key": "apiKey", "value": "version-two-key"})
	update(field{"key": "headerName", "value": "X-Api-Key"}) // plain only: no new version
	// Pointing the key elsewhere needs it entered again: version 3 is the attacker's.
	update(field{"key": "baseUrl", "value": evil}, field{"key": "apiKey", "value": "version-three-key"})
	vs, plain, _ := versions(alice)
	if got := numbers(vs); got != "3:CURRENT 2:PREVIOUS 1:PREVIOUS " {
		t.Fatalf("versions: %s", got)
	}
	if !slices.Equal(vs[0].ChangedFields, []string{"apiKey"}) || vs[0].CreatedBy == nil || vs[0].CreatedBy.ID != "alice" {
		t.Fatalf("version 3: %+v", vs[0])
	}
	if plain["baseUrl"] != evil {
		t.Fatalf("baseUrl %q before the rollback", plain["baseUrl"])
	}

	// A MEMBER with VIEW sees the credential, not its versions.
	mustOK(t, e.gql(alice, `mutation($id: ID!) { shareCredential(input: {credentialId: $id, granteeKind: USER, userId: "bob", level: VIEW}) { id } }`, map[string]any{"id": cred}))
	vs, _, r := versions(bob)
	if vs != nil || r.code() != "FORBIDDEN" || fmt.Sprint(r.Errors[0].Path) != "[credential secretVersions]" {
		t.Fatalf("a VIEW grantee's versions: %v %s", vs, r.Body)
	}
	if r := e.gql(bob, `mutation($id: ID!) { rollbackCredential(id: $id, toVersion: 1) { id } }`, map[string]any{"id": cred}); r.code() != "FORBIDDEN" {
		t.Fatalf("a VIEW grantee rolled back: %s", r.Body)
	}

	// The key is rotated: earlier versions are re-encrypted too.
	mustOK(t, e.gql(alice, `mutation($ws: ID!) { rotateWorkspaceKey(workspaceId: $ws) { id } }`, map[string]any{"ws": ws}))

	rollback := func(to int) response {
		return e.gql(alice, `mutation($id: ID!, $to: Int!) { rollbackCredential(id: $id, toVersion: $to) { id } }`, map[string]any{"id": cred, "to": to})
	}
	mustOK(t, rollback(1))
	vs, plain, _ = versions(alice)
	if got := numbers(vs); got != "4:CURRENT 3:PREVIOUS 2:PREVIOUS 1:PREVIOUS " {
		t.Fatalf("versions after the rollback: %s", got)
	}
	if plain["baseUrl"] != good || plain["headerName"] != "" && plain["headerName"] != "Authorization" {
		t.Fatalf("the rollback kept the destination %q (header %q): an old secret would go to it", plain["baseUrl"], plain["headerName"])
	}
	bot, _ := e.apiToken(alice, map[string]any{"name": "bot", "scopes": []string{"CREDENTIALS_USE"}})
	var used struct{ Fields []struct{ Key, Value string } }
	mustOK(t, e.gql(bot, `mutation($id: ID!) { useCredential(id: $id) { fields { key value } } }`, map[string]any{"id": cred})).field(t, "useCredential", &used)
	if apiKeyOf(used.Fields) != "version-one-key" {
		t.Fatal("after the rollback useCredential does not return version 1's key")
	}
	var trail struct {
		AuditTrail struct {
			Edges []struct{ Node struct{ Action string } }
		}
	}
	mustOK(t, e.gql(alice, `query($id: ID!) { credential(id: $id) { auditTrail(first: 2) { edges { node { action } } } } }`, map[string]any{"id": cred})).field(t, "credential", &trail)
	if len(trail.AuditTrail.Edges) != 2 || trail.AuditTrail.Edges[1].Node.Action != "CREDENTIAL_ROLLED_BACK" {
		t.Fatalf("last entries (the use, then before it the rollback): %+v", trail.AuditTrail.Edges)
	}

	for _, c := range []struct {
		to   int
		code string
	}{{4, "BAD_USER_INPUT"}, {9, "BAD_USER_INPUT"}, {0, "NOT_FOUND"}} {
		if r := rollback(c.to); r.code() != c.code || r.Errors[0].Extensions["field"] != "toVersion" {
			t.Errorf("rollback to %d: %s, want %s at toVersion", c.to, r.Body, c.code)
		}
	}

	// Ten are kept, the current one included.
	for i := 5; i <= 12; i++ {
		update(field{"key": "apiKey", "value": fmt.Sprintf("version-%d-key", i)})
	}
	vs, _, _ = versions(alice)
	if len(vs) != 10 || vs[0].Version != 12 || vs[9].Version != 3 {
		t.Fatalf("kept versions: %s", numbers(vs))
	}
	if r := rollback(2); r.code() != "NOT_FOUND" {
		t.Fatalf("rollback to a destroyed version: %s", r.Body)
	}
}

// credentialVersions reads a credential's secret versions and its plain field values.
func credentialVersions(t *testing.T, e *env, token, id string) ([]versionJSON, map[string]string, response) {
	t.Helper()
	r := e.gql(token, versionsQuery, map[string]any{"id": id})
	var c struct {
		SecretVersions []versionJSON
		Fields         []struct {
			Key   string
			Value *string
		}
	}
	r.field(t, "credential", &c)
	plain := map[string]string{}
	for _, f := range c.Fields {
		if f.Value != nil {
			plain[f.Key] = *f.Value
		}
	}
	return c.SecretVersions, plain, r
}
