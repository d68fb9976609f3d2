package app_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCachedCredentialsFollowOtherInstances: an instance that has a credential
// and its workspace's list cached sees every change made through another
// instance on its very next request: a rename, a rotated secret, a status
// change and a deletion (after which its API token cannot fetch the secret).
func TestCachedCredentialsFollowOtherInstances(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other := e.instance().srv
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "cache")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	tok, _ := e.apiToken(alice, map[string]any{"name": "bot", "scopes": allScopes()})
	e.forget(secrets[0])
	e.forget(secrets[4])
	here, there, bot := e.client(nil, alice), e.client(other, alice), e.client(other, tok)

	// What a test compares: the name, the version, the password's hint.
	type seen struct {
		Name    string
		Version int
		Hint    string
	}
	read := func() seen {
		t.Helper()
		r, err := CredentialView(ctx, there, cred)
		if err != nil {
			t.Fatalf("read on the other instance: %v", err)
		}
		if r.Credential == nil {
			t.Fatal("the credential reads as null on the other instance")
		}
		c := r.Credential
		return seen{Name: c.Name, Version: c.Version, Hint: hintOf(c.Fields)}
	}
	listed := func() []seen {
		t.Helper()
		r, err := CredentialList(ctx, there, ws)
		if err != nil {
			t.Fatalf("list on the other instance: %v", err)
		}
		var out []seen
		for _, edge := range r.Workspace.Credentials.Edges {
			out = append(out, seen{Name: edge.Node.Name, Hint: hintOf(edge.Node.Fields)})
		}
		return out
	}

	// Warm the other instance's caches, twice over.
	for range 2 {
		if diff := cmp.Diff(seen{Name: "Mail", Version: 1, Hint: "••••4242"}, read()); diff != "" {
			t.Fatalf("before the update (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]seen{{Name: "Mail", Hint: "••••4242"}}, listed()); diff != "" {
			t.Fatalf("list before the update (-want +got):\n%s", diff)
		}
	}

	if _, err := UpdateCredential(ctx, here, UpdateCredentialInput{Id: cred, Name: ptr("Mail renamed"),
		Fields: []FieldInput{{Key: "password", Value: secrets[4]}}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(seen{Name: "Mail renamed", Version: 2, Hint: "••••1357"}, read()); diff != "" {
		t.Fatalf("after the update, the other instance reads (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]seen{{Name: "Mail renamed", Hint: "••••1357"}}, listed()); diff != "" {
		t.Fatalf("after the update, the other instance lists (-want +got):\n%s", diff)
	}
	used, err := UseCredential(ctx, bot, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range used.UseCredential.Fields {
		if f.Key == "password" && f.Value != secrets[4] {
			t.Fatalf("useCredential on the other instance released the old password")
		}
	}

	// Workspaces are cached too: a rename shows at once on the other instance.
	if _, err := RenameWorkspace(ctx, here, ws, "cache renamed"); err != nil {
		t.Fatal(err)
	}
	w, err := WorkspaceName(ctx, there, ws)
	if err != nil {
		t.Fatal(err)
	}
	if w.Workspace == nil || w.Workspace.Name != "cache renamed" {
		t.Fatalf("the other instance still names the workspace %+v", w.Workspace)
	}

	if _, err := DeleteCredential(ctx, here, cred); err != nil {
		t.Fatal(err)
	}
	if r, err := CredentialView(ctx, there, cred); err != nil || r.Credential != nil {
		t.Fatalf("a deleted credential still reads on the other instance: %+v, %v", r.Credential, err)
	}
	if l := listed(); len(l) != 0 {
		t.Fatalf("a deleted credential is still listed on the other instance: %+v", l)
	}
	if _, err := UseCredential(ctx, bot, cred, nil); errorCode(err) != "NOT_FOUND" {
		t.Fatalf("useCredential of a deleted credential: %v, want NOT_FOUND", err)
	}
}

// hintOf is the password field's hint ("" when there is none).
func hintOf[F any, P interface {
	*F
	GetKey() string
	GetHint() *string
}](fields []F) string {
	for i := range fields {
		if f := P(&fields[i]); f.GetKey() == "password" && f.GetHint() != nil {
			return *f.GetHint()
		}
	}
	return ""
}
