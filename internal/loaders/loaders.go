// Package loaders batches the reads that GraphQL fields make one object at a
// time (a credential's owner, its workspace, its secrets for masking) into one
// query per batch. Loaders are created per request and die with it, so nothing
// they hold (secret values included) outlives the request.
package loaders

import (
	"context"
	"time"

	"github.com/vikstrous/dataloadgen"

	"credkeep/internal/redact"
	"credkeep/storage"
)

// Store is what the loaders read.
type Store interface {
	UsersByID(ctx context.Context, ids []string) (map[string]storage.User, error)
	WorkspacesByID(ctx context.Context, ids []string) ([]storage.Workspace, error)
	CredentialSecrets(ctx context.Context, ids []string) (map[string]map[string]string, error)
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

// New creates the loaders of one request.
func New(s Store) *Loaders {
	return &Loaders{
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
		Uses: dataloadgen.NewMappedLoader(s.CredentialUses, opts...),
		Secrets: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []string) (map[string]map[string]redact.Secret, error) {
			plain, err := s.CredentialSecrets(ctx, ids)
			if err != nil {
				return nil, err
			}
			out := make(map[string]map[string]redact.Secret, len(plain))
			for id, m := range plain {
				out[id] = Redacted(m)
			}
			return out, nil
		}, opts...),
	}
}

// Redacted wraps decrypted values as Secrets.
func Redacted(m map[string]string) map[string]redact.Secret {
	out := make(map[string]redact.Secret, len(m))
	for k, v := range m {
		out[k] = redact.New(v)
	}
	return out
}

type key struct{}

// With returns ctx carrying l.
func With(ctx context.Context, l *Loaders) context.Context { return context.WithValue(ctx, key{}, l) }

// From returns the request's loaders; outside a request (tests, jobs), fresh ones
// that batch nothing across calls.
func From(ctx context.Context, s Store) *Loaders {
	if l, ok := ctx.Value(key{}).(*Loaders); ok {
		return l
	}
	return New(s)
}
