package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"credkeep/graph"
	"credkeep/internal/persisted"
)

// The console's built-in trusted documents are what `credkeep manifest` makes
// of console/src/operations now: a changed operation or schema without
// `make console` fails here, not in a browser.
func TestConsoleManifestIsCurrent(t *testing.T) {
	want, err := persisted.BuildManifest("../console/src/operations", graph.NewExecutableSchema(graph.Config{}).Schema())
	if err != nil {
		t.Fatal(err)
	}
	var got persisted.Manifest
	if err := json.Unmarshal(ConsoleManifest(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*want, got); diff != "" {
		t.Errorf("httpapi/console/manifest.json is stale: run make console (-want +got):\n%s", diff)
	}
}

func TestConsoleServing(t *testing.T) {
	h := consoleHandler(ConsoleOptions{OIDC: &ConsoleOIDC{Issuer: "https://id.example.com", ClientID: "console",
		Scopes: []string{"openid"}, AuthorizationEndpoint: "https://id.example.com/authorize", TokenEndpoint: "https://login.example.com/token"}})
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	index, _ := os.ReadFile("console/index.html")
	for _, p := range []string{"/", "/signin", "/signin/callback?code=x", "/workspaces", "/w/abc/credentials/def", "/tokens"} {
		w := get(p)
		if w.Code != http.StatusOK || w.Body.String() != string(index) {
			t.Errorf("%s: %d, not the console's index", p, w.Code)
		}
		csp := w.Header().Get("Content-Security-Policy")
		if !strings.HasPrefix(csp, "default-src 'self'; script-src 'self';") || !strings.Contains(csp, "connect-src 'self' https://login.example.com;") {
			t.Errorf("%s: CSP %q", p, csp)
		}
	}
	for _, p := range []string{"/nothing", "/console/", "/console/secret.txt", "/console/../server.go"} {
		if w := get(p); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, w.Code)
		}
	}
	if w := get("/console/app.js"); w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("app.js: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	var cfg map[string]any
	w := get("/console/config.json")
	if err := json.Unmarshal(w.Body.Bytes(), &cfg); err != nil || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("config.json: %v %s", err, w.Body)
	}
	oidc, _ := cfg["oidc"].(map[string]any)
	if oidc["clientId"] != "console" || oidc["tokenEndpoint"] != "https://login.example.com/token" || cfg["devSignIn"] != false {
		t.Errorf("config.json: %s", w.Body)
	}
}
