package authn

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	lru "github.com/hashicorp/golang-lru/v2"

	"credkeep/internal/redact"
)

// MaxJWTLength bounds the token text parsed at all; real JWTs are a few KiB at most.
const MaxJWTLength = 8 << 10

// jwtLeeway absorbs clock skew between the issuer and this server.
const jwtLeeway = 30 * time.Second

// JWTConfig configures JWT verification: exactly one of Secret (HS256) or JWKSURL.
type JWTConfig struct {
	Secret   redact.Secret
	JWKSURL  string
	Issuer   string // enforced when set
	Audience string // enforced when set
	// Now is the clock for exp/nbf/iat; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Claims are the JWT claims credkeep reads.
type Claims struct {
	jwt.RegisteredClaims
	Email string   `json:"email,omitempty"`
	Name  string   `json:"name,omitempty"`
	Roles []string `json:"roles,omitempty"`
}

// IsAdmin reports whether the roles claim makes the subject a platform admin.
func (c *Claims) IsAdmin() bool {
	for _, r := range c.Roles {
		if r == "admin" {
			return true
		}
	}
	return false
}

// JWTVerifier checks signatures and claims of user JWTs.
type JWTVerifier struct {
	parser  *jwt.Parser
	keyfunc jwt.Keyfunc
	now     func() time.Time
	// verified remembers tokens whose signature and claims were checked, by
	// SHA-256 of the token: a browser sends the same JWT with every request, and
	// parsing it again was ~7% of a small query's CPU. A hit is re-checked for
	// expiry; entries are dropped after jwtCacheMaxAge, which bounds how long a
	// token signed with a key since removed from the JWKS is still accepted.
	verified *lru.Cache[[sha256.Size]byte, verifiedJWT]
}

type verifiedJWT struct {
	claims *Claims
	at     time.Time
}

const (
	jwtCacheMaxAge = time.Minute
	jwtCacheSize   = 10_000
)

// ErrInvalidToken is returned for any token that is not accepted; its reason is
// wrapped for the server log but never shown to the client beyond "invalid token".
var ErrInvalidToken = errors.New("invalid token")

// NewJWTVerifier builds a verifier. With a JWKS URL it starts a background key
// refresh that ends with ctx; an unreachable key set does not stop start-up (keys
// are fetched again on demand), but every token is refused until keys arrive.
func NewJWTVerifier(ctx context.Context, cfg JWTConfig) (*JWTVerifier, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	opts := []jwt.ParserOption{
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(jwtLeeway),
	}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v := &JWTVerifier{now: cfg.Now}
	if v.now == nil {
		v.now = time.Now
	}
	v.verified, _ = lru.New[[sha256.Size]byte, verifiedJWT](jwtCacheSize) // errors only for a size < 1
	switch {
	case !cfg.Secret.IsZero() && cfg.JWKSURL != "":
		return nil, errors.New("configure either a JWT secret or a JWKS URL, not both")
	case !cfg.Secret.IsZero():
		// One algorithm only: a token claiming any other (none, RS256 with the
		// secret as a "public key", ...) is refused before the key is used.
		opts = append(opts, jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}))
		key := []byte(cfg.Secret.Reveal())
		v.keyfunc = func(*jwt.Token) (any, error) { return key, nil }
	case cfg.JWKSURL != "":
		// Asymmetric algorithms only: an HS256 token "signed" with a public key
		// from the key set is refused (algorithm confusion).
		opts = append(opts, jwt.WithValidMethods([]string{
			jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg(), jwt.SigningMethodEdDSA.Alg(),
		}))
		logger := cfg.Logger
		kf, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
			HTTPTimeout: 5 * time.Second,
			// A token with an unknown kid may trigger one refetch every 5 minutes
			// (the library's default limiter), and never waits for its turn: an
			// attacker cycling kids must not stall requests.
			RateLimitWaitMax: time.Millisecond,
			RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
				return func(ctx context.Context, err error) {
					logger.ErrorContext(ctx, "refresh JWKS failed", "url", u, "error", err)
				}
			},
		})
		if err != nil {
			return nil, fmt.Errorf("JWKS: %w", err)
		}
		v.keyfunc = kf.Keyfunc
	default:
		return nil, errors.New("no JWT verification configured")
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

// Verify checks a token and returns its claims. Every refusal wraps ErrInvalidToken.
func (v *JWTVerifier) Verify(token string) (*Claims, error) {
	if len(token) > MaxJWTLength {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, MaxJWTLength)
	}
	if strings.Count(token, ".") != 2 {
		return nil, fmt.Errorf("%w: not a JWS compact token", ErrInvalidToken)
	}
	key := sha256.Sum256([]byte(token))
	now := v.now()
	if hit, ok := v.verified.Get(key); ok {
		if now.Sub(hit.at) < jwtCacheMaxAge && hit.claims.ExpiresAt != nil && now.Before(hit.claims.ExpiresAt.Add(jwtLeeway)) {
			return hit.claims, nil
		}
		v.verified.Remove(key)
	}
	claims := &Claims{}
	if _, err := v.parser.ParseWithClaims(token, claims, v.keyfunc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if strings.TrimSpace(claims.Subject) == "" {
		return nil, fmt.Errorf("%w: no sub claim", ErrInvalidToken)
	}
	if len(claims.Subject) > 256 {
		return nil, fmt.Errorf("%w: sub claim longer than 256 bytes", ErrInvalidToken)
	}
	v.verified.Add(key, verifiedJWT{claims: claims, at: now})
	return claims, nil
}

// MintOptions describe a development JWT.
type MintOptions struct {
	Subject  string
	Email    string
	Name     string
	Admin    bool
	TTL      time.Duration
	Issuer   string
	Audience string
	Now      time.Time
}

// MintHS256 signs a JWT with secret, for local use (`credkeep token`, dev mode, tests).
func MintHS256(secret redact.Secret, o MintOptions) (redact.Secret, error) {
	if secret.IsZero() {
		return redact.Secret{}, errors.New("no signing secret")
	}
	if o.Subject == "" {
		return redact.Secret{}, errors.New("subject is required")
	}
	if o.TTL <= 0 {
		return redact.Secret{}, errors.New("ttl must be positive")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   o.Subject,
			Issuer:    o.Issuer,
			IssuedAt:  jwt.NewNumericDate(o.Now),
			ExpiresAt: jwt.NewNumericDate(o.Now.Add(o.TTL)),
		},
		Email: o.Email,
		Name:  o.Name,
	}
	if o.Audience != "" {
		c.Audience = jwt.ClaimStrings{o.Audience}
	}
	if o.Admin {
		c.Roles = []string{"admin"}
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret.Reveal()))
	if err != nil {
		return redact.Secret{}, err
	}
	return redact.New(s), nil
}
