package app_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOAuthConnectionState (SPEC.md §9): a new OAuth2 credential reads as not
// connected, an authorization connects it (by whom, until when), a refresh is
// recorded, and a refused refresh token asks for a new authorization. Types
// that are not OAuth2 have no connection.
func TestOAuthConnectionState(t *testing.T) {
	o := startOAuth(t)
	e := newEnvWith(t, func(e *env) { e.allowPrivate = true })
	ctx := context.Background()
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "connections")
	cred := e.createCredential(alice, ws, "oauth2", "Generic", oauthFields(o, "authorization_code")...)
	client := e.client(nil, alice)
	type state struct {
		State, GrantType                  string
		Connected, By, Expires, Refreshed bool
	}
	read := func() state {
		t.Helper()
		r, err := CredentialConnection(ctx, client, cred)
		if err != nil {
			t.Fatal(err)
		}
		c := r.Credential.Connection
		if c == nil {
			t.Fatal("an OAuth2 credential has no connection")
		}
		s := state{State: string(c.State), GrantType: c.GrantType, Connected: c.ConnectedAt != nil,
			Expires: c.ExpiresAt != nil, Refreshed: c.LastRefreshedAt != nil}
		if c.ConnectedBy != nil {
			s.By = c.ConnectedBy.Id == "alice"
		}
		return s
	}
	if diff := cmp.Diff(state{State: "NOT_CONNECTED", GrantType: "authorization_code"}, read()); diff != "" {
		t.Errorf("new credential (-want +got):\n%s", diff)
	}
	if page := e.authorize(alice, cred, o, "code-1"); page.Status != http.StatusOK {
		t.Fatalf("authorization: %d %s", page.Status, page.Body)
	}
	if diff := cmp.Diff(state{State: "CONNECTED", GrantType: "authorization_code", Connected: true, By: true, Expires: true}, read()); diff != "" {
		t.Errorf("after authorization (-want +got):\n%s", diff)
	}
	const refresh = `mutation($id: ID!) { refreshCredential(id: $id) { id } }`
	mustOK(t, e.gql(alice, refresh, map[string]any{"id": cred}))
	if diff := cmp.Diff(state{State: "CONNECTED", GrantType: "authorization_code", Connected: true, By: true, Expires: true, Refreshed: true}, read()); diff != "" {
		t.Errorf("after a refresh (-want +got):\n%s", diff)
	}
	o.mu.Lock()
	o.invalidGrant = true
	o.mu.Unlock()
	mustOK(t, e.gql(alice, refresh, map[string]any{"id": cred}))
	if got := read().State; got != "NEEDS_REAUTHORIZATION" {
		t.Errorf("after the provider refused the refresh token: %s, want NEEDS_REAUTHORIZATION", got)
	}

	smtp := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	e.forget(secrets[0])
	r, err := CredentialConnection(ctx, client, smtp)
	if err != nil {
		t.Fatal(err)
	}
	if r.Credential.Connection != nil {
		t.Errorf("an SMTP credential has a connection: %+v", r.Credential.Connection)
	}
}
