package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"credkeep/connection"
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

// TestOAuthReturnsToTheConsole: a server that serves the console lets an
// authorization return to its own origin (that of the OAuth redirect URL),
// and one that does not serve it does not.
func TestOAuthReturnsToTheConsole(t *testing.T) {
	o := startOAuth(t)
	const start = `mutation($id: ID!, $back: String) { startOAuthAuthorization(credentialId: $id, returnTo: $back) { state } }`
	for _, console := range []bool{true, false} {
		e := newEnvWith(t, func(e *env) {
			e.allowPrivate, e.console = true, console
			e.outbound = connection.Config{RedirectURL: "https://credkeep.example.com/oauth/callback"}
		})
		alice := e.token("alice")
		cred := e.createCredential(alice, e.createWorkspace(alice, "back"), "oauth2", "Generic", oauthFields(o, "authorization_code")...)
		r := e.gql(alice, start, map[string]any{"id": cred, "back": "https://credkeep.example.com/w/x/credentials/" + cred})
		if console {
			mustOK(t, r)
		} else {
			wantCode(t, r, "BAD_USER_INPUT")
		}
		wantCode(t, e.gql(alice, start, map[string]any{"id": cred, "back": "https://other.example.com/"}), "BAD_USER_INPUT")
	}
}

// TestOAuthCallbackTellsTheOpener (SPEC.md §9): without returnTo, the
// callback page posts the outcome to window.opener for each allowed origin
// (never "*"), with the one script its CSP allows by hash.
func TestOAuthCallbackTellsTheOpener(t *testing.T) {
	o := startOAuth(t)
	e := newEnvWith(t, func(e *env) {
		e.allowPrivate, e.cors = true, []string{"https://app.example.com", "*", "http://localhost:5173"}
	})
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "opener")
	cred := e.createCredential(alice, ws, "oauth2", "Generic", oauthFields(o, "authorization_code")...)
	type message struct {
		Message struct{ Type, CredentialID, Result, Reason string }
		Origins []string
	}
	read := func(page response) message {
		t.Helper()
		const open = `<script type="application/json" id="credkeep-oauth">`
		i := strings.Index(page.Body, open)
		j := strings.Index(page.Body[i+len(open):], "</script>")
		if i < 0 || j < 0 {
			t.Fatalf("no message in the page: %s", page.Body)
		}
		var m message
		if err := json.Unmarshal([]byte(page.Body[i+len(open):i+len(open)+j]), &m); err != nil {
			t.Fatalf("message: %v", err)
		}
		// The page's script is exactly the one the CSP allows.
		rest := page.Body[i+len(open)+j:]
		k := strings.Index(rest, "<script>")
		l := strings.Index(rest, "</script>\n</body>")
		sum := sha256.Sum256([]byte(rest[k+len("<script>") : l]))
		csp := page.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") || !strings.HasPrefix(csp, "default-src 'none'") {
			t.Errorf("CSP %q does not allow the page's script by its hash", csp)
		}
		return m
	}
	ok := read(e.authorize(alice, cred, o, "code-1"))
	want := message{Origins: []string{"https://app.example.com", "http://localhost:5173"}}
	want.Message.Type, want.Message.CredentialID, want.Message.Result = "credkeep:oauth", cred, "connected"
	if diff := cmp.Diff(want, ok); diff != "" {
		t.Errorf("after success (-want +got):\n%s", diff)
	}
	failed := read(e.authorize(alice, cred, o, "")) // the provider sent no code
	want.Message.Result, want.Message.Reason = "failed", "no_code"
	if diff := cmp.Diff(want, failed); diff != "" {
		t.Errorf("after a failure (-want +got):\n%s", diff)
	}
	if strings.Contains(failed.Message.Reason+ok.Message.Reason, "client-secret") {
		t.Error("provider text in the message")
	}
}

