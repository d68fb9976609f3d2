package httpapi

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"

	"credkeep/credential"
)

// Authorizations completes OAuth2 authorization-code flows.
type Authorizations interface {
	CompleteAuthorization(ctx context.Context, state, code, providerError string) (credential.Completion, error)
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
		done, err := a.CompleteAuthorization(r.Context(), q.Get("state"), q.Get("code"), q.Get("error"))
		data := struct {
			OK           bool
			Name, Reason string
		}{OK: err == nil, Name: done.CredentialName}
		status := http.StatusOK
		var shown *credential.AuthorizationError
		if done.ReturnTo != "" {
			// Back to the app that started it (an allowed origin, checked then):
			// the outcome as a code, never the provider's text.
			back := url.Values{"credkeep_oauth": {"connected"}, "credentialId": {done.CredentialID}}
			if err != nil {
				back.Set("credkeep_oauth", "failed")
				back.Set("reason", "internal")
				if errors.As(err, &shown) {
					back.Set("reason", shown.Code)
				} else {
					log.ErrorContext(r.Context(), "oauth callback failed", "error", err)
				}
			}
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Referrer-Policy", "no-referrer")
			http.Redirect(w, r, withQuery(done.ReturnTo, back), http.StatusSeeOther)
			return
		}
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

// withQuery adds v to the query of u (a URL checked when it was stored).
func withQuery(u string, v url.Values) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := parsed.Query()
	for k, vals := range v {
		q[k] = vals
	}
	parsed.RawQuery = q.Encode()
	return parsed.String()
}
