package httpapi

import (
	"embed"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// The console is credkeep's web app (console/, TypeScript and Preact), built
// by `make console` into httpapi/console/ and embedded here, so `go build`
// needs no Node. Its GraphQL operations are trusted documents built into the
// server (ConsoleManifest): the console sends document ids only.
//
//go:embed console/index.html console/app.js console/app.css console/icon.svg console/manifest.json
var consoleFiles embed.FS

// ConsoleManifest is the console's operations as an Apollo persisted-query
// manifest, trusted by every server that serves the console.
func ConsoleManifest() []byte {
	b, err := consoleFiles.ReadFile("console/manifest.json")
	if err != nil {
		panic("httpapi: the console's manifest is not embedded: " + err.Error())
	}
	return b
}

// ConsoleOptions configure the console.
type ConsoleOptions struct {
	// OIDC, when set, is the provider people sign in with.
	OIDC *ConsoleOIDC
	// DevSignIn says the server signs its own development tokens, so the
	// console explains the sign-in link `make run` prints.
	DevSignIn bool
}

// ConsoleOIDC is what the console needs to sign people in: public values only.
type ConsoleOIDC struct {
	Issuer                string   `json:"issuer"`
	ClientID              string   `json:"clientId"`
	Scopes                []string `json:"scopes"`
	Audience              string   `json:"audience,omitempty"`
	AuthorizationEndpoint string   `json:"authorizationEndpoint"`
	TokenEndpoint         string   `json:"tokenEndpoint"`
	EndSessionEndpoint    string   `json:"endSessionEndpoint,omitempty"`
}

// consoleRoutes are the first path segments of the console's own pages, which
// all answer its index.html (a deep link reloads into the same screen).
var consoleRoutes = map[string]bool{"": true, "signin": true, "workspaces": true, "w": true, "tokens": true}

// consoleHandler serves the console: its index for every page of the app, its
// assets, and /console/config.json.
func consoleHandler(o ConsoleOptions) http.Handler {
	config, _ := json.Marshal(struct {
		OIDC      *ConsoleOIDC `json:"oidc"`
		DevSignIn bool         `json:"devSignIn"`
	}{o.OIDC, o.DevSignIn})
	// The token endpoint is the one other origin the console talks to (the
	// code exchange); the provider's sign-in page is a navigation, not a fetch.
	connect := "'self'"
	if o.OIDC != nil {
		if u, err := url.Parse(o.OIDC.TokenEndpoint); err == nil && u.Host != "" {
			connect += " " + u.Scheme + "://" + u.Host
		}
	}
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " + connect +
		"; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	assets := map[string]string{
		"app.js":   "text/javascript; charset=utf-8",
		"app.css":  "text/css; charset=utf-8",
		"icon.svg": "image/svg+xml",
	}
	serve := func(w http.ResponseWriter, contentType string, body []byte, cache string) {
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", cache)
		_, _ = w.Write(body)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, "/")
		if name, ok := strings.CutPrefix(path, "console/"); ok {
			if name == "config.json" {
				serve(w, "application/json", config, "no-store")
				return
			}
			ct, ok := assets[name]
			if !ok {
				http.NotFound(w, r)
				return
			}
			b, _ := consoleFiles.ReadFile("console/" + name)
			serve(w, ct, b, "no-cache")
			return
		}
		first, _, _ := strings.Cut(path, "/")
		if !consoleRoutes[first] {
			http.NotFound(w, r)
			return
		}
		b, _ := consoleFiles.ReadFile("console/index.html")
		serve(w, "text/html; charset=utf-8", b, "no-cache")
	})
}
