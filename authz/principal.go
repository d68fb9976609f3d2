// Package authz decides who the caller is and what it may do: JWT verification
// (HS256 secret or JWKS), the Principal carried in the request context, and the
// named permission checks of workspace roles.
package authz

import (
	"context"

	"credkeep/apierror"
)

// Principal is the authenticated caller of one request.
type Principal struct {
	UserID string
	Email  string
	Name   string
	// PlatformAdmin: the JWT's roles claim contains "admin". It unlocks platform
	// tooling (introspection, playground), not other workspaces' data.
	PlatformAdmin bool
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller, or nil for an anonymous request.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// RequirePrincipal returns the caller, or UNAUTHENTICATED for an anonymous request.
func RequirePrincipal(ctx context.Context) (*Principal, error) {
	if p := PrincipalFrom(ctx); p != nil {
		return p, nil
	}
	return nil, apierror.UnauthenticatedErr()
}
