package storagetest

import (
	"context"
	"database/sql"
	"errors"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
)

// UseBatchMarkers returns the batch markers (by instance) stored with a
// workspace's use counters: in the collection's document and, on the embedded
// database, in the storage file (storage/usesfile.go).
func (r *Raw) UseBatchMarkers(ctx context.Context, workspaceID string) (map[string]int64, error) {
	out := map[string]int64{}
	var doc struct {
		F map[string]int64 `bson:"f"`
	}
	err := r.db.Collection("credential_uses").FindOne(ctx, bson.M{"_id": workspaceID}).Decode(&doc)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, err
	}
	for instance, batch := range doc.F {
		out[instance] = batch
	}
	err = r.withStorageFile(func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, `SELECT instance, batch FROM use_batches WHERE workspace = ?`, workspaceID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var instance string
			var batch int64
			if err := rows.Scan(&instance, &batch); err != nil {
				return err
			}
			out[instance] = batch
		}
		return rows.Err()
	})
	return out, err
}