// TestOAuthConnectedAccount (SPEC.md §9): the connection says which account
// was connected, from the ID token the token endpoint sent (issued to this
// client), else from the provider's userinfo endpoint when the scopes allow
// it; a value holding a secret is not shown; a new authorization that names no
// account clears the old one.
func TestOAuthConnectedAccount(t *testing.T) {
	o := startOAuth(t)
	e := newEnvWith(t, func(e *env) {
		e.allowPrivate = true
		e.outbound = connection.Config{BaseURLs: map[string]string{"google": o.URL}}
	})
	ctx := context.Background()
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "accounts")
	client := e.client(nil, alice)
	account := func(cred string) *string {
		t.Helper()
		r, err := CredentialConnection(ctx, client, cred)
		if err != nil || r.Credential.Connection == nil {
			t.Fatalf("connection: %v", err)
		}
		return r.Credential.Connection.Account
	}
	set := func(idToken jwt.MapClaims, userinfo map[string]any, scope string) {
		o.mu.Lock()
		o.idToken, o.userinfo, o.scope = idToken, userinfo, scope
		o.mu.Unlock()
	}
	authorize := func(cred, code string) {
		t.Helper()
		if page := e.authorize(alice, cred, o, code); page.Status != http.StatusOK {
			t.Fatalf("authorization: %d %s", page.Status, page.Body)
		}
	}

	generic := e.createCredential(alice, ws, "oauth2", "Generic", oauthFields(o, "authorization_code")...)
	if a := account(generic); a != nil {
		t.Errorf("never connected, account %q", *a)
	}
	cases := []struct {
		name    string
		idToken jwt.MapClaims
		want    string
	}{
		{"e-mail", jwt.MapClaims{"aud": "client-1", "email": "ada@example.com", "preferred_username": "ada"}, "ada@example.com"},
		{"login when no e-mail", jwt.MapClaims{"aud": []string{"other", "client-1"}, "preferred_username": "ada.l"}, "ada.l"},
		{"issued to another client", jwt.MapClaims{"aud": "someone-else", "email": "eve@example.com"}, ""},
		{"holding the client secret", jwt.MapClaims{"aud": "client-1", "email": "client-secret-value-xyz@example.com"}, ""},
		{"holding the access token", jwt.MapClaims{"aud": "client-1", "email": "access-9@example.com", "upn": "ada@corp.example"}, "ada@corp.example"},
		{"surrounding space", jwt.MapClaims{"aud": "client-1", "email": " ada@example.com\n"}, "ada@example.com"},
		{"a control character inside", jwt.MapClaims{"aud": "client-1", "email": "ada@\texample.com"}, ""},
		{"bidirectional override", jwt.MapClaims{"aud": "client-1", "email": "moc.elpmaxe\u202e@ada"}, ""},
		{"no ID token", nil, ""},
	}
	for i, c := range cases {
		o.mu.Lock()
		o.n = 8 // the next access token is access-9
		o.mu.Unlock()
		set(c.idToken, map[string]any{"email": "userinfo@example.com"}, "") // generic types have no userinfo endpoint
		authorize(generic, fmt.Sprintf("code-%d", i))
		got := ""
		if a := account(generic); a != nil {
			got = *a
		}
		if got != c.want {
			t.Errorf("%s: account %q, want %q", c.name, got, c.want)
		}
	}

	// Google: no ID token, so its userinfo endpoint, only with an identity scope.
	google := e.createCredential(alice, ws, "google_sheets", "Sheets", field{"key": "clientId", "value": "client-1"},
		field{"key": "clientSecret", "value": "client-secret-value-xyz"}, field{"key": "scopes", "value": "openid email https://www.googleapis.com/auth/spreadsheets"})
	set(nil, map[string]any{"email": "sheets@example.com", "sub": "1"}, "")
	authorize(google, "code-g1")
	if a := account(google); a == nil || *a != "sheets@example.com" {
		t.Errorf("google via userinfo: %v", a)
	}
	set(nil, map[string]any{"email": "sheets@example.com"}, "https://www.googleapis.com/auth/spreadsheets") // granted less than asked
	authorize(google, "code-g2")
	if a := account(google); a != nil {
		t.Errorf("without an identity scope granted, userinfo was asked: %q", *a)
	}
}
