package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credkeep/graph"
	"credkeep/internal/persisted"
	"credkeep/internal/timing"
)

// post sends a raw body to /graphql of srv.
func (e *env) post(srv string, token, contentType string, body []byte) response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(e.t, req)
}

func apq(query, hash string) []byte {
	m := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
	if query != "" {
		m["query"] = query
	}
	b, _ := json.Marshal(m)
	return b
}

func TestAutomaticPersistedQueries(t *testing.T) {
	e := newEnv(t)
	second := e.instance().srv
	tok := e.token("alice")
	q := `query Me { viewer { user { id } } }`
	h := persisted.Hash(q)

	wantCode(t, e.post(e.srv.URL, tok, "application/json", apq("", h)), "PERSISTED_QUERY_NOT_FOUND")
	mustOK(t, e.post(e.srv.URL, tok, "application/json", apq(q, h)))
	// Registered on one instance, known on the other (shared through the database).
	r := mustOK(t, e.post(second.URL, tok, "application/json", apq("", h)))
	if !strings.Contains(r.Body, `"alice"`) {
		t.Fatalf("hash-only request: %s", r.Body)
	}
	// GET with the hash only.
	ext, _ := json.Marshal(map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": h}})
	req, _ := http.NewRequest(http.MethodGet, second.URL+"/graphql?extensions="+url.QueryEscape(string(ext)), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if r := do(t, req); r.Status != http.StatusOK || !strings.Contains(r.Body, `"alice"`) {
		t.Fatalf("GET with hash: %d %s", r.Status, r.Body)
	}
	// A hash that does not match its query is refused, and not stored.
	wantCode(t, e.post(e.srv.URL, tok, "application/json", apq(`{ viewer { isAdmin } }`, h[:63]+"0")), "BAD_USER_INPUT")
	wantCode(t, e.post(e.srv.URL, tok, "application/json", apq("", h[:63]+"0")), "PERSISTED_QUERY_NOT_FOUND")
}

func TestTrustedDocuments(t *testing.T) {
	dir := t.TempDir()
	ops := map[string]string{
		"viewer.graphql":    "query Viewer { viewer { user { id } } }",
		"workspace.graphql": "query Workspace($id: ID!) { workspace(id: $id) { ...W } }\nfragment W on Workspace { id name }",
	}
	for f, body := range ops {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	m, err := persisted.BuildManifest(dir, schema)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(m)
	trusted, err := persisted.ParseManifest(raw, schema)
	if err != nil || trusted.Len() != 2 {
		t.Fatalf("manifest: %v (%d ops)", err, trusted.Len())
	}
	e := newEnvWith(t, func(e *env) { e.trusted = trusted })
	alice := e.token("alice")
	restricted, _ := e.apiToken(alice, map[string]any{"name": "partner", "scopes": allScopes(), "persistedQueriesOnly": true})
	free, _ := e.apiToken(alice, map[string]any{"name": "free", "scopes": allScopes()})
	viewerBody := m.Operations[0].Body
	if m.Operations[0].Name != "Viewer" {
		viewerBody = m.Operations[1].Body
	}

	// The restricted token: trusted operations by hash, by id, or by exact text; nothing else.
	mustOK(t, e.post(e.srv.URL, restricted, "application/json", apq("", persisted.Hash(viewerBody))))
	mustOK(t, e.gql(restricted, viewerBody, nil))
	for _, q := range []string{`{ viewer { user { id } } }`, `query Viewer { viewer { isAdmin } }`} {
		wantCode(t, e.gql(restricted, q, nil), "PERSISTED_QUERY_REQUIRED")
	}
	wantCode(t, e.post(e.srv.URL, restricted, "application/json", apq("", strings.Repeat("a", 64))), "PERSISTED_QUERY_REQUIRED")
	// Other callers run anything, and may also use the trusted documents by hash.
	mustOK(t, e.gql(free, `{ viewer { isAdmin } }`, nil))
	mustOK(t, e.post(e.srv.URL, alice, "application/json", apq("", persisted.Hash(viewerBody))))

	// Manifests that must not load.
	bad := []string{
		`not json`,
		`{"format":"something-else","version":1,"operations":[]}`,
		`{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"x","name":"X","type":"query","body":"{ nope }"}]}`,
		`{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"x","name":"X","type":"mutation","body":"{ viewer { isAdmin } }"}]}`,
		`{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"x","body":"{ viewer { isAdmin } }"},{"id":"x","body":"{ viewer { isAdmin } }"}]}`,
	}
	for _, b := range bad {
		if _, err := persisted.ParseManifest([]byte(b), schema); err == nil {
			t.Errorf("manifest accepted: %s", b)
		}
	}
}

func TestQueryLimits(t *testing.T) {
	e := newEnv(t)
	tok := e.token("alice")
	ws := e.createWorkspace(tok, "limits")
	e.createCredential(tok, ws, "smtp", "Mail", smtpFields(secrets[0])...)

	// The frontend's heaviest page fits.
	heavy := `query($ws: ID!) { workspace(id: $ws) { credentials(first: 200) { totalCount edges { node {
	  id name status statusMessage viewerAccess sharing useCount lastUsedAt expiresAt version createdAt updatedAt
	  type { key name authKind editable testable fields { key label kind required secret } }
	  owner { id email name } workspace { id name viewerRole }
	  fields { key label secret value isSet hint }
	  grants { id granteeKind level user { id email } grantedBy { id } grantedAt }
	  usages { consumerKind consumerId consumerName useCount lastUsedAt }
	} } } } }`
	mustOK(t, e.gql(tok, heavy, map[string]any{"ws": ws}))

	deep := `{ workspaces { credentials { edges { node { workspace { credentials { edges { node { workspace { credentials { edges { node { id } } } } } } } } } } } } }`
	aliases := "{ " + strings.Repeat("a%d: viewer { isAdmin } ", 16) + "}"
	var args []any
	for i := 0; i < 16; i++ {
		args = append(args, i)
	}
	aliases = fmt.Sprintf(aliases, args...)
	costly := `{ workspaces { credentials(first: 200) { edges { node { auditTrail(first: 200) { edges { node { id } } } } } } } }`
	tokens := "{ viewer { " + strings.Repeat("isAdmin ", 4000) + "} }"
	for name, q := range map[string]string{"depth": deep, "aliases": aliases, "complexity": costly, "tokens": tokens} {
		var r response
		if d := fastest(3, func() { r = e.gql(tok, q, nil) }); d > time.Second {
			t.Errorf("%s: refused after %v", name, d)
		}
		wantCode(t, r, "QUERY_TOO_COMPLEX")
		if strings.ContainsAny(r.Errors[0].Message, "0123456789") {
			t.Errorf("%s: the message teaches the limit: %s", name, r.Errors[0].Message)
		}
	}
	mustOK(t, e.gql(tok, "{ "+fmt.Sprintf(strings.Repeat("a%d: viewer { isAdmin } ", 15), args[:15]...)+"}", nil))
}

func TestHTTPRules(t *testing.T) {
	e := newEnvWith(t, func(e *env) { e.cors = []string{"https://app.example.com"} })
	tok := e.token("alice")

	// Content types.
	if r := e.post(e.srv.URL, tok, "text/plain", []byte(`{"query":"{ viewer { isAdmin } }"}`)); r.Status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", r.Status)
	}
	mustOK(t, e.post(e.srv.URL, tok, "application/json; charset=utf-8", []byte(`{"query":"{ viewer { isAdmin } }"}`)))

	// A 3 MB body: 413, with or without a Content-Length.
	big := []byte(`{"query":"{ viewer { isAdmin } }","variables":{"x":"` + strings.Repeat("x", 3<<20) + `"}}`)
	var r response
	if d := fastest(3, func() { r = e.post(e.srv.URL, tok, "application/json", big) }); d > time.Second {
		t.Errorf("3 MB body refused after %v", d)
	}
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("3 MB body: %d", r.Status)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/graphql", io.MultiReader(bytes.NewReader(big)))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1 // chunked
	if r := do(t, req); r.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("3 MB chunked body: %d", r.Status)
	}

	// Batches are refused without echoing them.
	r = e.post(e.srv.URL, tok, "application/json", []byte(`[{"query":"{ viewer { isAdmin } } # SECRET-MARKER"}]`))
	if r.Status != http.StatusBadRequest || strings.Contains(r.Body, "SECRET-MARKER") {
		t.Errorf("batch: %d %s", r.Status, r.Body)
	}
	wantCode(t, r, "BAD_USER_INPUT")

	// GET: queries yes, mutations no.
	get := func(q string) response {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/graphql?query="+url.QueryEscape(q), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return do(t, req)
	}
	mustOK(t, get(`{ viewer { isAdmin } }`))
	wantCode(t, get(`mutation { createWorkspace(input: {name: "via GET"}) { id } }`), "BAD_USER_INPUT")
	var list []workspaceJSON
	mustOK(t, e.gql(tok, workspacesQuery, nil)).field(t, "workspaces", &list)
	if len(list) != 0 {
		t.Fatal("a mutation ran over GET")
	}

	// GraphQL over HTTP: a validation failure is 200 for application/json clients,
	// 4xx without "data" for application/graphql-response+json ones.
	bad := []byte(`{"query":"{ nope }"}`)
	if r := e.post(e.srv.URL, tok, "application/json", bad); r.Status != http.StatusOK || r.code() != "GRAPHQL_VALIDATION_FAILED" {
		t.Errorf("validation failure for application/json: %d %s", r.Status, r.Body)
	}
	req, _ = http.NewRequest(http.MethodPost, e.srv.URL+"/graphql", bytes.NewReader(bad))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 4 || strings.Contains(string(body), `"data"`) || resp.Header.Get("Content-Type") != "application/graphql-response+json" {
		t.Errorf("validation failure for graphql-response+json: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	// Suggestions only for platform admins.
	typo := `{ viewer { isAdmn } }`
	if r := e.gql(tok, typo, nil); strings.Contains(r.Body, "Did you mean") || r.code() != "GRAPHQL_VALIDATION_FAILED" {
		t.Errorf("non-admin got: %s", r.Body)
	}
	if r := e.gql(e.token("root", admin), typo, nil); !strings.Contains(r.Body, "Did you mean") {
		t.Errorf("admin got no suggestion: %s", r.Body)
	}

	// CORS: the configured origin only; preflight cached.
	cors := func(method, origin string) *http.Response {
		req, _ := http.NewRequest(method, e.srv.URL+"/graphql", strings.NewReader(`{"query":"{ viewer { isAdmin } }"}`))
		req.Header.Set("Origin", origin)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		if method == http.MethodOptions {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if h := cors(http.MethodPost, "https://app.example.com").Header.Get("Access-Control-Allow-Origin"); h != "https://app.example.com" {
		t.Errorf("allowed origin: %q", h)
	}
	if h := cors(http.MethodPost, "https://evil.example.com").Header.Get("Access-Control-Allow-Origin"); h != "" {
		t.Errorf("other origin got %q", h)
	}
	pre := cors(http.MethodOptions, "https://app.example.com")
	if pre.StatusCode/100 != 2 || pre.Header.Get("Access-Control-Max-Age") != "600" || pre.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	if h := cors(http.MethodOptions, "https://evil.example.com").Header.Get("Access-Control-Allow-Origin"); h != "" {
		t.Errorf("preflight from another origin got %q", h)
	}
}

func fastest(n int, fn func()) time.Duration { return timing.Fastest(n, 100*time.Millisecond, fn) }

// TestDocumentIDsAndCodegenMaps (SPEC.md §9): trusted documents from GraphQL
// Codegen's persisted-documents.json map, named by documentId ("sha256:<hex>"
// or the map's key) in a POST body or a GET query.
func TestDocumentIDsAndCodegenMaps(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	viewer := "query Viewer { viewer { user { id } } }"
	// Codegen writes "sha256:<hex>" keys; a bare hex key loads too.
	var trusted *persisted.Trusted
	for _, key := range []string{persisted.Hash(viewer), "sha256:" + persisted.Hash(viewer)} {
		raw, _ := json.Marshal(map[string]string{key: viewer})
		var err error
		trusted, err = persisted.ParseManifest(raw, schema)
		if err != nil || trusted.Len() != 1 {
			t.Fatalf("codegen map keyed %s: %v (%d documents)", key, err, trusted.Len())
		}
	}
	e := newEnvWith(t, func(e *env) { e.trusted = trusted })
	alice := e.token("alice")
	restricted, _ := e.apiToken(alice, map[string]any{"name": "partner", "scopes": allScopes(), "persistedQueriesOnly": true})
	body := func(id string) []byte { b, _ := json.Marshal(map[string]any{"documentId": id}); return b }

	for _, id := range []string{"sha256:" + persisted.Hash(viewer), persisted.Hash(viewer)} {
		var v struct{ User struct{ ID string } }
		mustOK(t, e.post(e.srv.URL, restricted, "application/json", body(id))).field(t, "viewer", &v)
		if v.User.ID != "alice" {
			t.Errorf("documentId %s: viewer %+v", id, v)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/graphql?documentId="+url.QueryEscape("sha256:"+persisted.Hash(viewer)), nil)
	req.Header.Set("Authorization", "Bearer "+restricted)
	r := do(t, req)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `"id":"alice"`) {
		t.Errorf("GET with documentId: %d %s", r.Status, r.Body)
	}
	wantCode(t, e.post(e.srv.URL, restricted, "application/json", body("sha256:"+strings.Repeat("b", 64))), "PERSISTED_QUERY_REQUIRED")
	wantCode(t, e.post(e.srv.URL, alice, "application/json", body("sha256:"+strings.Repeat("b", 64))), "PERSISTED_QUERY_NOT_FOUND")

	// A map whose key is not its document's hash does not load.
	for _, key := range []string{strings.Repeat("a", 64), "sha256:" + strings.Repeat("a", 64), "sha1:" + persisted.Hash(viewer)} {
		if _, err := persisted.ParseManifest([]byte(`{"`+key+`": "`+viewer+`"}`), schema); err == nil {
			t.Errorf("a map keyed %s loaded", key)
		}
	}
	two, _ := json.Marshal(map[string]string{persisted.Hash(viewer): viewer, "sha256:" + persisted.Hash(viewer): viewer})
	if _, err := persisted.ParseManifest(two, schema); err == nil {
		t.Error("a map naming one document twice loaded")
	}
}
