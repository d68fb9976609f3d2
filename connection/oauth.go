// Package connection talks to the outside world for credentials: the OAuth2
// flows (authorization code with PKCE, client credentials, refresh under a
// lease shared by all instances) and the connection tests of every testable
// type. Every connection goes through the netguard SSRF guard.
package connection

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"credkeep/internal/netguard"
	"credkeep/internal/redact"
	"credkeep/provider"
	"credkeep/storage"
)

// Config configures outbound calls.
type Config struct {
	Guard       *netguard.Guard
	RedirectURL string
	// BaseURLs override providers' endpoints (tests point them at loopback):
	// stripe, openai, mailgun, twilio, whatsapp, google (OAuth), microsoft (login).
	BaseURLs map[string]string
	// RootCAs verifies TLS of SMTP servers; nil: the system's roots.
	RootCAs *x509.CertPool
	Now     func() time.Time
}

func (c Config) base(key, def string) string {
	if b, ok := c.BaseURLs[key]; ok && b != "" {
		return strings.TrimRight(b, "/")
	}
	return def
}

// Cred is what a connection needs of a credential: its identity, plain fields
// and secret values.
type Cred struct {
	ID          string
	WorkspaceID string
	Type        string
	Fields      map[string]string
	Secrets     map[string]redact.Secret
}

func (c Cred) secret(k string) string { return c.Secrets[k].Reveal() }

// Store keeps tokens and leases.
type Store interface {
	CredentialOAuthTokens(ctx context.Context, id string) (storage.OAuthTokens, error)
	SetCredentialOAuthTokens(ctx context.Context, workspaceID, id string, t storage.OAuthTokens, now time.Time) error
	SetCredentialCheck(ctx context.Context, workspaceID, id string, tested *time.Time, lastError string) error
	AcquireLease(ctx context.Context, name, holder string, until, now time.Time) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Errors the caller shows as they are (they hold no secret).
var (
	ErrNotAuthorized = errors.New("not authorized yet: start the authorization to connect the account")
	ErrReauthorize   = errors.New("the provider refused the refresh token (invalid_grant): re-authorize the credential")
	ErrNotOAuth      = errors.New("this credential type has no OAuth2 flow")
)

// refreshSkew: a token expiring within this is refreshed first (SPEC: 60 seconds).
const refreshSkew = 60 * time.Second

// Lease timing: a refresh holds the lease at most this long, and waiters give up after waitTimeout.
const (
	leaseTTL    = 30 * time.Second
	waitTimeout = 20 * time.Second
	waitStep    = 50 * time.Millisecond
)

// Manager runs OAuth2 flows.
type Manager struct {
	cfg    Config
	store  Store
	holder string // this instance's lease holder id
}

// NewManager returns a Manager.
func NewManager(cfg Config, store Store) *Manager {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Manager{cfg: cfg, store: store, holder: hex.EncodeToString(b)}
}

// flow is a credential's OAuth2 configuration.
type flow struct {
	cfg          oauth2.Config
	clientCreds  bool
	staticBearer string // whatsapp: a long-lived token typed by the user
}

func (m *Manager) flowOf(c Cred) (flow, error) {
	t, ok := provider.Lookup(c.Type)
	if !ok || t.OAuth == nil {
		return flow{}, ErrNotOAuth
	}
	o := t.OAuth
	if o.StaticToken != "" {
		return flow{staticBearer: c.secret(o.StaticToken)}, nil
	}
	authURL, tokenURL := o.Endpoints(c.Fields, m.cfg.base)
	f := flow{cfg: oauth2.Config{ClientID: c.Fields["clientId"], ClientSecret: c.secret("clientSecret"), RedirectURL: m.cfg.RedirectURL,
		Scopes: strings.Fields(c.Fields["scopes"]), Endpoint: oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL}}}
	f.clientCreds = o.ClientCredentials(c.Fields)
	if len(f.cfg.Scopes) == 0 && o.DefaultScopes != nil {
		f.cfg.Scopes = o.DefaultScopes(c.Fields)
	}
	return f, nil
}

// UsesAuthorizationCode reports whether the credential is connected by a person
// going through the provider's consent page.
func (m *Manager) UsesAuthorizationCode(c Cred) bool {
	f, err := m.flowOf(c)
	return err == nil && !f.clientCreds && f.staticBearer == "" && f.cfg.Endpoint.AuthURL != ""
}

// AuthURL is the provider URL a person visits to authorize: state, PKCE (S256), offline access.
func (m *Manager) AuthURL(c Cred, state string, verifier redact.Secret) (string, error) {
	f, err := m.flowOf(c)
	if err != nil {
		return "", err
	}
	return f.cfg.AuthCodeURL(state, oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(verifier.Reveal())), nil
}

func (m *Manager) httpCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, m.cfg.Guard.HTTPClient())
}

// Exchange trades an authorization code (with its PKCE verifier) for tokens
// and stores them: a connection made by the user by.
func (m *Manager) Exchange(ctx context.Context, c Cred, code string, verifier redact.Secret, by string) error {
	f, err := m.flowOf(c)
	if err != nil {
		return err
	}
	tok, err := f.cfg.Exchange(m.httpCtx(ctx), code, oauth2.VerifierOption(verifier.Reveal()))
	if err != nil {
		return tokenFailure(err)
	}
	return m.save(ctx, c, tok, redact.Secret{}, by, m.account(ctx, c, f, tok))
}

