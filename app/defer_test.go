package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"credkeep/internal/persisted"
)

// TestDeferIsDeliveredIncrementally (SPEC.md §9): @defer is answered over
// multipart/mixed as Apollo Client reads it (the deferred fields in a later
// part, under incremental), never cached; a client that does not accept
// multipart/mixed is told so instead of losing the deferred fields.
func TestDeferIsDeliveredIncrementally(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "defer")
	id := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	e.forget(secrets[0])
	query := `query($id: ID!) { credential(id: $id) { id name ... @defer(label: "secrets") { fields { key hint } } } }`
	post := func(accept string) *http.Response {
		t.Helper()
		return postAccepting(t, e.srv.URL, alice, accept, map[string]any{"query": query, "variables": map[string]any{"id": id}})
	}

	// What Apollo Client 4 sends for an operation with @defer.
	resp := post("multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json")
	defer resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q: %v", resp.Header.Get("Content-Type"), err)
	}
	type part struct {
		Data        map[string]any `json:"data"`
		Incremental []struct {
			Data  map[string]any `json:"data"`
			Path  []any          `json:"path"`
			Label string         `json:"label"`
		} `json:"incremental"`
		HasNext bool  `json:"hasNext"`
		Errors  []any `json:"errors"`
	}
	var parts []part
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(p)
		e.mu.Lock()
		e.bodies = append(e.bodies, string(raw))
		e.mu.Unlock()
		var x part
		if err := json.Unmarshal(raw, &x); err != nil {
			t.Fatalf("part %q: %v", raw, err)
		}
		parts = append(parts, x)
	}
	if len(parts) < 2 {
		t.Fatalf("%d parts, want the initial answer and the deferred one", len(parts))
	}
	first, last := parts[0], parts[len(parts)-1]
	cred, _ := first.Data["credential"].(map[string]any)
	if cred["name"] != "Mail" || !first.HasNext {
		t.Errorf("initial part %+v: want the name and hasNext", first)
	}
	if _, early := cred["fields"]; early { // not even as a null placeholder: Apollo would keep the null
		t.Errorf("the deferred fields came in the initial part: %+v", cred)
	}
	var deferred map[string]any
	for _, p := range parts[1:] {
		for _, inc := range p.Incremental {
			if inc.Label == "secrets" {
				deferred = inc.Data
				if len(inc.Path) != 1 || inc.Path[0] != "credential" {
					t.Errorf("deferred path %v, want [credential]", inc.Path)
				}
			}
		}
	}
	if fields, _ := deferred["fields"].([]any); len(fields) != 6 {
		t.Errorf("deferred data %+v: want the 6 fields", deferred)
	}
	if last.HasNext {
		t.Error("the last part says more follows")
	}

	// A client that takes JSON only.
	plain := post("application/json")
	defer plain.Body.Close()
	var out struct {
		Data   any `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(plain.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.Errors) != 1 || out.Errors[0].Extensions["code"] != "BAD_REQUEST" || !strings.Contains(out.Errors[0].Message, "multipart/mixed") {
		t.Errorf("@defer without multipart/mixed: %+v", out)
	}
}

// TestMultipartOnlyForDefer: a client that accepts multipart/mixed on every
// request (urql does) gets JSON for an operation without @defer, and
// multipart for one with it, also when the operation comes by hash.
func TestMultipartOnlyForDefer(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	const urqlAccept = "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed"
	post := func(body map[string]any) (string, string) {
		t.Helper()
		resp := postAccepting(t, e.srv.URL, alice, urqlAccept, body)
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		return mt, string(out)
	}
	apq := func(hash string) map[string]any {
		return map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
	}
	plainQuery := `{ viewer { user { id } } }`
	if mt, body := post(map[string]any{"query": plainQuery}); mt == "multipart/mixed" || !strings.Contains(body, `"id":"alice"`) {
		t.Errorf("a query without @defer: %s %s", mt, body)
	}
	deferredQuery := `{ viewer { user { id } ... @defer { isAdmin } } }`
	for _, q := range []string{plainQuery, deferredQuery} {
		register := apq(persisted.Hash(q))
		register["query"] = q
		if _, body := post(register); strings.Contains(body, "errors") && !strings.Contains(body, "hasNext") {
			t.Fatalf("registering %s: %s", q, body)
		}
	}
	if mt, body := post(apq(persisted.Hash(plainQuery))); mt == "multipart/mixed" || !strings.Contains(body, `"id":"alice"`) {
		t.Errorf("a query without @defer by hash: %s %s", mt, body)
	}
	if mt, body := post(apq(persisted.Hash(deferredQuery))); mt != "multipart/mixed" || !strings.Contains(body, `"isAdmin":false`) {
		t.Errorf("a deferred query by hash: %s %s", mt, body)
	}
	if mt, body := post(apq(strings.Repeat("c", 64))); mt == "multipart/mixed" || !strings.Contains(body, "PERSISTED_QUERY_NOT_FOUND") {
		t.Errorf("an unknown hash: %s %s", mt, body)
	}
}

// postAccepting posts a GraphQL request body with the token and Accept header given.
func postAccepting(t *testing.T, base, token, accept string, body map[string]any) *http.Response {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
