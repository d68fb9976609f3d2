package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

const colNotices = "notices"

// CredentialsWithDeadlines returns every credential, of every workspace, that
// has an expiry or a rotation period (without secrets): the lifecycle
// scheduler's work list.
func (s *Store) CredentialsWithDeadlines(ctx context.Context) ([]Credential, error) {
	var out []Credential
	err := s.all(ctx, colCredentials, bson.M{"$or": bson.A{
		bson.M{"expiresAt": bson.M{"$exists": true}}, bson.M{"rotationPeriodDays": bson.M{"$exists": true}},
	}}, &out, "read credentials with deadlines", options.Find().SetProjection(withoutSecrets))
	return out, err
}

// NoticeWritten reports whether the notice named key was marked written.
func (s *Store) NoticeWritten(ctx context.Context, key string) (bool, error) {
	var d bson.M
	err := one(s.col(colNotices).FindOne(ctx, bson.M{"_id": key}, options.FindOne().SetProjection(bson.M{"_id": 1})), &d, "read notice")
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// MarkNoticeWritten records that the notice named key, about a credential of
// a workspace, was written; marking it again is not an error.
func (s *Store) MarkNoticeWritten(ctx context.Context, key, workspaceID, credentialID string, at time.Time) error {
	_, err := s.col(colNotices).InsertOne(ctx, bson.M{"_id": key, "workspaceId": workspaceID, "credentialId": credentialID, "at": at})
	if err != nil && !isDuplicateKey(err) {
		return fmt.Errorf("mark notice: %w", err)
	}
	return nil
}
