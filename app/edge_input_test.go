package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A body that is not a GraphQL request is refused with 400 BAD_REQUEST, and
// nothing of it reaches the log: it may hold passwords and API tokens.
func TestMalformedBodiesAreRefusedAndNeverLogged(t *testing.T) {
	e := newEnv(t)
	tok := e.token("alice")
	const password = "malformed-body-password-8731"
	const apiToken = "ck_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN000000"
	vars := `{"pw":"` + password + `","tok":"` + apiToken + `"}`
	bodies := map[string]string{
		"trailing comma":  `{"query":"{ viewer { isAdmin } }","variables":` + vars + `,}`,
		"byte-order mark": "\xef\xbb\xbf" + `{"query":"{ viewer { isAdmin } }","variables":` + vars + `}`,
		"a string":        `"` + password + apiToken + `"`,
		"query a number":  `{"query":5,"variables":` + vars + `}`,
		"variables array": `{"query":"{ viewer { isAdmin } }","variables":["` + password + `"]}`,
		"null":            `null`,
		"two objects":     `{"query":"{ viewer { isAdmin } }"}{"variables":` + vars + `}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			r := e.post(e.srv.URL, tok, "application/json", []byte(body))
			if r.Status != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", r.Status)
			}
			if len(r.Errors) != 1 {
				t.Fatalf("errors = %d, want 1: %s", len(r.Errors), r.Body)
			}
			if got := r.code(); got != "BAD_REQUEST" {
				t.Errorf("code = %s, want BAD_REQUEST", got)
			}
			if strings.Contains(r.Body, password) || strings.Contains(r.Body, apiToken) {
				t.Errorf("the response repeats the body: %s", r.Body)
			}
		})
	}
	// GET with variables that are not a JSON object.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/graphql?query="+url.QueryEscape("{ viewer { isAdmin } }")+"&variables="+url.QueryEscape(`{"pw":"`+password+`",}`), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if r := do(t, req); r.Status != http.StatusBadRequest || r.code() != "BAD_REQUEST" {
		t.Errorf("GET with bad variables: HTTP %d %s", r.Status, r.Body)
	}
	logs := e.logs.String()
	if strings.Contains(logs, password) {
		t.Errorf("the log holds the password from a malformed body")
	}
	if strings.Contains(logs, apiToken) {
		t.Errorf("the log holds the API token from a malformed body")
	}
}

// Variables of the wrong enum value or an invalid Time are the caller's
// input errors, with the input field named; never INTERNAL.
func TestInvalidVariablesAreInputErrors(t *testing.T) {
	e := newEnv(t)
	tok := e.token("alice")
	ws := e.createWorkspace(tok, "Vars")
	cases := []struct {
		name, query string
		vars        map[string]any
		field       string
	}{
		{"enum variable", addMember, map[string]any{"ws": ws, "user": "bob", "role": "KING"}, "role"},
		{"enum in a list", `mutation($s: [TokenScope!]!) { createApiToken(input: {name: "t", scopes: $s}) { secret } }`,
			map[string]any{"s": []string{"CREDENTIALS_READ", "NOPE"}}, "scopes"},
		{"enum inside an input variable", `mutation($in: CreateApiTokenInput!) { createApiToken(input: $in) { secret } }`,
			map[string]any{"in": map[string]any{"name": "t", "scopes": []string{"BAD"}}}, "scopes"},
		{"time variable", `mutation($t: Time) { createCredential(input: {workspaceId: "` + ws + `", type: "custom", name: "c", fields: [], expiresAt: $t}) { id } }`,
			map[string]any{"t": "yesterday"}, "expiresAt"},
		{"time without offset", `mutation($t: Time) { createCredential(input: {workspaceId: "` + ws + `", type: "custom", name: "c", fields: [], expiresAt: $t}) { id } }`,
			map[string]any{"t": "2027-01-01T00:00:00"}, "expiresAt"},
		{"time inside an input variable", `mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"workspaceId": ws, "type": "custom", "name": "c", "fields": []any{}, "expiresAt": "2027-13-01T00:00:00Z"}}, "expiresAt"},
		{"time literal", `mutation { createCredential(input: {workspaceId: "` + ws + `", type: "custom", name: "c", fields: [], expiresAt: "soon"}) { id } }`,
			nil, "expiresAt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.gql(tok, c.query, c.vars)
			if got := r.code(); got != "BAD_USER_INPUT" {
				t.Fatalf("code = %q, want BAD_USER_INPUT: %s", got, r.Body)
			}
			if got := r.Errors[0].Extensions["field"]; got != c.field {
				t.Errorf("field = %v, want %s", got, c.field)
			}
		})
	}
	// A valid RFC 3339 time still works, and nothing was created by the refusals.
	var created struct{ ExpiresAt string }
	mustOK(t, e.gql(tok, `mutation($t: Time) { createCredential(input: {workspaceId: "`+ws+`", type: "custom", name: "c", fields: [], expiresAt: $t}) { expiresAt } }`,
		map[string]any{"t": "2027-01-31T12:00:00+01:00"})).field(t, "createCredential", &created)
	if created.ExpiresAt != "2027-01-31T11:00:00Z" {
		t.Errorf("expiresAt = %s, want 2027-01-31T11:00:00Z", created.ExpiresAt)
	}
}

