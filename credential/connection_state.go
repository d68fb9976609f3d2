package credential

import (
	"strings"
	"time"

	"credkeep/connection"
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
	ExpiresAt       *time.Time
	LastRefreshedAt *time.Time
}

// ConnectionOf is the connection of the credential of v; nil for a type that
// is not OAuth2.
func ConnectionOf(v View) *Connection {
	t, c := v.Type, v.Credential
	if t.AuthKind != provider.OAuth2 || t.OAuth == nil {
		return nil
	}
	out := &Connection{ConnectedAt: c.ConnectedAt, ConnectedBy: c.ConnectedBy, ExpiresAt: c.TokenExpiresAt, LastRefreshedAt: c.RefreshedAt}
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
