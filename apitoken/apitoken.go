// Package apitoken manages users' API tokens: create (the plaintext is returned
// once and only its hash is stored), list, revoke.
package apitoken

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"credkeep/apitoken/tokenformat"
	"credkeep/audit"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/internal/apierror"
	"credkeep/internal/names"
	"credkeep/internal/redact"
	"credkeep/storage"
)

// Store is what the service needs from storage.
type Store interface {
	InsertAPIToken(ctx context.Context, t storage.APIToken) error
	APITokensOf(ctx context.Context, userID string) ([]storage.APIToken, error)
	DeleteAPIToken(ctx context.Context, userID, publicID string) (storage.APIToken, error)
	APITokenByHash(ctx context.Context, hash string) (storage.APIToken, error)
	APITokenOf(ctx context.Context, userID, publicID string) (storage.APIToken, error)
}

// Roles tells whether the caller is a member of a workspace.
// Workspaces is the workspace check of every service (workspace.Service.Require).
type Workspaces interface {
	Require(ctx context.Context, workspaceID string, act authz.WorkspaceAction, scope authn.Scope) (*authn.Principal, authz.Role, error)
}

// Service manages API tokens for user sessions; API tokens cannot manage tokens.
type Service struct {
	store      Store
	workspaces Workspaces
	audit      audit.Recorder
	now        func() time.Time
	log        *slog.Logger
}

// New returns a Service.
func New(store Store, workspaces Workspaces, rec audit.Recorder, now func() time.Time, log *slog.Logger) *Service {
	return &Service{store: store, workspaces: workspaces, audit: rec, now: now, log: log}
}

// Token is an API token as its owner sees it: never the token itself, nor its hash.
type Token struct {
	ID                   string
	Name                 string
	Prefix               string
	Scopes               []string
	WorkspaceID          string // "" when it may use every workspace of its user
	PersistedQueriesOnly bool
	CreatedAt            time.Time
	LastUsedAt           *time.Time
	ExpiresAt            *time.Time
}

func toToken(t storage.APIToken) Token {
	return Token{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Scopes: t.Scopes, WorkspaceID: t.WorkspaceID,
		PersistedQueriesOnly: t.PersistedQueriesOnly, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt}
}

// CreateInput is createApiToken's input.
type CreateInput struct {
	Name                 string
	Scopes               []authn.Scope
	WorkspaceID          *string
	ExpiresAt            *time.Time
	PersistedQueriesOnly bool
}

// Create makes a token for the caller and returns it with its plaintext, which
// is never stored and cannot be shown again.
func (s *Service) Create(ctx context.Context, in CreateInput) (Token, redact.Secret, error) {
	p, err := authn.RequireUser(ctx, "create API tokens")
	if err != nil {
		return Token{}, redact.Secret{}, err
	}
	name, err := names.Name(in.Name)
	if err != nil {
		return Token{}, redact.Secret{}, err
	}
	if len(in.Scopes) == 0 {
		return Token{}, redact.Secret{}, apierror.Invalid("scopes", "a token needs at least one scope")
	}
	scopes := make([]string, 0, len(in.Scopes))
	for _, sc := range in.Scopes {
		if !authn.ValidScope(sc) {
			return Token{}, redact.Secret{}, apierror.Invalid("scopes", "unknown scope")
		}
		if !slices.Contains(scopes, string(sc)) {
			scopes = append(scopes, string(sc))
		}
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return Token{}, redact.Secret{}, apierror.Invalid("expiresAt", "expiresAt must be in the future")
	}
	ws := ""
	if in.WorkspaceID != nil && *in.WorkspaceID != "" {
		// A user session: every scope is its own; membership is what counts.
		if _, _, err := s.workspaces.Require(ctx, *in.WorkspaceID, authz.ActWorkspaceRead, authn.ScopeRead); err != nil {
			return Token{}, redact.Secret{}, err
		}
		ws = *in.WorkspaceID
	}
	secret, err := tokenformat.Generate()
	if err != nil {
		return Token{}, redact.Secret{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Token{}, redact.Secret{}, err
	}
	t := storage.APIToken{
		Hash: tokenformat.Hash(secret.Reveal()), ID: id.String(), UserID: p.UserID, Name: name,
		Prefix: tokenformat.PublicPrefix(secret.Reveal()), Scopes: scopes, WorkspaceID: ws,
		PersistedQueriesOnly: in.PersistedQueriesOnly, CreatedAt: now, ExpiresAt: utc(in.ExpiresAt),
	}
	// On record first: a token whose creation is not in the log never exists.
	if err := audit.Do(ctx, s.audit, tokenEntry(audit.TokenCreated, t), func() error {
		return s.store.InsertAPIToken(ctx, t)
	}); err != nil {
		return Token{}, redact.Secret{}, err
	}
	return toToken(t), secret, nil
}

// List returns the caller's tokens, newest first.
func (s *Service) List(ctx context.Context) ([]Token, error) {
	p, err := authn.RequireUser(ctx, "list API tokens")
	if err != nil {
		return nil, err
	}
	ts, err := s.store.APITokensOf(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(ts))
	for i, t := range ts {
		out[i] = toToken(t)
	}
	return out, nil
}

// Current returns the record of the token the request authenticated with (nil
// for a user session, or a token revoked since the request began).
func (s *Service) Current(ctx context.Context) (*Token, error) {
	p := authn.PrincipalFrom(ctx)
	if p == nil || p.Token == nil {
		return nil, nil
	}
	t, err := s.store.APITokenByHash(ctx, p.Token.Hash)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := toToken(t)
	return &out, nil
}

// Revoke deletes one of the caller's tokens: refused from its next request on,
// on every instance.
func (s *Service) Revoke(ctx context.Context, id string) error {
	p, err := authn.RequireUser(ctx, "revoke API tokens")
	if err != nil {
		return err
	}
	t, err := s.store.APITokenOf(ctx, p.UserID, id)
	if errors.Is(err, storage.ErrNotFound) {
		return apierror.NotFoundErr("API token")
	}
	if err != nil {
		return err
	}
	return audit.Do(ctx, s.audit, tokenEntry(audit.TokenRevoked, t), func() error {
		_, err := s.store.DeleteAPIToken(ctx, p.UserID, id)
		if errors.Is(err, storage.ErrNotFound) {
			return apierror.NotFoundErr("API token")
		}
		return err
	})
}

// tokenEntry is an audit entry about a token: in its workspace's log when it is
// restricted to one, else in the platform log.
func tokenEntry(a audit.Action, t storage.APIToken) audit.Entry {
	return audit.Entry{
		WorkspaceID: t.WorkspaceID, Action: a, Outcome: audit.Success,
		TargetType: audit.TargetToken, TargetID: t.ID, TargetName: t.Name,
		Details: []storage.AuditDetail{audit.Detail("prefix", t.Prefix), audit.Detail("scopes", strings.Join(t.Scopes, ","))},
	}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Millisecond)
	return &u
}
