package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// echoingTokenEndpoint answers every request with an OAuth error whose code
// and description repeat the whole request, client secret included.
func echoingTokenEndpoint(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		echo := r.Header.Get("Authorization") + " " + string(body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": echo, "error_description": echo, "error_uri": "http://x/" + echo})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A provider's own text goes nowhere: not into messages, statusMessage, audit
// details, the callback page, the log or the database.
func TestProviderTextIsNotEchoed(t *testing.T) {
	echo := echoingTokenEndpoint(t)
	e := newEnvWith(t, func(e *env) { e.allowPrivate = true })
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "echo")
	const clientSecret = "echoed-client-secret-31337"
	fields := func(grant string) []field {
		return []field{{"key": "authorizationUrl", "value": echo.URL + "/authorize"}, {"key": "tokenUrl", "value": echo.URL + "/token"},
			{"key": "clientId", "value": "client-1"}, {"key": "clientSecret", "value": clientSecret}, {"key": "grantType", "value": grant}}
	}
	cc := e.createCredential(alice, ws, "oauth2", "Client credentials", fields("client_credentials")...)
	code := e.createCredential(alice, ws, "oauth2", "Code flow", fields("authorization_code")...)

	var seen []string
	r := e.testCred(alice, cc)
	if r.OK {
		t.Fatalf("test against an error endpoint succeeded: %+v", r)
	}
	if r.Message != "the token endpoint answered with an error (HTTP 400)" {
		t.Errorf("message = %q", r.Message)
	}
	seen = append(seen, r.Message)
	if r.Credential.StatusMessage != nil {
		seen = append(seen, *r.Credential.StatusMessage)
	}
	refresh := e.gql(alice, `mutation($id: ID!) { refreshCredential(id: $id) { status statusMessage } }`, map[string]any{"id": cc})
	seen = append(seen, refresh.Body)
	bot, _ := e.apiToken(alice, map[string]any{"name": "bot", "scopes": allScopes()})
	use := e.gql(bot, `mutation($id: ID!) { useCredential(id: $id) { accessToken } }`, map[string]any{"id": cc})
	wantCode(t, use, "CONFLICT")
	seen = append(seen, use.Body)

	// The authorization-code exchange, and a provider's error parameter on the callback.
	var a struct{ State string }
	mustOK(t, e.gql(alice, `mutation($id: ID!) { startOAuthAuthorization(credentialId: $id) { state } }`, map[string]any{"id": code})).field(t, "startOAuthAuthorization", &a)
	page := get(t, e.srv.URL+"/oauth/callback?state="+url.QueryEscape(a.State)+"&code=abc")
	if !strings.Contains(page.Body, "the token endpoint answered with an error (HTTP 400)") {
		t.Errorf("callback page: %s", page.Body)
	}
	seen = append(seen, page.Body)
	mustOK(t, e.gql(alice, `mutation($id: ID!) { startOAuthAuthorization(credentialId: $id) { state } }`, map[string]any{"id": code})).field(t, "startOAuthAuthorization", &a)
	page = get(t, e.srv.URL+"/oauth/callback?state="+url.QueryEscape(a.State)+"&error="+url.QueryEscape("access_denied "+clientSecret)+"&error_description="+clientSecret)
	if !strings.Contains(page.Body, "the provider did not authorize") || strings.Contains(page.Body, "access_denied "+clientSecret[:5]) {
		t.Errorf("callback page with a provider error: %s", page.Body)
	}
	seen = append(seen, page.Body)
	mustOK(t, e.gql(alice, `mutation($id: ID!) { startOAuthAuthorization(credentialId: $id) { state } }`, map[string]any{"id": code})).field(t, "startOAuthAuthorization", &a)
	page = get(t, e.srv.URL+"/oauth/callback?state="+url.QueryEscape(a.State)+"&error=access_denied")
	if !strings.Contains(page.Body, "the provider did not authorize (access_denied)") {
		t.Errorf("callback page with an RFC 6749 code: %s", page.Body)
	}

	for _, entry := range e.auditLog(alice, ws, nil) {
		b, _ := json.Marshal(entry)
		seen = append(seen, string(b))
	}
	raw, err := e.db.Raw(e.t).DumpAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen = append(seen, raw...)
	seen = append(seen, e.logs.String())
	for _, s := range seen {
		for _, leak := range []string{clientSecret, "client_secret", "grant_type"} {
			if strings.Contains(s, leak) {
				t.Errorf("provider text (%s) reached the client, audit or log: %.300s", leak, s)
			}
		}
	}
}

// The callback completes only while the person who started the flow still
// manages the credential; the start itself is recorded.
func TestOAuthCallbackRechecksAccess(t *testing.T) {
	o := startOAuth(t)
	e := newEnvWith(t, func(e *env) { e.allowPrivate = true })
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "recheck")
	e.addMember(alice, ws, "bob", "ADMIN")
	cred := e.createCredential(alice, ws, "oauth2", "Generic", oauthFields(o, "authorization_code")...)
	var a struct{ AuthorizationURL, State string }
	mustOK(t, e.gql(e.token("bob"), `mutation($id: ID!) { startOAuthAuthorization(credentialId: $id) { authorizationUrl state } }`, map[string]any{"id": cred})).field(t, "startOAuthAuthorization", &a)
	started := e.auditLog(alice, ws, map[string]any{"action": "CREDENTIAL_AUTHORIZATION_STARTED"})
	if len(started) != 1 || started[0].Actor.User == nil || started[0].Actor.User.ID != "bob" || *started[0].TargetID != cred {
		t.Fatalf("CREDENTIAL_AUTHORIZATION_STARTED entries: %+v", started)
	}
	mustOK(t, e.gql(alice, `mutation($ws: ID!, $u: ID!) { removeMember(workspaceId: $ws, userId: $u) { deleted } }`, map[string]any{"ws": ws, "u": "bob"}))
	u, _ := url.Parse(a.AuthorizationURL)
	o.addCode("code-after-removal", u.Query().Get("code_challenge"))
	page := get(t, e.srv.URL+"/oauth/callback?state="+url.QueryEscape(a.State)+"&code=code-after-removal")
	if page.Status != http.StatusBadRequest || !strings.Contains(page.Body, "no longer have MANAGE access") {
		t.Fatalf("callback after removal: %d %s", page.Status, page.Body)
	}
	o.mu.Lock()
	exchanged := o.n
	o.mu.Unlock()
	if exchanged != 0 {
		t.Errorf("the code was exchanged %d times", exchanged)
	}
	denied := e.auditLog(alice, ws, map[string]any{"action": "CREDENTIAL_AUTHORIZED"})
	if len(denied) != 1 || denied[0].Outcome != "DENIED" {
		t.Fatalf("CREDENTIAL_AUTHORIZED entries: %+v", denied)
	}
	bot, _ := e.apiToken(alice, map[string]any{"name": "bot", "scopes": allScopes()})
	wantCode(t, e.gql(bot, useCredential, map[string]any{"id": cred}), "CONFLICT") // nothing stored
}
