package app_test

import (
	"context"
	"net/http"
	"net/url"
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

	// The connection tells of the credential's fields (scopes, grant type):
	// VIEW reads it, USE gets null with FORBIDDEN at its path.
	e.addMember(alice, ws, "bob", "MEMBER")
	e.addMember(alice, ws, "carol", "MEMBER")
	for user, level := range map[string]string{"bob": "USE", "carol": "VIEW"} {
		mustOK(t, e.gql(alice, shareCredential, map[string]any{"in": map[string]any{
			"credentialId": cred, "granteeKind": "USER", "userId": user, "level": level}}))
	}
	used, err := CredentialConnection(ctx, e.client(nil, e.token("bob")), cred)
	if diff := cmp.Diff([]string{"credential.connection"}, forbiddenPaths(t, err)); diff != "" {
		t.Errorf("a USE grantee's errors (-want +got):\n%s", diff)
	}
	if used == nil || used.Credential == nil || used.Credential.Connection != nil {
		t.Errorf("a USE grantee reads the connection, or loses the credential: %+v", used)
	}
	viewed, err := CredentialConnection(ctx, e.client(nil, e.token("carol")), cred)
	if err != nil || viewed.Credential.Connection == nil || viewed.Credential.Connection.GrantType != "authorization_code" {
		t.Errorf("a VIEW grantee's connection: %+v, %v", viewed, err)
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

// TestOAuthReturnTo (SPEC.md §9): an app that starts an authorization gets
// the person back, to an allowed origin only, with the outcome as a code.
func TestOAuthReturnTo(t *testing.T) {
	o := startOAuth(t)
	e := newEnvWith(t, func(e *env) { e.allowPrivate, e.cors = true, []string{"https://app.example.com"} })
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "return")
	cred := e.createCredential(alice, ws, "oauth2", "Generic", oauthFields(o, "authorization_code")...)
	const start = `mutation($id: ID!, $back: String) { startOAuthAuthorization(credentialId: $id, returnTo: $back) { authorizationUrl state } }`
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	callback := func(code string) *url.URL {
		t.Helper()
		var a struct {
			AuthorizationURL string `json:"authorizationUrl"`
			State            string
		}
		mustOK(t, e.gql(alice, start, map[string]any{"id": cred, "back": "https://app.example.com/settings?tab=keys"})).field(t, "startOAuthAuthorization", &a)
		u, _ := url.Parse(a.AuthorizationURL)
		o.addCode("code-ok", u.Query().Get("code_challenge"))
		resp, err := noFollow.Get(e.srv.URL + "/oauth/callback?state=" + url.QueryEscape(a.State) + "&code=" + url.QueryEscape(code))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("callback answered %d, want 303", resp.StatusCode)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	ok := callback("code-ok")
	if diff := cmp.Diff(url.Values{"tab": {"keys"}, "credkeep_oauth": {"connected"}, "credentialId": {cred}}, ok.Query()); diff != "" || ok.Host != "app.example.com" || ok.Path != "/settings" {
		t.Errorf("back after success: %s (-want +got query):\n%s", ok, diff)
	}
	failed := callback("no-such-code")
	if diff := cmp.Diff(url.Values{"tab": {"keys"}, "credkeep_oauth": {"failed"}, "credentialId": {cred}, "reason": {"exchange_failed"}}, failed.Query()); diff != "" {
		t.Errorf("back after a failure (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"https://evil.example.com/", "//app.example.com/x", "javascript:alert(1)", "https://user@app.example.com/"} {
		wantCode(t, e.gql(alice, start, map[string]any{"id": cred, "back": bad}), "BAD_USER_INPUT")
	}
}
