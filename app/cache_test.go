package app_test

import (
	"testing"
)

// TestCachedCredentialsFollowOtherInstances: an instance that has a credential
// and its workspace's list cached sees every change made through another
// instance on its very next request: a rename, a rotated secret, a status
// change and a deletion (after which its API token cannot fetch the secret).
func TestCachedCredentialsFollowOtherInstances(t *testing.T) {
	e := newEnv(t)
	other := e.instance().srv
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "cache")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	tok, _ := e.apiToken(alice, map[string]any{"name": "bot", "scopes": allScopes()})
	e.forget(secrets[0])
	e.forget(secrets[4])

	const one = `query($id: ID!) { credential(id: $id) { name version fields { key hint } } }`
	const list = `query($ws: ID!) { workspace(id: $ws) { credentials { totalCount edges { node { name fields { key hint } } } } } }`
	type credView struct {
		Name    string
		Version int
		Fields  []fieldJSON
	}
	read := func() credView {
		t.Helper()
		var c credView
		mustOK(t, e.gqlOn(other, alice, one, map[string]any{"id": cred})).field(t, "credential", &c)
		return c
	}
	listed := func() []credView {
		t.Helper()
		var w struct {
			Credentials struct {
				Edges []struct{ Node credView }
			}
		}
		mustOK(t, e.gqlOn(other, alice, list, map[string]any{"ws": ws})).field(t, "workspace", &w)
		var out []credView
		for _, edge := range w.Credentials.Edges {
			out = append(out, edge.Node)
		}
		return out
	}
	hint := func(c credView) string {
		for _, f := range c.Fields {
			if f.Key == "password" && f.Hint != nil {
				return *f.Hint
			}
		}
		return ""
	}
	// Warm the other instance's caches, twice over.
	for i := 0; i < 2; i++ {
		if c := read(); c.Name != "Mail" || hint(c) != "••••4242" {
			t.Fatalf("before: %+v", c)
		}
		if l := listed(); len(l) != 1 || l[0].Name != "Mail" {
			t.Fatalf("list before: %+v", l)
		}
	}

	mustOK(t, e.gql(alice, `mutation($in: UpdateCredentialInput!) { updateCredential(input: $in) { version } }`, map[string]any{"in": map[string]any{
		"id": cred, "name": "Mail renamed", "fields": []field{{"key": "password", "value": secrets[4]}}}}))
	if c := read(); c.Name != "Mail renamed" || c.Version != 2 || hint(c) != "••••1357" {
		t.Fatalf("after the update, the other instance reads %+v", c)
	}
	if l := listed(); len(l) != 1 || l[0].Name != "Mail renamed" || hint(l[0]) != "••••1357" {
		t.Fatalf("after the update, the other instance lists %+v", l)
	}
	var used struct{ Fields []struct{ Key, Value string } }
	mustOK(t, e.gqlOn(other, tok, useCredential, map[string]any{"id": cred})).field(t, "useCredential", &used)
	for _, f := range used.Fields {
		if f.Key == "password" && f.Value != secrets[4] {
			t.Fatalf("useCredential on the other instance released the old password")
		}
	}

	// Workspaces are cached too: a rename shows at once on the other instance.
	mustOK(t, e.gql(alice, `mutation($id: ID!) { renameWorkspace(id: $id, name: "cache renamed") { name } }`, map[string]any{"id": ws}))
	var w struct{ Name string }
	mustOK(t, e.gqlOn(other, alice, `query($id: ID!) { workspace(id: $id) { name } }`, map[string]any{"id": ws})).field(t, "workspace", &w)
	if w.Name != "cache renamed" {
		t.Fatalf("the other instance still names the workspace %q", w.Name)
	}

	mustOK(t, e.gql(alice, `mutation($id: ID!) { deleteCredential(id: $id, force: true) { deleted } }`, map[string]any{"id": cred}))
	r := e.gqlOn(other, alice, one, map[string]any{"id": cred})
	if string(r.Data["credential"]) != "null" {
		t.Fatalf("a deleted credential still reads on the other instance: %s", r.Data["credential"])
	}
	if l := listed(); len(l) != 0 {
		t.Fatalf("a deleted credential is still listed on the other instance: %+v", l)
	}
	wantCode(t, e.gqlOn(other, tok, useCredential, map[string]any{"id": cred}), "NOT_FOUND")
}
