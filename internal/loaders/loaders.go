// Package loaders batches the reads that GraphQL fields make one object at a
// time (a credential's owner, its workspace, its secrets for masking) into one
// query per batch. Loaders are created per request and die with it, so nothing
// they hold (secret values included) outlives the request.
package loaders

import (
	"context"
	"errors"
	"time"

	"github.com/vikstrous/dataloadgen"

	"credkeep/internal/redact"
	"credkeep/storage"
)

// Store is what the loaders read.
type Store interface {
	UsersByID(ctx context.Context, ids []string) (map[string]storage.User, error)
	WorkspacesByID(ctx context.Context, ids []string) ([]storage.Workspace, error)
	SealedCredential(ctx context.Context, id string) (storage.Credential, storage.Sealed, error)
	Unseal(ctx context.Context, s storage.Sealed) (map[string]redact.Secret, error)
}

// Uses reads credentials' use counters (usecount.Counter).
type Uses interface {
	CredentialUses(ctx context.Context, refs []storage.CredentialRef) (map[storage.CredentialRef]storage.Uses, error)
}

// Loaders are one request's loaders.
type Loaders struct {
	Users      *dataloadgen.Loader[string, storage.User]
	Workspaces *dataloadgen.Loader[string, storage.Workspace]
	Secrets    *dataloadgen.Loader[string, map[string]redact.Secret]
	Uses       *dataloadgen.Loader[storage.CredentialRef, storage.Uses]
}

// Shared options: a millisecond to gather a batch, batches of a few hundred.
var opts = []dataloadgen.Option{dataloadgen.WithWait(time.Millisecond), dataloadgen.WithBatchCapacity(500)}

// New creates the loaders of one request. uses may be nil for a caller that
// loads no use counters.
func New(s Store, uses Uses) *Loaders {
	l := &Loaders{
		Users: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []string) (map[string]storage.User, error) {
			users, err := s.UsersByID(ctx, ids)
			if err != nil {
				return nil, err
			}
			// A user known only by id (never signed in) is still a user.
			for _, id := range ids {
				if _, ok := users[id]; !ok {
					users[id] = storage.User{ID: id}
				}
			}
			return users, nil
		}, opts...),
		Workspaces: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []string) (map[string]storage.Workspace, error) {
			ws, err := s.WorkspacesByID(ctx, ids)
			if err != nil {
				return nil, err
			}
			out := make(map[string]storage.Workspace, len(ws))
			for _, w := range ws {
				out[w.ID] = w
			}
			return out, nil
		}, opts...),
		// Secrets of credentials a request has just written (reads through the
		// credential cache carry theirs sealed): one _id lookup each, which the
		// embedded database answers from its primary key, where $in would scan.
		Secrets: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []string) (map[string]map[string]redact.Secret, error) {
			out := make(map[string]map[string]redact.Secret, len(ids))
			for _, id := range ids {
				_, sealed, err := s.SealedCredential(ctx, id)
				if errors.Is(err, storage.ErrNotFound) {
					continue
				}
				if err != nil {
					return nil, err
				}
				if out[id], err = s.Unseal(ctx, sealed); err != nil {
					return nil, err
				}
			}
			return out, nil
		}, opts...),
	}
	if uses != nil {
		l.Uses = dataloadgen.NewMappedLoader(uses.CredentialUses, opts...)
	}
	return l
}

type key struct{}

// With returns ctx carrying l.
func With(ctx context.Context, l *Loaders) context.Context { return context.WithValue(ctx, key{}, l) }

// From returns the request's loaders; outside a request (tests, jobs), fresh ones
// that batch nothing across calls.
func From(ctx context.Context, s Store, uses Uses) *Loaders {
	if l, ok := ctx.Value(key{}).(*Loaders); ok {
		return l
	}
	return New(s, uses)
}
