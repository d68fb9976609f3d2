// Package authn decides who the caller is: JWT verification (HS256 secret or
// JWKS), API tokens, and the Principal carried in the request context with the
// scopes a token was narrowed to. What the caller may do is package authz.
package authn

import (
	"context"
	"errors"
	"slices"

	"credkeep/internal/apierror"
)

// Scope is an API token scope (SPEC.md §4).
type Scope string

// Token scopes.
const (
	ScopeRead      Scope = "CREDENTIALS_READ"
	ScopeWrite     Scope = "CREDENTIALS_WRITE"
	ScopeUse       Scope = "CREDENTIALS_USE"
	ScopeAuditRead Scope = "AUDIT_READ"
	// ScopeWorkspacesAdmin covers creating, renaming and deleting workspaces and
	// managing their members (SPEC.md §8); CREDENTIALS_WRITE does not.
	ScopeWorkspacesAdmin Scope = "WORKSPACES_ADMIN"
)

// ValidScope reports whether s is a known scope.
func ValidScope(s Scope) bool {
	return s == ScopeRead || s == ScopeWrite || s == ScopeUse || s == ScopeAuditRead || s == ScopeWorkspacesAdmin
}

// TokenInfo describes the API token a request authenticated with.
type TokenInfo struct {
	ID                   string // public id
	Hash                 string // the stored key; never shown
	Name                 string
	Scopes               []Scope
	WorkspaceID          string // "" when the token may use every workspace of its user
	PersistedQueriesOnly bool
}

// Principal is the authenticated caller of one request: a user, directly or
// through one of their API tokens.
type Principal struct {
	UserID string
	Email  string
	Name   string
	// PlatformAdmin: the JWT's roles claim contains "admin". It unlocks platform
	// tooling (introspection, playground), not other workspaces' data. Never set
	// for API tokens.
	PlatformAdmin bool
	// Token is set when the request authenticated with an API token.
	Token *TokenInfo
}

// HasScope reports whether the principal may do what scope s covers: always for
// a user session, for a token only with the scope.
func (p *Principal) HasScope(s Scope) bool {
	return p.Token == nil || slices.Contains(p.Token.Scopes, s)
}

// SeesWorkspace reports whether a workspace-restricted token may see workspaceID.
func (p *Principal) SeesWorkspace(workspaceID string) bool {
	return p.Token == nil || p.Token.WorkspaceID == "" || p.Token.WorkspaceID == workspaceID
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

// RequireScope returns the caller if it may act within scope s: UNAUTHENTICATED
// without a caller, FORBIDDEN for a token without the scope.
func RequireScope(ctx context.Context, s Scope) (*Principal, error) {
	p, err := RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if !p.HasScope(s) {
		return nil, apierror.ForbiddenErr("this API token lacks the %s scope", s)
	}
	return p, nil
}

// RequireUser returns the caller if it is a user session; API tokens get FORBIDDEN.
func RequireUser(ctx context.Context, what string) (*Principal, error) {
	p, err := RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if p.Token != nil {
		return nil, apierror.ForbiddenErr("API tokens cannot %s", what)
	}
	return p, nil
}

// RequireToken returns the caller if it is an API token; user sessions get FORBIDDEN.
func RequireToken(ctx context.Context, what string) (*Principal, error) {
	p, err := RequirePrincipal(ctx)
	if err != nil {
		return nil, err
	}
	if p.Token == nil {
		return nil, apierror.ForbiddenErr("only API tokens can %s", what)
	}
	return p, nil
}

type recheckKey struct{}

// WithRecheck returns ctx carrying a way to authenticate the request's
// credentials again: a subscription outlives the moment its caller was
// authenticated, and must end when the token is revoked or the session expires.
func WithRecheck(ctx context.Context, again func(context.Context) (*Principal, error)) context.Context {
	return context.WithValue(ctx, recheckKey{}, again)
}

// Recheck authenticates the request's credentials again: the principal they
// stand for now, or UNAUTHENTICATED.
func Recheck(ctx context.Context) (*Principal, error) {
	again, _ := ctx.Value(recheckKey{}).(func(context.Context) (*Principal, error))
	if again == nil {
		return RequirePrincipal(ctx)
	}
	p, err := again(ctx)
	if errors.Is(err, ErrBadCredentials) || (err == nil && p == nil) {
		return nil, apierror.UnauthenticatedErr()
	}
	return p, err
}
