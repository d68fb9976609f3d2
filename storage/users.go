package storage

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// User is a person known by the `sub` of their JWT.
type User struct {
	ID        string    `bson:"_id"`
	Email     string    `bson:"email,omitempty"`
	Name      string    `bson:"name,omitempty"`
	CreatedAt time.Time `bson:"createdAt"`
	UpdatedAt time.Time `bson:"updatedAt"`
}

// UpsertUser creates the user or refreshes its email and name from the latest claims.
func (s *Store) UpsertUser(ctx context.Context, id, email, name string, now time.Time) error {
	_, err := s.col(colUsers).UpdateOne(ctx, bson.M{"_id": id}, bson.M{
		"$set":         bson.M{"email": email, "name": name, "updatedAt": now},
		"$setOnInsert": bson.M{"createdAt": now},
	}, options.Update().SetUpsert(true))
	if isDuplicateKey(err) {
		// Two first requests of one user raced; the other inserted it. Apply ours on top.
		_, err = s.col(colUsers).UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"email": email, "name": name, "updatedAt": now}})
	}
	if err != nil {
		return fmt.Errorf("upsert user: %w", err)
	}
	return nil
}

// EnsureUser creates a user record with only an id, unless one exists: a member
// can be added before they first sign in; their claims fill in the rest.
func (s *Store) EnsureUser(ctx context.Context, id string, now time.Time) error {
	_, err := s.col(colUsers).UpdateOne(ctx, bson.M{"_id": id}, bson.M{
		"$setOnInsert": bson.M{"createdAt": now, "updatedAt": now},
	}, options.Update().SetUpsert(true))
	if err != nil && !isDuplicateKey(err) {
		return fmt.Errorf("ensure user: %w", err)
	}
	return nil
}

// UsersByID loads users in one query; ids that do not exist are absent from the map.
func (s *Store) UsersByID(ctx context.Context, ids []string) (map[string]User, error) {
	var users []User
	if err := s.all(ctx, colUsers, byIDs(ids), &users, "find users"); err != nil {
		return nil, err
	}
	out := make(map[string]User, len(users))
	for _, u := range users {
		out[u.ID] = u
	}
	return out, nil
}
