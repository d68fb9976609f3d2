package storage

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

const colAPITokens = "api_tokens"

// APIToken is a stored API token. Its _id is the SHA-256 of the token, so the
// check on every request is one _id lookup and the database never holds a token.
type APIToken struct {
	Hash                 string     `bson:"_id"`
	ID                   string     `bson:"publicId"` // the API's ApiToken.id
	UserID               string     `bson:"userId"`
	Name                 string     `bson:"name"`
	Prefix               string     `bson:"prefix"`
	Scopes               []string   `bson:"scopes"`
	WorkspaceID          string     `bson:"workspaceId,omitempty"`
	PersistedQueriesOnly bool       `bson:"persistedQueriesOnly"`
	CreatedAt            time.Time  `bson:"createdAt"`
	LastUsedAt           *time.Time `bson:"lastUsedAt,omitempty"`
	ExpiresAt            *time.Time `bson:"expiresAt,omitempty"`
}

// InsertAPIToken stores a new token.
func (s *Store) InsertAPIToken(ctx context.Context, t APIToken) error {
	if _, err := s.col(colAPITokens).InsertOne(ctx, t); err != nil {
		return fmt.Errorf("insert api token: %w", err)
	}
	return nil
}

// APITokensOf lists a user's tokens, newest first.
func (s *Store) APITokensOf(ctx context.Context, userID string) ([]APIToken, error) {
	var out []APIToken
	if err := s.all(ctx, colAPITokens, bson.M{"userId": userID}, &out, "find api tokens",
		options.Find().SetSort(bson.D{{Key: "createdAt", Value: -1}, {Key: "publicId", Value: 1}})); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteAPIToken removes a user's token by its public id; ErrNotFound if the
// user has no such token. A deleted token is refused on its next request.
func (s *Store) DeleteAPIToken(ctx context.Context, userID, publicID string) (APIToken, error) {
	var t APIToken
	if err := one(s.col(colAPITokens).FindOneAndDelete(ctx, bson.M{"publicId": publicID, "userId": userID}), &t, "delete api token"); err != nil {
		return APIToken{}, err
	}
	return t, nil
}

// TouchAPIToken sets lastUsedAt unless it is already newer than notBefore: a
// token used on several instances is written at most once per interval.
func (s *Store) TouchAPIToken(ctx context.Context, hash string, at, notBefore time.Time) error {
	_, err := s.col(colAPITokens).UpdateOne(ctx,
		bson.M{"_id": hash, "$or": bson.A{bson.M{"lastUsedAt": bson.M{"$exists": false}}, bson.M{"lastUsedAt": bson.M{"$lt": notBefore}}}},
		bson.M{"$set": bson.M{"lastUsedAt": at}})
	if err != nil {
		return fmt.Errorf("touch api token: %w", err)
	}
	return nil
}

const colRateLimits = "rate_limits"

// AddRequests adds n requests to a token's count in one rate-limit window and
// returns the window's new total. Counts live in the database, so every
// instance counts against the same limit (on the embedded database, in the
// storage file: ratefile.go).
func (s *Store) AddRequests(ctx context.Context, tokenHash string, windowStart time.Time, n int) (int, error) {
	if s.file != nil {
		return s.file.addRequests(ctx, tokenHash, windowStart, n)
	}
	id := tokenHash + ":" + fmt.Sprint(windowStart.Unix())
	var doc struct {
		Count int `bson:"count"`
	}
	err := s.col(colRateLimits).FindOneAndUpdate(ctx, bson.M{"_id": id},
		bson.M{"$inc": bson.M{"count": n}, "$setOnInsert": bson.M{"windowStart": windowStart}},
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&doc)
	if err != nil {
		return 0, fmt.Errorf("count requests: %w", err)
	}
	return doc.Count, nil
}

// APITokenOf returns a user's token by its public id, or ErrNotFound.
func (s *Store) APITokenOf(ctx context.Context, userID, publicID string) (APIToken, error) {
	var t APIToken
	err := one(s.col(colAPITokens).FindOne(ctx, bson.M{"publicId": publicID, "userId": userID}), &t, "find api token")
	return t, err
}

// APITokenByHash returns the token with this hash, or ErrNotFound.
func (s *Store) APITokenByHash(ctx context.Context, hash string) (APIToken, error) {
	var t APIToken
	if err := one(s.col(colAPITokens).FindOne(ctx, bson.M{"_id": hash}), &t, "find api token"); err != nil {
		return APIToken{}, err
	}
	return t, nil
}