// "Did you mean" of any kind only for platform admins.
func TestSuggestionsOnlyForAdmins(t *testing.T) {
	e := newEnv(t)
	member, platformAdmin := e.token("alice"), e.token("root", admin)
	queries := map[string]string{
		"field":        `{ viewr { isAdmin } }`,
		"argument":     `{ workspace(idd: "x") { id } }`,
		"enum value":   `mutation { addMember(workspaceId: "x", userId: "y", role: OWNR) { role } }`,
		"input field":  `mutation { createWorkspace(input: {nam: "x"}) { id } }`,
		"type":         `query($x: Workspac) { viewer { isAdmin } }`,
		"fragment":     `{ viewer { ... on Viewr { isAdmin } } }`,
		"subselection": `{ viewer }`,
		"directive":    `{ viewer @skip(iff: true) { isAdmin } }`,
	}
	for name, q := range queries {
		t.Run(name, func(t *testing.T) {
			r := e.gql(member, q, nil)
			if len(r.Errors) == 0 {
				t.Fatalf("no error: %s", r.Body)
			}
			if strings.Contains(r.Body, "Did you mean") {
				t.Errorf("a suggestion reached a non-admin: %s", r.Body)
			}
		})
	}
	if r := e.gql(platformAdmin, queries["argument"], nil); !strings.Contains(r.Body, "Did you mean") {
		t.Errorf("a platform admin gets no suggestion: %s", r.Body)
	}
}

// Every /graphql answer says no-store; CORS preflights allow the headers
// browser clients send (trace context, Apollo's) and those the operator adds.
func TestCacheControlAndCORSHeaders(t *testing.T) {
	e := newEnvWith(t, func(e *env) {
		e.cors = []string{"https://app.example.com"}
		e.corsHeaders = []string{"X-Tenant-Hint"}
	})
	tok := e.token("alice")
	answers := map[string]response{
		"data":             e.gql(tok, `{ viewer { isAdmin } }`, nil),
		"error":            e.gql(tok, `{ workspace(id: "nope") { id } credential(id: "x") { id } viewr }`, nil),
		"anonymous":        e.gql("", `{ viewer { isAdmin } }`, nil),
		"bad token":        e.gql("not-a-token", `{ viewer { isAdmin } }`, nil),
		"malformed body":   e.post(e.srv.URL, tok, "application/json", []byte(`{"query":`)),
		"wrong media type": e.post(e.srv.URL, tok, "text/plain", []byte(`{}`)),
	}
	for name, r := range answers {
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s (HTTP %d): Cache-Control %q, want no-store", name, r.Status, got)
		}
	}
	preflight := func(headers string) string {
		req, _ := http.NewRequest(http.MethodOptions, e.srv.URL+"/graphql", nil)
		req.Header.Set("Origin", "https://app.example.com")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", headers)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Access-Control-Allow-Origin")
	}
	for _, h := range []string{
		// as browsers send them: lower case, sorted, comma-separated
		"authorization,baggage,content-type,traceparent,tracestate",
		"apollo-require-preflight,apollographql-client-name,apollographql-client-version,x-request-id",
		"x-tenant-hint",
	} {
		if got := preflight(h); got != "https://app.example.com" {
			t.Errorf("preflight for %s refused", h)
		}
	}
	if got := preflight("x-not-configured"); got != "" {
		t.Errorf("preflight for a header nobody allowed: %q", got)
	}
}
