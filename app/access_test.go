package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// forbiddenPaths are the paths of a typed call's FORBIDDEN errors; any other
// error fails the test.
func forbiddenPaths(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var list gqlerror.List
	if !errors.As(err, &list) {
		t.Fatalf("not a GraphQL error: %v", err)
	}
	var out []string
	for _, e := range list {
		if code, _ := e.Extensions["code"].(string); code != "FORBIDDEN" {
			t.Fatalf("error %v, want only FORBIDDEN ones", e)
		}
		out = append(out, e.Path.String())
	}
	return out
}

// TestGatedFieldsNeverTakeTheirParentDown (SPEC.md §9): a field the viewer may
// not read is null with FORBIDDEN at its own path, its parent and siblings
// keep their data, and viewerCan says exactly what each viewer may do.
func TestGatedFieldsNeverTakeTheirParentDown(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "gates")
	e.addMember(alice, ws, "bob", "MEMBER")
	e.addMember(alice, ws, "carol", "MEMBER")
	mail := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	e.forget(secrets[0])
	for user, level := range map[string]string{"bob": "VIEW", "carol": "USE"} {
		mustOK(t, e.gql(alice, shareCredential, map[string]any{"in": map[string]any{
			"credentialId": mail, "granteeKind": "USER", "userId": user, "level": level}}))
	}
	readOnly, _ := e.apiToken(alice, map[string]any{"name": "reader", "scopes": []string{"CREDENTIALS_READ"}})

	type credentialSeen struct {
		Name                               string
		Fields, Grants, Usages, AuditTrail bool // non-null
		Forbidden                          []string
		CredentialAccessCredentialViewerCanCredentialPermissions
	}
	seeCredential := func(token string) credentialSeen {
		t.Helper()
		r, err := CredentialAccess(ctx, e.client(nil, token), mail)
		forbidden := forbiddenPaths(t, err)
		if r == nil || r.Credential == nil {
			t.Fatalf("the credential itself is null (%v)", err)
		}
		c := r.Credential
		return credentialSeen{Name: c.Name, Fields: c.Fields != nil, Grants: c.Grants != nil, Usages: c.Usages != nil,
			AuditTrail: c.AuditTrail != nil, Forbidden: forbidden, CredentialAccessCredentialViewerCanCredentialPermissions: c.ViewerCan}
	}
	type can = CredentialAccessCredentialViewerCanCredentialPermissions
	cases := []struct {
		who   string
		token string
		want  credentialSeen
	}{
		{"the owner", alice, credentialSeen{Name: "Mail", Fields: true, Grants: true, Usages: true, AuditTrail: true,
			CredentialAccessCredentialViewerCanCredentialPermissions: can{Use: true, View: true, Edit: true, Share: true, Delete: true, Test: true, ReadAudit: true}}},
		{"a VIEW grantee", e.token("bob"), credentialSeen{Name: "Mail", Fields: true, Usages: true,
			Forbidden: []string{"credential.grants", "credential.auditTrail"},
			CredentialAccessCredentialViewerCanCredentialPermissions: can{Use: true, View: true}}},
		{"a USE grantee", e.token("carol"), credentialSeen{Name: "Mail",
			Forbidden: []string{"credential.fields", "credential.grants", "credential.usages", "credential.auditTrail"},
			CredentialAccessCredentialViewerCanCredentialPermissions: can{Use: true}}},
		{"the owner's read-only token", readOnly, credentialSeen{Name: "Mail", Fields: true, Grants: true, Usages: true,
			Forbidden: []string{"credential.auditTrail"},
			CredentialAccessCredentialViewerCanCredentialPermissions: can{View: true}}},
	}
	for _, c := range cases {
		got := seeCredential(c.token)
		if diff := cmp.Diff(c.want, got, sortStrings); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.who, diff)
		}
	}

	// A page of credentials with fields, for a USE grantee: the workspace and
	// the page stand, the row's fields are null.
	r, err := WorkspaceAccess(ctx, e.client(nil, e.token("carol")), ws)
	forbidden := forbiddenPaths(t, err)
	if r == nil || r.Workspace == nil {
		t.Fatalf("the workspace itself is null for a member (%v)", err)
	}
	w := r.Workspace
	if len(w.Credentials.Edges) != 1 || w.Credentials.Edges[0].Node.Id != mail {
		t.Fatalf("carol's page: %+v", w.Credentials.Edges)
	}
	if w.Credentials.Edges[0].Node.Fields != nil {
		t.Errorf("carol reads the fields of a credential she may only use: %+v", w.Credentials.Edges[0].Node.Fields)
	}
	if w.AuditLog != nil {
		t.Errorf("a MEMBER reads the audit log: %+v", w.AuditLog)
	}
	if diff := cmp.Diff([]string{"workspace.auditLog", "workspace.credentials.edges[0].node.fields"}, forbidden, sortStrings); diff != "" {
		t.Errorf("carol's FORBIDDEN paths (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(WorkspaceAccessWorkspaceViewerCanWorkspacePermissions{CreateCredentials: true, CreateTokens: true}, w.ViewerCan); diff != "" {
		t.Errorf("a MEMBER's workspace permissions (-want +got):\n%s", diff)
	}

	// The owner may do everything; the owner's read-only token nothing but read.
	wantWorkspace := map[string]WorkspaceAccessWorkspaceViewerCanWorkspacePermissions{
		"owner": {Rename: true, Delete: true, RotateKey: true, ManageMembers: true, ManageOwners: true, CreateCredentials: true,
			SetDefaults: true, ReadAudit: true, VerifyAudit: true, CreateTokens: true},
		"read-only token": {},
	}
	for who, token := range map[string]string{"owner": alice, "read-only token": readOnly} {
		r, err := WorkspaceAccess(ctx, e.client(nil, token), ws)
		forbiddenPaths(t, err)
		if r == nil || r.Workspace == nil {
			t.Fatalf("%s: the workspace is null (%v)", who, err)
		}
		if diff := cmp.Diff(wantWorkspace[who], r.Workspace.ViewerCan); diff != "" {
			t.Errorf("%s's workspace permissions (-want +got):\n%s", who, diff)
		}
	}

	// Every permission the owner is offered is one the API grants: try them.
	if _, err := UpdateCredential(ctx, e.client(nil, e.token("bob")), UpdateCredentialInput{Id: mail, Name: ptr("x")}); errorCode(err) != "FORBIDDEN" {
		t.Errorf("bob, not offered edit, updated: %v", err)
	}
	if _, err := RenameWorkspace(ctx, e.client(nil, e.token("carol")), ws, "x"); errorCode(err) != "FORBIDDEN" {
		t.Errorf("carol, not offered rename, renamed: %v", err)
	}
	if _, err := RenameWorkspace(ctx, e.client(nil, alice), ws, "gates renamed"); err != nil {
		t.Errorf("the owner, offered rename, could not: %v", err)
	}
}

