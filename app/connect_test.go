package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"credkeep/connection"
)

const testCredential = `mutation($id: ID!) { testCredential(id: $id) { ok message testedAt credential { status statusMessage lastTestedAt } } }`

type testResultJSON struct {
	OK         bool `json:"ok"`
	Message    string
	Credential struct {
		Status        string
		StatusMessage *string
		LastTestedAt  *string
	}
}

func (e *env) testCred(tok, id string) testResultJSON {
	e.t.Helper()
	var r testResultJSON
	mustOK(e.t, e.gql(tok, testCredential, map[string]any{"id": id})).field(e.t, "testCredential", &r)
	return r
}

func TestSMTPConnectionTests(t *testing.T) {
	cert, pool := testCA(t)
	starttls, implicit := startSMTP(t, cert)
	e := newEnvWith(t, func(e *env) {
		e.allowPrivate = true
		e.outbound = connection.Config{RootCAs: pool}
	})
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "mail")
	mk := func(name, port, security, password string) string {
		return e.createCredential(alice, ws, "smtp", name,
			field{"key": "host", "value": "127.0.0.1"}, field{"key": "port", "value": port},
			field{"key": "username", "value": "mailer"}, field{"key": "password", "value": password},
			field{"key": "security", "value": security})
	}
	cases := []struct {
		name, port, security, password string
		ok                             bool
		msg                            string
	}{
		{"starttls good", starttls, "starttls", "right-password-123", true, "authenticated"},
		{"starttls wrong password", starttls, "starttls", "wrong-password-456", false, "the SMTP server refused the credential (SMTP 454)"},
		{"server echoes the password", starttls, "starttls", "echo-password-789", false, "the SMTP server refused the credential (SMTP 535)"},
		{"implicit tls good", implicit, "tls", "right-password-123", true, "authenticated"},
		{"plain to a TLS-only server", starttls, "none", "right-password-123", false, "does not offer authentication"},
		{"tls to a starttls port", starttls, "tls", "right-password-123", false, "TLS with the SMTP server failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := mk(c.name, c.port, c.security, c.password)
			r := e.testCred(alice, id)
			if r.OK != c.ok || !strings.Contains(r.Message, c.msg) || r.Credential.LastTestedAt == nil {
				t.Fatalf("result %+v", r)
			}
			wantStatus := "ACTIVE"
			if !c.ok {
				wantStatus = "ERROR"
			}
			if r.Credential.Status != wantStatus {
				t.Errorf("status %s, want %s", r.Credential.Status, wantStatus)
			}
			if strings.Contains(r.Message, c.password) {
				t.Error("the message contains the password")
			}
			if m := r.Credential.StatusMessage; m != nil && strings.Contains(*m, c.password) {
				t.Error("the status message contains the password")
			}
			entries, err := e.db.Raw(e.t).AuditEntriesFor(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			last := entries[len(entries)-1]
			if last.Action != "CREDENTIAL_TESTED" || (last.Outcome == "SUCCESS") != c.ok {
				t.Errorf("audit: %+v", last)
			}
		})
	}
	// Not testable types are refused.
	custom := e.createCredential(alice, ws, "custom", "c", field{"key": "k", "value": "v"})
	wantCode(t, e.gql(alice, testCredential, map[string]any{"id": custom}), "BAD_USER_INPUT")
}

