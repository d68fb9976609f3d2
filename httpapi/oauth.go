package httpapi

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"

	"credkeep/credential"
)

// Authorizations completes OAuth2 authorization-code flows.
type Authorizations interface {
	CompleteAuthorization(ctx context.Context, state, code, providerError string) (credentialName string, err error)
}

var callbackPage = template.Must(template.New("callback").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>credkeep</title></head>
<body>
{{if .OK}}<h1>Connected</h1><p>{{.Name}} is authorized. You can close this window.</p>
{{else}}<h1>Not connected</h1><p>{{.Reason}}</p>{{end}}
</body></html>
`))

// oauthCallback is where providers send the person back: it exchanges the code
// and answers with a small page that says success or why not. The page allows
// nothing to run.
func oauthCallback(a Authorizations, log *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		name, err := a.CompleteAuthorization(r.Context(), q.Get("state"), q.Get("code"), q.Get("error"))
		data := struct {
			OK           bool
			Name, Reason string
		}{OK: err == nil, Name: name}
		status := http.StatusOK
		var shown *credential.AuthorizationError
		switch {
		case errors.As(err, &shown):
			log.InfoContext(r.Context(), "oauth callback refused", "reason", shown.Reason)
			data.Reason, status = shown.Reason, http.StatusBadRequest
		case err != nil:
			log.ErrorContext(r.Context(), "oauth callback failed", "error", err)
			data.Reason, status = internalMessage(r.Context()), http.StatusInternalServerError
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		w.WriteHeader(status)
		_ = callbackPage.Execute(w, data)
	}
}
