package storage

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

const colUsages = "credential_usages"

// Usage is a consumer (bot, workflow, function, integration) attached to a credential.
type Usage struct {
	ID           string     `bson:"_id"` // credentialId:kind:consumerId
	CredentialID string     `bson:"credentialId"`
	WorkspaceID  string     `bson:"workspaceId"`
	ConsumerKind string     `bson:"consumerKind"`
	ConsumerID   string     `bson:"consumerId"`
	ConsumerName string     `bson:"consumerName,omitempty"`
	AttachedAt   time.Time  `bson:"attachedAt"`
	LastUsedAt   *time.Time `bson:"lastUsedAt,omitempty"`
	UseCount     int64      `bson:"useCount"`
}

// UsageID is the _id of a usage.
func UsageID(credentialID, kind, consumerID string) string {
	return credentialID + ":" + kind + ":" + consumerID
}

// AttachUsage records a consumer of a credential, or refreshes its name when
// it is attached already; it returns the usage as stored.
func (s *Store) AttachUsage(ctx context.Context, u Usage) (Usage, error) {
	u.ID = UsageID(u.CredentialID, u.ConsumerKind, u.ConsumerID)
	set := bson.M{}
	if u.ConsumerName != "" {
		set["consumerName"] = u.ConsumerName
	}
	update := bson.M{"$setOnInsert": bson.M{
		"credentialId": u.CredentialID, "workspaceId": u.WorkspaceID, "consumerKind": u.ConsumerKind,
		"consumerId": u.ConsumerID, "attachedAt": u.AttachedAt, "useCount": 0,
	}}
	if len(set) > 0 {
		update["$set"] = set
	}
	var out Usage
	err := s.col(colUsages).FindOneAndUpdate(ctx, bson.M{"_id": u.ID}, update,
		options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&out)
	if err != nil {
		return Usage{}, fmt.Errorf("attach usage: %w", err)
	}
	return out, nil
}

// DetachUsage removes a consumer; ErrNotFound when it is not attached.
func (s *Store) DetachUsage(ctx context.Context, credentialID, kind, consumerID string) error {
	res, err := s.col(colUsages).DeleteOne(ctx, bson.M{"_id": UsageID(credentialID, kind, consumerID)})
	if err != nil {
		return fmt.Errorf("detach usage: %w", err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// UsagesOf lists a credential's consumers in the order they were attached.
func (s *Store) UsagesOf(ctx context.Context, credentialID string) ([]Usage, error) {
	var out []Usage
	if err := s.all(ctx, colUsages, bson.M{"credentialId": credentialID}, &out, "find usages",
		options.Find().SetSort(bson.D{{Key: "attachedAt", Value: 1}, {Key: "_id", Value: 1}})); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteUsagesOf removes every usage of a credential.
func (s *Store) DeleteUsagesOf(ctx context.Context, credentialID string) error {
	if _, err := s.col(colUsages).DeleteMany(ctx, bson.M{"credentialId": credentialID}); err != nil {
		return fmt.Errorf("delete usages: %w", err)
	}
	return nil
}

// SetDefaultCredential sets (credentialID non-empty) or clears the workspace's
// default credential for a purpose.
func (s *Store) SetDefaultCredential(ctx context.Context, workspaceID, purpose, credentialID string) error {
	update := bson.M{"$unset": bson.M{"defaults." + purpose: ""}}
	if credentialID != "" {
		update = bson.M{"$set": bson.M{"defaults." + purpose: credentialID}}
	}
	res, err := s.col(colWorkspaces).UpdateOne(ctx, bson.M{"_id": workspaceID}, update)
	if err != nil {
		return fmt.Errorf("set default credential: %w", err)
	}
	if res.MatchedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// DefaultCredential returns the id of the workspace's default credential for a
// purpose, or "".
func (s *Store) DefaultCredential(ctx context.Context, workspaceID, purpose string) (string, error) {
	var w struct {
		Defaults map[string]string `bson:"defaults"`
	}
	if err := one(s.col(colWorkspaces).FindOne(ctx, bson.M{"_id": workspaceID},
		options.FindOne().SetProjection(bson.M{"defaults": 1})), &w, "read default credential"); err != nil {
		return "", err
	}
	return w.Defaults[purpose], nil
}
