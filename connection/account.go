package connection

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"credkeep/internal/names"
	"credkeep/provider"
)

// maxAccountLen bounds the account shown (the longest e-mail address is 254).
const maxAccountLen = 254

// userinfoTimeout bounds the userinfo call; the connection is made without
// the account rather than late.
const userinfoTimeout = 5 * time.Second

// account is who the person connected as, when the provider says: the e-mail
// or login in the ID token the token endpoint sent with the tokens, else the
// provider's userinfo endpoint when the granted scopes allow it. It is only
// shown (lists carry "the associated e-mail address"), never used to decide
// anything, so the ID token, received straight from the token endpoint over
// TLS, is read without checking its signature, as OpenID Connect Core 3.1.3.7
// permits; it must still be issued to this client. "" when unknown.
func (m *Manager) account(ctx context.Context, c Cred, f flow, tok *oauth2.Token) string {
	if raw, ok := tok.Extra("id_token").(string); ok && raw != "" {
		var claims jwt.MapClaims
		if _, _, err := jwt.NewParser().ParseUnverified(raw, &claims); err == nil {
			if aud, err := claims.GetAudience(); err == nil && slices.Contains(aud, f.cfg.ClientID) {
				if a := accountOf(claims, c, tok); a != "" {
					return a
				}
			}
		}
	}
	t, _ := provider.Lookup(c.Type)
	if t.OAuth == nil || t.OAuth.Userinfo == nil || !identityScopes(tok, f.cfg.Scopes) {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, userinfoTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.OAuth.Userinfo(m.cfg.base), nil)
	if err != nil {
		return ""
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	res, err := m.cfg.Guard.HTTPClient().Do(req)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return ""
	}
	var claims map[string]any
	if json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&claims) != nil {
		return ""
	}
	return accountOf(claims, c, tok)
}

// identityScopes reports whether the granted scopes (or, when the provider did
// not list them, the requested ones) let userinfo say who the person is.
func identityScopes(tok *oauth2.Token, requested []string) bool {
	scopes := requested
	if granted, ok := tok.Extra("scope").(string); ok && granted != "" {
		scopes = strings.Fields(granted)
	}
	return slices.ContainsFunc(scopes, func(s string) bool {
		return s == "openid" || s == "email" || strings.HasSuffix(s, "/userinfo.email")
	})
}

// accountOf picks the e-mail, else the login, from OpenID Connect claims
// (upn: Microsoft's login for accounts without an e-mail claim). A value that
// is not one line of plain text, is too long, or holds any of the credential's
// secrets or tokens is dropped: the provider's text is shown to everyone with VIEW.
func accountOf(claims map[string]any, c Cred, tok *oauth2.Token) string {
	secrets := []string{tok.AccessToken, tok.RefreshToken}
	for _, s := range c.Secrets {
		secrets = append(secrets, s.Reveal())
	}
	for _, k := range []string{"email", "preferred_username", "upn"} {
		v, _ := claims[k].(string)
		v = strings.TrimSpace(v)
		if v == "" || utf8.RuneCountInString(v) > maxAccountLen || strings.ContainsFunc(v, names.Forbidden) {
			continue
		}
		if !slices.ContainsFunc(secrets, func(s string) bool { return len(s) >= 4 && strings.Contains(v, s) }) {
			return v
		}
	}
	return ""
}
