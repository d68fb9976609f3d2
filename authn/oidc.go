package authn

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// OIDCProvider is what the discovery document of an OpenID Connect issuer
// says about it: where people sign in, where the console trades the code,
// and the keys its tokens are signed with.
type OIDCProvider struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	EndSessionEndpoint    string `json:"end_session_endpoint,omitempty"`
}

// discoveryTimeout bounds the discovery request at start-up.
const discoveryTimeout = 10 * time.Second

// DiscoverOIDC reads issuer's discovery document (go-oidc checks that it
// names the same issuer, OpenID Connect Discovery 4.3).
func DiscoverOIDC(ctx context.Context, issuer string, client *http.Client) (OIDCProvider, error) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	if client != nil {
		ctx = oidc.ClientContext(ctx, client)
	}
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return OIDCProvider{}, fmt.Errorf("discovery: %w", err)
	}
	var out OIDCProvider
	if err := p.Claims(&out); err != nil {
		return OIDCProvider{}, fmt.Errorf("discovery document: %w", err)
	}
	if out.AuthorizationEndpoint == "" || out.TokenEndpoint == "" || out.JWKSURI == "" {
		return OIDCProvider{}, fmt.Errorf("the discovery document lacks authorization_endpoint, token_endpoint or jwks_uri")
	}
	return out, nil
}