func TestAPIKeyConnectionTests(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		user, pass, basic := r.BasicAuth()
		good := r.Header.Get("Authorization") == "Bearer sk_test_goodgoodgoodgood" ||
			r.Header.Get("Authorization") == "Bearer openai-good-key-1234" ||
			(basic && user == "api" && pass == "mailgun-good-key") ||
			(basic && user == "AC123" && pass == "twilio-good-token")
		if !good {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(provider.Close)
	e := newEnvWith(t, func(e *env) {
		e.allowPrivate = true
		e.outbound = connection.Config{BaseURLs: map[string]string{"stripe": provider.URL, "mailgun": provider.URL, "twilio": provider.URL}}
	})
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "apis")
	cases := []struct {
		typ    string
		fields []field
		ok     bool
	}{
		{"stripe", []field{{"key": "secretKey", "value": "sk_test_goodgoodgoodgood"}}, true},
		{"stripe", []field{{"key": "secretKey", "value": "sk_test_badbadbadbadbad"}}, false},
		{"openai", []field{{"key": "apiKey", "value": "openai-good-key-1234"}, {"key": "baseUrl", "value": provider.URL}}, true},
		{"mailgun", []field{{"key": "domain", "value": "mg.example.com"}, {"key": "apiKey", "value": "mailgun-good-key"}}, true},
		{"twilio", []field{{"key": "accountSid", "value": "AC123"}, {"key": "authToken", "value": "twilio-good-token"}}, true},
		{"twilio", []field{{"key": "accountSid", "value": "AC123"}, {"key": "authToken", "value": "nope"}}, false},
	}
	for i, c := range cases {
		id := e.createCredential(alice, ws, c.typ, "c"+string(rune('a'+i)), c.fields...)
		if r := e.testCred(alice, id); r.OK != c.ok {
			t.Errorf("%s #%d: %+v", c.typ, i, r)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]bool{"/v1/balance": true, "/v1/models": true, "/v3/domains/mg.example.com": true, "/2010-04-01/Accounts/AC123.json": true}
	for _, p := range seen {
		delete(want, p)
	}
	if len(want) != 0 {
		t.Errorf("endpoints not called: %v (seen %v)", want, seen)
	}
}

func TestSSRFGuard(t *testing.T) {
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	t.Cleanup(provider.Close)
	e := newEnvWith(t, func(e *env) {
		e.outbound = connection.Config{BaseURLs: map[string]string{"stripe": provider.URL}} // loopback, not allowed
	})
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "ssrf")
	for name, fields := range map[string][]field{
		"loopback": nil,
		"metadata": {{"key": "baseUrl", "value": "http://169.254.169.254/latest"}},
	} {
		typ := "stripe"
		fs := []field{{"key": "secretKey", "value": "sk_test_goodgoodgoodgood"}}
		if fields != nil {
			typ, fs = "openai", append([]field{{"key": "apiKey", "value": "k"}}, fields...)
		}
		id := e.createCredential(alice, ws, typ, name, fs...)
		r := e.testCred(alice, id)
		if r.OK || !strings.Contains(r.Message, "not allowed") {
			t.Errorf("%s: %+v", name, r)
		}
	}
	// Token endpoints too.
	id := e.createCredential(alice, ws, "oauth2", "cc", field{"key": "tokenUrl", "value": "http://127.0.0.1:9/token"},
		field{"key": "clientId", "value": "client-1"}, field{"key": "clientSecret", "value": "client-secret-value-xyz"},
		field{"key": "grantType", "value": "client_credentials"})
	if r := e.testCred(alice, id); r.OK || !strings.Contains(r.Message, "not allowed") {
		t.Errorf("token endpoint: %+v", r)
	}
}

// authorize runs the authorization-code flow the way a browser would.
func (e *env) authorize(tok, cred string, o *oauthServer, code string) response {
	e.t.Helper()
	var a struct {
		AuthorizationURL string `json:"authorizationUrl"`
		State            string
		ExpiresAt        string
	}
	mustOK(e.t, e.gql(tok, `mutation($id: ID!) { startOAuthAuthorization(credentialId: $id) { authorizationUrl state expiresAt } }`, map[string]any{"id": cred})).field(e.t, "startOAuthAuthorization", &a)
	u, err := url.Parse(a.AuthorizationURL)
	if err != nil {
		e.t.Fatal(err)
	}
	q := u.Query()
	if q.Get("state") != a.State || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("client_id") != "client-1" {
		e.t.Fatalf("authorization URL: %s", a.AuthorizationURL)
	}
	o.addCode(code, q.Get("code_challenge"))
	return get(e.t, e.srv.URL+"/oauth/callback?state="+url.QueryEscape(a.State)+"&code="+url.QueryEscape(code))
}

