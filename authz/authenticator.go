package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// UserRecorder creates or refreshes the user record of an authenticated subject.
type UserRecorder interface {
	UpsertUser(ctx context.Context, id, email, name string, now time.Time) error
}

// Authenticator turns an Authorization header into a Principal.
type Authenticator struct {
	jwt   *JWTVerifier
	users UserRecorder
	now   func() time.Time
	// seen remembers the claims last written per user, so a user record costs one
	// write when it changes, not one per request.
	seen *lru.Cache[string, string]
}

// NewAuthenticator builds an Authenticator; now may be nil (time.Now).
func NewAuthenticator(v *JWTVerifier, users UserRecorder, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	seen, _ := lru.New[string, string](10_000) // error only for a size < 1
	return &Authenticator{jwt: v, users: users, now: now, seen: seen}
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
	if strings.HasPrefix(token, "ck_") {
		return nil, fmt.Errorf("%w: API tokens are not accepted yet", ErrBadCredentials)
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