// save stores tokens; by is the user who authorized (empty for a refresh),
// account who they connected as ("" unknown).
func (m *Manager) save(ctx context.Context, c Cred, tok *oauth2.Token, oldRefresh redact.Secret, by, account string) error {
	t := storage.OAuthTokens{AccessToken: redact.New(tok.AccessToken), RefreshToken: redact.New(tok.RefreshToken), ConnectedBy: by, Account: account}
	if t.RefreshToken.IsZero() {
		t.RefreshToken = oldRefresh // not rotated: keep the one we have
	}
	if !tok.Expiry.IsZero() {
		e := tok.Expiry.UTC().Truncate(time.Millisecond)
		t.ExpiresAt = &e
	}
	return m.store.SetCredentialOAuthTokens(ctx, c.WorkspaceID, c.ID, t, m.cfg.Now().UTC())
}

// Token is a usable access token.
type Token struct {
	AccessToken redact.Secret
	ExpiresAt   *time.Time
	Refreshed   bool
}

// Token returns a valid access token: the stored one while it has more than a
// minute left (unless force), else a refreshed or newly fetched one. At most one
// refresh of a credential runs at a time across all instances (a lease in the
// database); the others wait for it and use its result.
func (m *Manager) Token(ctx context.Context, c Cred, force bool) (Token, error) {
	f, err := m.flowOf(c)
	if err != nil {
		return Token{}, err
	}
	if f.staticBearer != "" {
		return Token{AccessToken: redact.New(f.staticBearer)}, nil
	}
	cur, err := m.store.CredentialOAuthTokens(ctx, c.ID)
	if err != nil {
		return Token{}, err
	}
	if !force && m.fresh(cur) {
		return asToken(cur, false), nil
	}
	deadline := m.cfg.Now().Add(waitTimeout)
	lease := "oauth-refresh:" + c.ID
	for {
		now := m.cfg.Now()
		ok, err := m.store.AcquireLease(ctx, lease, m.holder, now.Add(leaseTTL), now)
		if err != nil {
			return Token{}, err
		}
		if ok {
			return m.refreshHolding(ctx, c, f, cur, force, lease)
		}
		// Another instance (or request) is refreshing: wait for its result.
		select {
		case <-ctx.Done():
			return Token{}, ctx.Err()
		case <-time.After(waitStep):
		}
		latest, err := m.store.CredentialOAuthTokens(ctx, c.ID)
		if err != nil {
			return Token{}, err
		}
		if latest.AccessToken.Reveal() != cur.AccessToken.Reveal() && m.fresh(latest) {
			return asToken(latest, true), nil
		}
		if m.cfg.Now().After(deadline) {
			return Token{}, errors.New("a refresh of this credential is taking too long elsewhere; try again")
		}
	}
}

func (m *Manager) refreshHolding(ctx context.Context, c Cred, f flow, before storage.OAuthTokens, force bool, lease string) (Token, error) {
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = m.store.ReleaseLease(ctx, lease, m.holder)
	}()
	// Someone may have refreshed between our read and our lease.
	cur, err := m.store.CredentialOAuthTokens(ctx, c.ID)
	if err != nil {
		return Token{}, err
	}
	if cur.AccessToken.Reveal() != before.AccessToken.Reveal() && m.fresh(cur) {
		return asToken(cur, true), nil
	}
	if !force && m.fresh(cur) {
		return asToken(cur, false), nil
	}
	var tok *oauth2.Token
	switch {
	case f.clientCreds:
		cc := clientcredentials.Config{ClientID: f.cfg.ClientID, ClientSecret: f.cfg.ClientSecret, TokenURL: f.cfg.Endpoint.TokenURL, Scopes: f.cfg.Scopes}
		tok, err = cc.Token(m.httpCtx(ctx))
	case !cur.RefreshToken.IsZero():
		tok, err = f.cfg.TokenSource(m.httpCtx(ctx), &oauth2.Token{RefreshToken: cur.RefreshToken.Reveal(), Expiry: time.Unix(1, 0)}).Token()
	default:
		return Token{}, ErrNotAuthorized
	}
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			_ = m.store.SetCredentialCheck(ctx, c.WorkspaceID, c.ID, nil, ErrReauthorize.Error())
			return Token{}, ErrReauthorize
		}
		return Token{}, tokenFailure(err)
	}
	if err := m.save(ctx, c, tok, cur.RefreshToken, "", ""); err != nil {
		return Token{}, err
	}
	t := Token{AccessToken: redact.New(tok.AccessToken), Refreshed: true}
	if !tok.Expiry.IsZero() {
		e := tok.Expiry.UTC()
		t.ExpiresAt = &e
	}
	return t, nil
}

func (m *Manager) fresh(t storage.OAuthTokens) bool {
	return !t.AccessToken.IsZero() && (t.ExpiresAt == nil || t.ExpiresAt.After(m.cfg.Now().Add(refreshSkew)))
}

func asToken(t storage.OAuthTokens, refreshed bool) Token {
	return Token{AccessToken: t.AccessToken, ExpiresAt: t.ExpiresAt, Refreshed: refreshed}
}

// NewVerifier returns a PKCE code verifier.
func NewVerifier() redact.Secret { return redact.New(oauth2.GenerateVerifier()) }
