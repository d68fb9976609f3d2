package storage

import (
	"context"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
)

const colProbe = "encryption_probe"

// InsertEncrypted stores v encrypted under the workspace key and returns the document id.
func (s *Store) InsertEncrypted(ctx context.Context, workspaceID string, v bson.M) (primitive.ObjectID, error) {
	bin, err := s.Encrypt(ctx, workspaceID, v)
	if err != nil {
		return primitive.NilObjectID, err
	}
	id := primitive.NewObjectID()
	_, err = s.col(colProbe).InsertOne(ctx, bson.M{"_id": id, "workspaceId": workspaceID, "secret": bin})
	return id, err
}

// ReadEncrypted reads back the decrypted value stored by InsertEncrypted.
func (s *Store) ReadEncrypted(ctx context.Context, id primitive.ObjectID) (bson.M, error) {
	var doc struct {
		Secret bson.M `bson:"secret"`
	}
	if err := s.col(colProbe).FindOne(ctx, bson.M{"_id": id}).Decode(&doc); err != nil {
		return nil, err
	}
	return doc.Secret, nil
}

// RoundTripEncrypted inserts v encrypted and reads it back.
func (s *Store) RoundTripEncrypted(ctx context.Context, workspaceID string, v bson.M) (bson.M, error) {
	id, err := s.InsertEncrypted(ctx, workspaceID, v)
	if err != nil {
		return nil, err
	}
	return s.ReadEncrypted(ctx, id)
}

// ReadWorkspaces reads workspaces without sharing or cache (benchmarks).
func (s *Store) ReadWorkspaces(ctx context.Context, ids []string) (map[string]*Workspace, error) {
	return s.readWorkspaces(ctx, ids)
}
