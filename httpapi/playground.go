package httpapi

import (
	"embed"
	"net/http"
	"strings"
)

// The playground is GraphiQL built from pinned npm packages by `make playground`
// (playground/package.json and package-lock.json) and embedded here, so it works
// with no internet and `go build` needs no Node.
//
//go:embed playground/index.html playground/app.js playground/app.css
var playgroundFiles embed.FS

// playgroundCSP allows nothing but this server: scripts and styles from self,
// fetches to self, images and fonts from self or inline data (GraphiQL's icons).
// Inline style attributes are allowed because React sets them; inline scripts are not.
const playgroundCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// playgroundHandler serves GraphiQL. It needs no authentication; its GraphQL
// requests do (an admin pastes a JWT into the headers editor).
func playgroundHandler() http.Handler {
	types := map[string]string{
		"index.html": "text/html; charset=utf-8",
		"app.js":     "text/javascript; charset=utf-8",
		"app.css":    "text/css; charset=utf-8",
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/playground"), "/")
		if name == "" {
			name = "index.html"
		}
		ct, ok := types[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, err := playgroundFiles.ReadFile("playground/" + name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Set("Content-Security-Policy", playgroundCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		_, _ = w.Write(b)
	})
}