func oauthFields(o *oauthServer, grant string) []field {
	return []field{{"key": "authorizationUrl", "value": o.URL + "/authorize"}, {"key": "tokenUrl", "value": o.URL + "/token"},
		{"key": "clientId", "value": "client-1"}, {"key": "clientSecret", "value": "client-secret-value-xyz"}, {"key": "grantType", "value": grant}}
}

func TestOAuthAuthorizationCodeAndRefresh(t *testing.T) {
	o := startOAuth(t)
	e := newEnvWith(t, func(e *env) { e.allowPrivate = true })
	second := e.instance().srv
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "oauth")
	cred := e.createCredential(alice, ws, "oauth2", "Generic", oauthFields(o, "authorization_code")...)
	bot, _ := e.apiToken(alice, map[string]any{"name": "bot", "scopes": allScopes()})

	// Not authorized yet: no token to give.
	wantCode(t, e.gql(bot, useCredential, map[string]any{"id": cred}), "CONFLICT")

	page := e.authorize(alice, cred, o, "code-1")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Connected") || page.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("callback: %d %s", page.Status, page.Body)
	}
	var used struct {
		AccessToken *string `json:"accessToken"`
	}
	mustOK(t, e.gql(bot, useCredential, map[string]any{"id": cred})).field(t, "useCredential", &used)
	if used.AccessToken == nil || *used.AccessToken != "access-1" {
		t.Fatalf("access token: %+v", used)
	}

	// A state is single use, and a wrong code is refused with a page that says why.
	var a struct{ State string }
	mustOK(t, e.gql(alice, `mutation($id: ID!) { startOAuthAuthorization(credentialId: $id) { state } }`, map[string]any{"id": cred})).field(t, "startOAuthAuthorization", &a)
	if p := get(t, e.srv.URL+"/oauth/callback?state="+a.State+"&code=unknown"); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Not connected") {
		t.Fatalf("bad code: %d %s", p.Status, p.Body)
	}
	if p := get(t, e.srv.URL+"/oauth/callback?state="+a.State+"&code=unknown"); !strings.Contains(p.Body, "already used") {
		t.Fatalf("state reuse: %s", p.Body)
	}
	// An expired state.
	mustOK(t, e.gql(alice, `mutation($id: ID!) { startOAuthAuthorization(credentialId: $id) { state } }`, map[string]any{"id": cred})).field(t, "startOAuthAuthorization", &a)
	e.clock.Advance(11 * time.Minute)
	if p := get(t, e.srv.URL+"/oauth/callback?state="+a.State+"&code=x"); !strings.Contains(p.Body, "expired") {
		t.Fatalf("expired state: %s", p.Body)
	}
	alice = e.token("alice") // a JWT valid at the moved clock

	// Near expiry: concurrent uses on two instances cause exactly one refresh.
	o.mu.Lock()
	o.expiresIn = 30 // the next tokens expire within the refresh window at once...
	o.mu.Unlock()
	page = e.authorize(alice, cred, o, "code-2")
	if page.Status != http.StatusOK {
		t.Fatalf("second authorization: %s", page.Body)
	}
	o.mu.Lock()
	o.expiresIn, o.refreshes = 3600, 0 // ...and the refreshed one lasts
	o.mu.Unlock()
	var wg sync.WaitGroup
	tokens := make([]string, 8)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srv := e.srv
			if i%2 == 1 {
				srv = second
			}
			var u struct {
				AccessToken *string `json:"accessToken"`
			}
			r := e.gqlOn(srv, bot, useCredential, map[string]any{"id": cred})
			if len(r.Errors) > 0 {
				t.Errorf("use %d: %s", i, r.Body)
				return
			}
			r.field(t, "useCredential", &u)
			tokens[i] = *u.AccessToken
		}()
	}
	wg.Wait()
	o.mu.Lock()
	refreshes := o.refreshes
	o.mu.Unlock()
	if refreshes != 1 {
		t.Fatalf("%d refreshes for 8 concurrent uses near expiry, want 1", refreshes)
	}
	for _, tk := range tokens {
		if tk != tokens[0] {
			t.Fatalf("uses got different tokens: %v", tokens)
		}
	}

	// refreshCredential always refreshes; the rotated refresh token works next time.
	const refresh = `mutation($id: ID!) { refreshCredential(id: $id) { status statusMessage } }`
	for i := 0; i < 2; i++ {
		var c struct {
			Status        string
			StatusMessage *string
		}
		mustOK(t, e.gql(alice, refresh, map[string]any{"id": cred})).field(t, "refreshCredential", &c)
		if c.Status != "ACTIVE" {
			t.Fatalf("refresh %d: %+v", i, c)
		}
	}
	// invalid_grant: status ERROR, telling the user to re-authorize; audited as a FAILURE.
	o.mu.Lock()
	o.invalidGrant = true
	o.mu.Unlock()
	var c struct {
		Status        string
		StatusMessage *string
	}
	mustOK(t, e.gql(alice, refresh, map[string]any{"id": cred})).field(t, "refreshCredential", &c)
	if c.Status != "ERROR" || c.StatusMessage == nil || !strings.Contains(*c.StatusMessage, "re-authorize") {
		t.Fatalf("after invalid_grant: %+v", c)
	}
	entries, _ := e.db.Raw(e.t).AuditEntriesFor(context.Background(), cred)
	var outcomes []string
	for _, en := range entries {
		if en.Action == "CREDENTIAL_REFRESHED" || en.Action == "CREDENTIAL_AUTHORIZED" {
			outcomes = append(outcomes, en.Action+"/"+en.Outcome)
		}
	}
	got := strings.Join(outcomes, ",")
	if !strings.Contains(got, "CREDENTIAL_AUTHORIZED/SUCCESS") || !strings.Contains(got, "CREDENTIAL_AUTHORIZED/FAILURE") ||
		!strings.HasSuffix(got, "CREDENTIAL_REFRESHED/FAILURE") {
		t.Errorf("audit outcomes: %s", got)
	}
	e.scanAuditForSecrets()
	// The access and refresh tokens never show in fields.
	r := mustOK(t, e.gql(alice, `query($id: ID!) { credential(id: $id) { fields { key value hint } } }`, map[string]any{"id": cred}))
	if strings.Contains(r.Body, "access-") || strings.Contains(r.Body, "refresh-") {
		t.Errorf("tokens in fields: %s", r.Body)
	}
}

