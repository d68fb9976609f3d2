package storage

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
)

// API tokens are checked on every request of a machine. Each instance caches
// the tokens it has seen, tagged with the token epoch (the "tokens" field of
// the global epochs document, state.go), which every revocation moves on
// before and after it deletes the token. The epoch
// is read fresh for each request, with concurrent requests sharing one read
// (package fresh), so a revocation on any instance is seen on the next request.
//
// Worst case: if the database fails right after a revocation deleted the token
// and before the second epoch bump, an instance that reloaded the token in
// between may accept it until the entry's age passes tokenCacheMaxAge (the
// bump is also retried in the background).

const tokenCacheMaxAge = 5 * time.Second

type cachedToken struct {
	token    APIToken
	epoch    int64
	loadedAt time.Time
}

func (s *Store) bumpTokenEpoch(ctx context.Context) error { return s.bumpEpoch(ctx, "tokens") }

// bumpTokenEpochAfter is the bump after a revocation, whose delete is durable
// by then: a failure does not fail the revocation, the bump is retried.
func (s *Store) bumpTokenEpochAfter(ctx context.Context) {
	if s.bumpTokenEpoch(ctx) == nil {
		return
	}
	s.tokens.Purge() // this instance at least forgets at once
	s.retryLater(ctx, "bump the token epoch after a revocation", s.bumpTokenEpoch)
}

// APITokenByHash returns the token with this hash, or ErrNotFound, as of a read
// of the token epoch that began after the call.
func (s *Store) APITokenByHash(ctx context.Context, hash string) (APIToken, error) {
	snap, err := s.states.Get(ctx, epochsKey)
	if err != nil {
		return APIToken{}, err
	}
	epoch := snap.epochs.Tokens
	if c, ok := s.tokens.Get(hash); ok && c.epoch == epoch && time.Since(c.loadedAt) < tokenCacheMaxAge {
		return c.token, nil
	}
	loadedAt := time.Now()
	var t APIToken
	if err := one(s.col(colAPITokens).FindOne(ctx, bson.M{"_id": hash}), &t, "find api token"); err != nil {
		return APIToken{}, err
	}
	s.tokens.Add(hash, cachedToken{token: t, epoch: epoch, loadedAt: loadedAt})
	return t, nil
}