// TestOAuthCredentialPermissions: authorize is offered for an authorization-
// code credential, not for client credentials; refresh for both.
func TestOAuthCredentialPermissions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "oauth")
	for _, grant := range []string{"authorization_code", "client_credentials"} {
		id := e.createCredential(alice, ws, "microsoft365", "MS "+grant,
			field{"key": "tenantId", "value": "t"}, field{"key": "clientId", "value": "c"},
			field{"key": "clientSecret", "value": secrets[1]}, field{"key": "grantType", "value": grant})
		r, err := CredentialAccess(ctx, e.client(nil, alice), id)
		if err != nil {
			t.Fatal(err)
		}
		got := r.Credential.ViewerCan
		if want := grant == "authorization_code"; got.Authorize != want {
			t.Errorf("%s: authorize %v, want %v", grant, got.Authorize, want)
		}
		if !got.Refresh {
			t.Errorf("%s: refresh not offered", grant)
		}
		// The offer matches the API's answer.
		start := e.gql(alice, `mutation($id: ID!) { startOAuthAuthorization(credentialId: $id) { authorizationUrl } }`, map[string]any{"id": id})
		if started := len(start.Errors) == 0; started != got.Authorize {
			t.Errorf("%s: authorize offered %v, startOAuthAuthorization succeeded %v (%s)", grant, got.Authorize, started, start.Body)
		}
	}
	e.forget(secrets[1])
}

