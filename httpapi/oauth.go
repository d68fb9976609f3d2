package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"

	"credkeep/credential"
)

// Authorizations completes OAuth2 authorization-code flows.
type Authorizations interface {
	CompleteAuthorization(ctx context.Context, state, code, providerError string) (credential.Completion, error)
}

// openerScript tells the window that opened this one (the app that started
// the authorization in a popup) how it ended. It posts to each allowed origin
// in turn; the browser delivers a message only when the origin given is the
// opener's, so no other page learns anything. It is the page's only script,
// allowed by its hash.
const openerScript = `(function(){var d=document.getElementById("credkeep-oauth");` +
	`if(!d||!window.opener)return;var m=JSON.parse(d.textContent);` +
	`for(var i=0;i<m.origins.length;i++){try{window.opener.postMessage(m.message,m.origins[i])}catch(e){}}})();`

var callbackCSP = func() string {
	sum := sha256.Sum256([]byte(openerScript))
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'"
}()

var callbackPage = template.Must(template.New("callback").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>credkeep</title></head>
<body>
{{if .OK}}<h1>Connected</h1><p>{{.Name}} is authorized. You can close this window.</p>
{{else}}<h1>Not connected</h1><p>{{.Reason}}</p>{{end}}
{{if .Opener}}<script type="application/json" id="credkeep-oauth">{{.Opener}}</script>
<script>` + openerScript + `</script>{{end}}
</body></html>
`))

// openerMessage is what the callback page posts to window.opener (SPEC §9).
type openerMessage struct {
	Type         string `json:"type"`
	CredentialID string `json:"credentialId"`
	Result       string `json:"result"`           // connected or failed
	Reason       string `json:"reason,omitempty"` // a code, never the provider's text
}

// oauthCallback is where providers send the person back: it exchanges the code
// and answers with a small page that says success or why not, and tells the
// app that opened it (origins: those allowed by CORS). The page runs nothing
// but that one script.
func oauthCallback(a Authorizations, origins []string, log *slog.Logger) http.HandlerFunc {
	origins = slices.DeleteFunc(slices.Clone(origins), func(o string) bool { return o == "*" })
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		done, err := a.CompleteAuthorization(r.Context(), q.Get("state"), q.Get("code"), q.Get("error"))
		data := struct {
			OK           bool
			Name, Reason string
			Opener       any
		}{OK: err == nil, Name: done.CredentialName}
		reason := ""
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
			data.Reason, status, reason = shown.Reason, http.StatusBadRequest, shown.Code
		case err != nil:
			log.ErrorContext(r.Context(), "oauth callback failed", "error", err)
			data.Reason, status, reason = internalMessage(r.Context()), http.StatusInternalServerError, "internal"
		}
		if done.CredentialID != "" && len(origins) > 0 {
			m := openerMessage{Type: "credkeep:oauth", CredentialID: done.CredentialID, Result: "connected"}
			if err != nil {
				m.Result, m.Reason = "failed", reason
			}
			data.Opener = struct {
				Message openerMessage `json:"message"`
				Origins []string      `json:"origins"`
			}{m, origins}
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", callbackCSP)
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
