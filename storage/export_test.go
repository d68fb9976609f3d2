package storage

import (
	"context"
	"database/sql"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

const colProbe = "encryption_probe"

// InsertEncrypted stores v encrypted under the workspace key and returns the document id.
func (s *Store) InsertEncrypted(ctx context.Context, workspaceID string, v bson.M) (primitive.ObjectID, error) {
	bin, err := s.encryptUnder(ctx, workspaceID, v)
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

// Encrypt is encryptUnder the workspace's first key, for benchmarks.
func (s *Store) Encrypt(ctx context.Context, workspaceID string, v any) (primitive.Binary, error) {
	return s.encryptUnder(ctx, workspaceID, v)
}

// IDLookupPlan is SQLite's plan for FerretDB's _id lookup in a collection of
// the embedded database.
func (s *Store) IDLookupPlan(ctx context.Context, collection string) (string, error) {
	conn, err := sql.Open("sqlite", "file:"+s.embedded.(interface{ File(string) string }).File(s.db.Name()))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	var table string
	if err := conn.QueryRowContext(ctx, `SELECT table_name FROM _ferretdb_collections WHERE name = ?`, collection).Scan(&table); err != nil {
		return "", err
	}
	var id, parent, unused int
	var detail string
	q := fmt.Sprintf(`EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM %q WHERE _ferretdb_sjson->'$._id' = ?`, table)
	if err := conn.QueryRowContext(ctx, q, `"x"`).Scan(&id, &parent, &unused, &detail); err != nil {
		return "", err
	}
	return detail, nil
}

// InsertProbes inserts one document per id in one bulk write.
func (s *Store) InsertProbes(ctx context.Context, ids []string, ordered bool) (*mongo.BulkWriteResult, error) {
	models := make([]mongo.WriteModel, len(ids))
	for i, id := range ids {
		models[i] = mongo.NewInsertOneModel().SetDocument(bson.M{"_id": id})
	}
	return s.col(colProbe).BulkWrite(ctx, models, options.BulkWrite().SetOrdered(ordered))
}
