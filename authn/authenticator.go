package authn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"credkeep/apitoken/tokenformat"
	"credkeep/storage"
)

// UserRecorder creates or refreshes the user record of an authenticated subject.
type UserRecorder interface {
	UpsertUser(ctx context.Context, id, email, name string, now time.Time) error
}

// TokenStore finds API tokens by hash and records their use.
type TokenStore interface {
	APITokenByHash(ctx context.Context, hash string) (storage.APIToken, error)
	TouchAPIToken(ctx context.Context, hash string, at, notBefore time.Time) error
}

// touchInterval bounds lastUsedAt writes: at most one per token per interval.
const touchInterval = time.Minute

// Authenticator turns an Authorization header into a Principal.
type Authenticator struct {
	jwt    *JWTVerifier
	users  UserRecorder
	tokens TokenStore
	now    func() time.Time
	// touched remembers when this instance last wrote a token's lastUsedAt.
	touched *lru.Cache[string, time.Time]
	// seen remembers the claims last written per user, so a user record costs one
	// write when it changes, not one per request.
	seen *lru.Cache[string, string]
}

// NewAuthenticator builds an Authenticator.
func NewAuthenticator(v *JWTVerifier, users UserRecorder, tokens TokenStore, now func() time.Time) *Authenticator {
	seen, _ := lru.New[string, string](10_000) // error only for a size < 1
	touched, _ := lru.New[string, time.Time](10_000)
	return &Authenticator{jwt: v, users: users, tokens: tokens, now: now, seen: seen, touched: touched}
}

// ErrBadCredentials wraps every refusal of presented credentials; the reason is
// for the server log only.
var ErrBadCredentials = errors.New("invalid credentials")

// Authenticate returns the principal for an Authorization header value, nil for
// an absent header, or an error wrapping ErrBadCredentials (or a storage error).
func (a *Authenticator) Authenticate(ctx context.Context, header string) (*Principal, error) {
	if header == "" {
		return nil, nil
	}
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return nil, fmt.Errorf("%w: not a Bearer authorization", ErrBadCredentials)
	}
	token = strings.TrimSpace(token)
	if tokenformat.Looks(token) {
		return a.authenticateToken(ctx, token)
	}
	claims, err := a.jwt.Verify(token)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCredentials, err)
	}
	p := &Principal{
		UserID:        claims.Subject,
		Email:         claims.Email,
		Name:          claims.Name,
		PlatformAdmin: claims.IsAdmin(),
	}
	fingerprint := p.Email + "\x00" + p.Name
	if last, ok := a.seen.Get(p.UserID); !ok || last != fingerprint {
		if err := a.users.UpsertUser(ctx, p.UserID, p.Email, p.Name, a.now()); err != nil {
			return nil, err
		}
		a.seen.Add(p.UserID, fingerprint)
	}
	return p, nil
}

// authenticateToken checks an API token: the checksum first (no database
// lookup for a mistyped or forged token), then its record by hash, then expiry.
func (a *Authenticator) authenticateToken(ctx context.Context, token string) (*Principal, error) {
	if !tokenformat.Valid(token) {
		return nil, fmt.Errorf("%w: API token checksum mismatch", ErrBadCredentials)
	}
	hash := tokenformat.Hash(token)
	t, err := a.tokens.APITokenByHash(ctx, hash)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("%w: unknown or revoked API token", ErrBadCredentials)
	}
	if err != nil {
		return nil, err
	}
	now := a.now()
	if t.ExpiresAt != nil && !t.ExpiresAt.After(now) {
		return nil, fmt.Errorf("%w: API token expired", ErrBadCredentials)
	}
	if last, ok := a.touched.Get(hash); !ok || now.Sub(last) >= touchInterval {
		// At most one write per token per minute from this instance, and the
		// write itself is skipped when another instance wrote within the minute.
		if err := a.tokens.TouchAPIToken(ctx, hash, now, now.Add(-touchInterval)); err != nil {
			return nil, err
		}
		a.touched.Add(hash, now)
	}
	scopes := make([]Scope, len(t.Scopes))
	for i, s := range t.Scopes {
		scopes[i] = Scope(s)
	}
	return &Principal{
		UserID: t.UserID,
		Token: &TokenInfo{ID: t.ID, Hash: hash, Name: t.Name, Scopes: scopes,
			WorkspaceID: t.WorkspaceID, PersistedQueriesOnly: t.PersistedQueriesOnly},
	}, nil
}
