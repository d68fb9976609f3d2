package storage

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

const colPersisted = "persisted_queries"

// PersistedQuery returns the query text stored under a hash, or ErrNotFound.
func (s *Store) PersistedQuery(ctx context.Context, hash string) (string, error) {
	var d struct {
		Query string `bson:"query"`
	}
	if err := one(s.col(colPersisted).FindOne(ctx, bson.M{"_id": hash}), &d, "find persisted query"); err != nil {
		return "", err
	}
	return d.Query, nil
}

// SavePersistedQuery stores a query under its hash (idempotent: the hash names the text).
func (s *Store) SavePersistedQuery(ctx context.Context, hash, query string) error {
	_, err := s.col(colPersisted).UpdateOne(ctx, bson.M{"_id": hash},
		bson.M{"$setOnInsert": bson.M{"query": query, "createdAt": time.Now().UTC()}}, options.Update().SetUpsert(true))
	if err != nil && !isDuplicateKey(err) {
		return fmt.Errorf("save persisted query: %w", err)
	}
	return nil
}
