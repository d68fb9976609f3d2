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

// SavePersistedQuery stores a query under its hash (idempotent: the hash names
// the text), then evicts the least recently used documents beyond max.
func (s *Store) SavePersistedQuery(ctx context.Context, hash, query string, max int, now time.Time) error {
	res, err := s.col(colPersisted).UpdateOne(ctx, bson.M{"_id": hash},
		bson.M{"$setOnInsert": bson.M{"query": query, "createdAt": now.UTC()}, "$max": bson.M{"usedAt": now.UTC()}},
		options.Update().SetUpsert(true))
	if err != nil && !isDuplicateKey(err) {
		return fmt.Errorf("save persisted query: %w", err)
	}
	if err != nil || res.UpsertedCount == 0 || max <= 0 {
		return nil
	}
	n, err := s.col(colPersisted).CountDocuments(ctx, bson.M{})
	if err != nil {
		return fmt.Errorf("count persisted queries: %w", err)
	}
	if excess := n - int64(max); excess > 0 {
		cur, err := s.col(colPersisted).Find(ctx, bson.M{"_id": bson.M{"$ne": hash}},
			options.Find().SetSort(bson.D{{Key: "usedAt", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(excess).SetProjection(bson.M{"_id": 1}))
		if err != nil {
			return fmt.Errorf("find persisted queries to evict: %w", err)
		}
		var old []struct {
			ID string `bson:"_id"`
		}
		if err := cur.All(ctx, &old); err != nil {
			return fmt.Errorf("read persisted queries to evict: %w", err)
		}
		ids := make([]string, len(old))
		for i, o := range old {
			ids[i] = o.ID
		}
		if _, err := s.col(colPersisted).DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}}); err != nil {
			return fmt.Errorf("evict persisted queries: %w", err)
		}
	}
	return nil
}

// TouchPersistedQuery records a use of a stored query, for eviction order.
func (s *Store) TouchPersistedQuery(ctx context.Context, hash string, now time.Time) error {
	if _, err := s.col(colPersisted).UpdateOne(ctx, bson.M{"_id": hash}, bson.M{"$max": bson.M{"usedAt": now.UTC()}}); err != nil {
		return fmt.Errorf("touch persisted query: %w", err)
	}
	return nil
}

// PersistedQueryCount is how many automatic persisted queries are stored.
func (s *Store) PersistedQueryCount(ctx context.Context) (int64, error) {
	return s.col(colPersisted).CountDocuments(ctx, bson.M{})
}
