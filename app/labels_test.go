package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDescriptionTagsAndReviews (SPEC.md §9): a credential says what it is for
// and carries labels; lists filter by tags, search the description, the type
// and the tags, and find what nobody used for a while; the audit log shows
// what one token did.
func TestDescriptionTagsAndReviews(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "labels")
	client := e.client(nil, alice)
	create := func(name, description string, tags ...string) string {
		t.Helper()
		in := CreateCredentialInput{WorkspaceId: ws, Type: "api_key", Name: name, Tags: tags,
			Fields: []FieldInput{{Key: "apiKey", Value: secrets[1]}}}
		if description != "" {
			in.Description = &description
		}
		r, err := CreateCredential(ctx, client, in)
		if err != nil {
			t.Fatal(err)
		}
		return r.CreateCredential.Id
	}
	prod := create("Billing", "Stripe key for invoices", "team:billing", "env:prod")
	create("Sandbox", "", "env:staging")
	old := create("Legacy", "old mailer", "env:prod")
	e.forget(secrets[1])

	labels, err := CredentialLabels(ctx, client, prod)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(CredentialLabelsResponse{Credential: &CredentialLabelsCredential{
		Description: ptr("Stripe key for invoices"), Tags: []string{"env:prod", "team:billing"}}}, *labels); diff != "" {
		t.Errorf("labels as stored (-want +got):\n%s", diff)
	}

	search := func(f CredentialFilter) string {
		t.Helper()
		r, err := CredentialSearch(ctx, client, ws, f)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, edge := range r.Workspace.Credentials.Edges {
			names = append(names, edge.Node.Name)
		}
		return strings.Join(names, ",")
	}
	for _, c := range []struct {
		what   string
		filter CredentialFilter
		want   string
	}{
		{"tag env:prod", CredentialFilter{Tags: []string{"env:prod"}}, "Billing,Legacy"},
		{"both tags", CredentialFilter{Tags: []string{"env:prod", "team:billing"}}, "Billing"},
		{"search in the description", CredentialFilter{Search: ptr("INVOICES")}, "Billing"},
		{"search in a tag", CredentialFilter{Search: ptr("staging")}, "Sandbox"},
		{"search the type's name", CredentialFilter{Search: ptr("api key")}, "Billing,Legacy,Sandbox"},
	} {
		if got := search(c.filter); got != c.want {
			t.Errorf("%s: %s, want %s", c.what, got, c.want)
		}
	}

	// Review: use Billing now and Legacy 100 days ago; Sandbox never.
	tok, tokID := e.apiToken(alice, map[string]any{"name": "bot", "scopes": allScopes()})
	mustOK(t, e.gql(tok, useCredential, map[string]any{"id": old}))
	e.clock.Advance(100 * 24 * time.Hour)
	mustOK(t, e.gql(tok, useCredential, map[string]any{"id": prod}))
	e.forget(secrets[1])
	client = e.client(nil, e.token("alice")) // a session of 100 days later
	if got := search(CredentialFilter{UnusedForDays: ptr(90)}); got != "Legacy,Sandbox" {
		t.Errorf("unused for 90 days: %s, want Legacy,Sandbox", got)
	}
	if _, err := CredentialSearch(ctx, client, ws, CredentialFilter{UnusedForDays: ptr(0)}); errorCode(err) != "BAD_USER_INPUT" {
		t.Errorf("unusedForDays 0: %v, want BAD_USER_INPUT", err)
	}

	// What that token did, and nothing else.
	audit, err := AuditByToken(ctx, client, ws, tokID)
	if err != nil {
		t.Fatal(err)
	}
	if n := audit.Workspace.AuditLog.TotalCount; n != 2 {
		t.Errorf("the token's entries: %d, want its 2 uses", n)
	}
	for _, edge := range audit.Workspace.AuditLog.Edges {
		if edge.Node.Action != AuditActionCredentialUsed || edge.Node.Actor.ApiTokenId == nil || *edge.Node.Actor.ApiTokenId != tokID {
			t.Errorf("entry %+v is not one of the token's", edge.Node)
		}
	}

	// Update: clear the description, replace the tags; bad tags are refused.
	if _, err := UpdateCredential(ctx, client, UpdateCredentialInput{Id: prod, Description: ptr(""), Tags: []string{"env:dev"}}); err != nil {
		t.Fatal(err)
	}
	labels, err = CredentialLabels(ctx, client, prod)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(CredentialLabelsCredential{Tags: []string{"env:dev"}}, *labels.Credential); diff != "" {
		t.Errorf("labels after the update (-want +got):\n%s", diff)
	}
	for _, bad := range [][]string{{"Env:Prod"}, {"a", "a"}, {strings.Repeat("x", 41)}} {
		_, err := UpdateCredential(ctx, client, UpdateCredentialInput{Id: prod, Tags: bad})
		if errorCode(err) != "BAD_USER_INPUT" {
			t.Errorf("tags %q: %v, want BAD_USER_INPUT", bad, err)
		}
	}
}