// sortStrings compares string slices as sets.
var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// TestEveryObjectHasAnID: Viewer and CredentialType have ids a normalized
// cache can key on (Apollo warns and drops data without them).
func TestEveryObjectHasAnID(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.token("alice")
	tok, tokID := e.apiToken(alice, map[string]any{"name": "bot", "scopes": allScopes()})
	for who, c := range map[string]struct{ token, want string }{
		"a person":           {alice, "viewer:alice"},
		"the person's token": {tok, "viewer:alice:token:" + tokID},
	} {
		r, err := ViewerIdentity(ctx, e.client(nil, c.token))
		if err != nil {
			t.Fatal(err)
		}
		if r.Viewer.Id != c.want {
			t.Errorf("%s: viewer id %q, want %q", who, r.Viewer.Id, c.want)
		}
		for _, ty := range r.CredentialTypes {
			if ty.Id == "" || ty.Id != ty.Key {
				t.Errorf("credential type %q has id %q", ty.Key, ty.Id)
			}
		}
	}
}

// TestNodeFindsWhatTheViewerCanSee (Relay): Query.node answers a credential,
// a workspace, an API token and the viewer's own user by id, and null for
// what the viewer cannot see.
func TestNodeFindsWhatTheViewerCanSee(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.token("alice"), e.token("bob")
	ws := e.createWorkspace(alice, "nodes")
	cred := e.createCredential(alice, ws, "api_key", "Key", field{"key": "apiKey", "value": secrets[1]})
	e.forget(secrets[1])
	_, tokID := e.apiToken(alice, map[string]any{"name": "bot", "scopes": allScopes()})
	other := e.createWorkspace(alice, "elsewhere")
	elsewhere, _ := e.apiToken(alice, map[string]any{"name": "elsewhere", "scopes": allScopes(), "workspaceId": other})
	const q = `query($id: ID!) { node(id: $id) { __typename id ... on Credential { name } ... on Workspace { name } ... on ApiToken { name } } }`
	type node struct {
		Typename string `json:"__typename"`
		ID, Name string
	}
	find := func(token, id string) *node {
		t.Helper()
		var n *node
		mustOK(t, e.gql(token, q, map[string]any{"id": id})).field(t, "node", &n)
		return n
	}
	for _, c := range []struct {
		who, token, id string
		want           *node
	}{
		{"alice", alice, cred, &node{"Credential", cred, "Key"}},
		{"alice", alice, ws, &node{"Workspace", ws, "nodes"}},
		{"alice", alice, tokID, &node{"ApiToken", tokID, "bot"}},
		{"alice", alice, "alice", &node{Typename: "User", ID: "alice"}},
		{"bob", bob, cred, nil},
		{"bob", bob, ws, nil},
		{"bob", bob, tokID, nil},
		{"bob", bob, "alice", nil},
		{"alice", alice, "no-such-id", nil},
		// alice's token restricted to another workspace sees nothing of this one.
		{"a token of another workspace", elsewhere, cred, nil},
		{"a token of another workspace", elsewhere, ws, nil},
	} {
		if diff := cmp.Diff(c.want, find(c.token, c.id)); diff != "" {
			t.Errorf("%s asks for %s (-want +got):\n%s", c.who, c.id, diff)
		}
	}
}