func TestOAuthClientCredentials(t *testing.T) {
	o := startOAuth(t)
	e := newEnvWith(t, func(e *env) { e.allowPrivate = true })
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "cc")
	cred := e.createCredential(alice, ws, "oauth2", "Machine", oauthFields(o, "client_credentials")...)
	bot, _ := e.apiToken(alice, map[string]any{"name": "bot", "scopes": allScopes()})
	var u struct {
		AccessToken *string `json:"accessToken"`
		ExpiresAt   *string `json:"expiresAt"`
	}
	mustOK(t, e.gql(bot, `mutation($id: ID!) { useCredential(id: $id) { accessToken expiresAt } }`, map[string]any{"id": cred})).field(t, "useCredential", &u)
	if u.AccessToken == nil || !strings.HasPrefix(*u.AccessToken, "access-") || u.ExpiresAt == nil {
		t.Fatalf("client credentials: %+v", u)
	}
	first := *u.AccessToken
	// Still fresh: the same token, no new request.
	mustOK(t, e.gql(bot, `mutation($id: ID!) { useCredential(id: $id) { accessToken } }`, map[string]any{"id": cred})).field(t, "useCredential", &u)
	if *u.AccessToken != first {
		t.Errorf("fresh token was replaced")
	}
	if r := e.testCred(alice, cred); !r.OK {
		t.Errorf("test: %+v", r)
	}
	wantCode(t, e.gql(alice, `mutation($id: ID!) { startOAuthAuthorization(credentialId: $id) { state } }`, map[string]any{"id": cred}), "BAD_USER_INPUT")
}
