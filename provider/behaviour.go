package provider

import (
	"net/http"
	"net/url"
	"strings"
)

// Bases resolves a service's base URL: the operator's override for key, or def.
type Bases func(key, def string) string

// Secrets gives a credential's secret value by field key (the caller reveals it
// only to put it on the wire).
type Secrets func(key string) string

// OAuth is how an OAuth2 type obtains access tokens.
type OAuth struct {
	// Endpoints are the provider's authorization and token URLs.
	Endpoints func(fields map[string]string, base Bases) (authURL, tokenURL string)
	// ClientCredentials reports whether the credential uses the client-credentials
	// grant (no person involved) rather than the authorization code.
	ClientCredentials func(fields map[string]string) bool
	// DefaultScopes apply when the credential names none.
	DefaultScopes func(fields map[string]string) []string
	// StaticToken names the field holding a long-lived token the person typed:
	// no flow, no refresh (WhatsApp).
	StaticToken string
	// Userinfo, when set, is the provider's OpenID Connect userinfo endpoint:
	// who the person connected as, when the token endpoint sent no ID token.
	Userinfo func(base Bases) string
}

// Refreshable reports whether the type's access tokens come from a token endpoint.
func (o *OAuth) Refreshable() bool { return o != nil && o.StaticToken == "" }

// Check is how a connection test checks a credential.
type Check struct {
	// SMTP: connect, secure and authenticate (host, port, security, username, password).
	SMTP bool
	// Token: obtain an OAuth2 access token.
	Token bool
	// HTTP: one cheap authenticated request.
	HTTP *HTTPCheck
}

// HTTPCheck is a GET of an authenticated endpoint.
type HTTPCheck struct {
	BaseKey, DefaultBase string
	// BaseField, when set and filled in, replaces the base URL (a destination field).
	BaseField string
	// Base picks the default base from the fields (Mailgun's region); optional.
	Base func(fields map[string]string) string
	Path func(fields map[string]string) string
	// Auth sets the request's credentials.
	Auth func(r *http.Request, fields map[string]string, secret Secrets)
}

// URL is the check's target for a credential.
func (h *HTTPCheck) URL(fields map[string]string, base Bases) string {
	def := h.DefaultBase
	if h.Base != nil {
		def = h.Base(fields)
	}
	b := base(h.BaseKey, def)
	if h.BaseField != "" && fields[h.BaseField] != "" {
		b = fields[h.BaseField]
	}
	return strings.TrimRight(b, "/") + h.Path(fields)
}

func bearer(field string) func(*http.Request, map[string]string, Secrets) {
	return func(r *http.Request, _ map[string]string, secret Secrets) {
		r.Header.Set("Authorization", "Bearer "+secret(field))
	}
}

func pathOf(format string, fieldKeys ...string) func(map[string]string) string {
	return func(fields map[string]string) string {
		p := format
		for _, k := range fieldKeys {
			p = strings.Replace(p, "{"+k+"}", url.PathEscape(fields[k]), 1)
		}
		return p
	}
}

// AuthorizationCode reports whether a credential of this type with these
// fields connects through a person's authorization (the authorization-code
// flow): OAuth2, not a static token, not the client-credentials grant.
func (t *Type) AuthorizationCode(fields map[string]string) bool {
	o := t.OAuth
	if t.AuthKind != OAuth2 || o == nil || o.StaticToken != "" {
		return false
	}
	return o.ClientCredentials == nil || !o.ClientCredentials(fields)
}
