package credential

import (
	"context"
	"strings"
	"time"

	"credkeep/authn"
	"credkeep/authz"
	"credkeep/connection"
	"credkeep/internal/apierror"
	"credkeep/provider"
	"credkeep/storage"
)

// Connection states (the API's ConnectionState).
const (
	NotConnected         = "NOT_CONNECTED"
	Connected            = "CONNECTED"
	NeedsReauthorization = "NEEDS_REAUTHORIZATION"
)

// Connection is an OAuth2 credential's connection, without its tokens.
type Connection struct {
	State           string
	GrantType       string
	Scopes          []string
	ConnectedAt     *time.Time
	ConnectedBy     string // user id; "" when nobody authorized
	Account         string // the provider account's e-mail or login; "" unknown
	ExpiresAt       *time.Time
	LastRefreshedAt *time.Time
}

// Connection returns the connection of the credential of v (VIEW, like its
// fields: scopes and grant type come from them); nil for a type that is not
// OAuth2.
func (s *Service) Connection(ctx context.Context, v View) (*Connection, error) {
	c := connectionOf(v)
	if c == nil {
		return nil, nil
	}
	if _, err := authn.RequireScope(ctx, authn.ScopeRead); err != nil {
		return nil, err
	}
	if v.Level < authz.LevelView {
		return nil, apierror.ForbiddenErr("reading the connection needs VIEW access to the credential")
	}
	return c, nil
}

// connectionOf is the connection of the credential of v; nil for a type that
// is not OAuth2.
func connectionOf(v View) *Connection {
	t, c := v.Type, v.Credential
	if t.AuthKind != provider.OAuth2 || t.OAuth == nil {
		return nil
	}
	out := &Connection{ConnectedAt: c.ConnectedAt, ConnectedBy: c.ConnectedBy, Account: c.ConnectedAccount, ExpiresAt: c.TokenExpiresAt, LastRefreshedAt: c.RefreshedAt}
	switch {
	case t.OAuth.StaticToken != "":
		out.GrantType = "static_token"
	case t.AuthorizationCode(c.Fields):
		out.GrantType = "authorization_code"
	default:
		out.GrantType = "client_credentials"
	}
	if s := strings.Fields(c.Fields["scopes"]); len(s) > 0 {
		out.Scopes = s
	} else if t.OAuth.DefaultScopes != nil {
		out.Scopes = t.OAuth.DefaultScopes(c.Fields)
	}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	out.State = connectionState(out.GrantType, c)
	return out
}

func connectionState(grant string, c storage.Credential) string {
	switch {
	case c.LastError == connection.ErrReauthorize.Error():
		return NeedsReauthorization
	case grant == "static_token", c.ConnectedAt != nil, c.RefreshedAt != nil, c.TokenExpiresAt != nil:
		// (tokenExpiresAt: tokens stored before connectedAt was recorded)
		return Connected
	}
	return NotConnected
}
