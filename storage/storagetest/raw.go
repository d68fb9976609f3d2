package storagetest

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"credkeep/storage"
)

// Raw reads and edits the database behind the Stores' backs, with a client of
// its own and no decryption: what tests need to look at stored documents as
// they are, or to tamper with them. Production code has no such access.
type Raw struct {
	db       *mongo.Database
	keyVault *mongo.Collection
}

// Collection names as storage writes them (tests fail if they drift).
const (
	rawAudit    = "audit"
	rawKeyVault = "__keyVault"
	rawKeyDB    = "encryption"
)

// Raw connects to the database; the client is closed when t ends.
func (db *DB) Raw(t testing.TB) *Raw {
	t.Helper()
	uri := db.URI.Reveal()
	if db.Embedded != nil {
		uri = db.Embedded.URI()
	}
	client, err := mongo.Connect(context.Background(), options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatalf("raw client: %v", err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return &Raw{db: client.Database(db.Name), keyVault: client.Database(rawKeyDB).Collection(rawKeyVault)}
}

// AuditEntriesFor returns the audit entries about a target, oldest first.
func (r *Raw) AuditEntriesFor(ctx context.Context, targetID string) ([]storage.AuditEntry, error) {
	cur, err := r.db.Collection(rawAudit).Find(ctx, bson.M{"targetId": targetID},
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}, {Key: "seq", Value: 1}}))
	if err != nil {
		return nil, err
	}
	var out []storage.AuditEntry
	return out, cur.All(ctx, &out)
}

// SetAuditEntry edits an entry behind the log's back (tests of tampering).
func (r *Raw) SetAuditEntry(ctx context.Context, id string, set bson.M) error {
	_, err := r.db.Collection(rawAudit).UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": set})
	return err
}

// DeleteAuditEntry removes an entry behind the log's back (tests of tampering).
func (r *Raw) DeleteAuditEntry(ctx context.Context, id string) error {
	_, err := r.db.Collection(rawAudit).DeleteOne(ctx, bson.M{"_id": id})
	return err
}

// DeleteNotices removes every mark of a written notice (a crash's loss).
func (r *Raw) DeleteNotices(ctx context.Context) error {
	_, err := r.db.Collection("notices").DeleteMany(ctx, bson.M{})
	return err
}

// DumpAudit returns every audit document as extended JSON (scans for leaks).
func (r *Raw) DumpAudit(ctx context.Context) ([]string, error) {
	cur, err := r.db.Collection(rawAudit).Find(ctx, bson.M{})
	if err != nil {
		return nil, err
	}
	var docs []bson.Raw
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.String()
	}
	return out, nil
}

// HasDataKey reports whether the key vault holds a data key for a workspace.
func (r *Raw) HasDataKey(ctx context.Context, workspaceID string) (bool, error) {
	n, err := r.keyVault.CountDocuments(ctx, bson.M{"keyAltNames": workspaceID})
	return n > 0, err
}

// DataKeyProvider is the KMS provider that wraps a workspace's data key (its
// masterKey.provider), "" when there is no key.
func (r *Raw) DataKeyProvider(ctx context.Context, workspaceID string) (string, error) {
	var doc struct {
		MasterKey struct {
			Provider string `bson:"provider"`
		} `bson:"masterKey"`
	}
	err := r.keyVault.FindOne(ctx, bson.M{"keyAltNames": workspaceID}).Decode(&doc)
	if err == mongo.ErrNoDocuments {
		return "", nil
	}
	return doc.MasterKey.Provider, err
}

// IndexNames lists a collection's indexes.
func (r *Raw) IndexNames(ctx context.Context, collection string) ([]string, error) {
	cur, err := r.db.Collection(collection).Indexes().List(ctx)
	if err != nil {
		return nil, err
	}
	var specs []struct {
		Name string `bson:"name"`
	}
	if err := cur.All(ctx, &specs); err != nil {
		return nil, err
	}
	names := make([]string, len(specs))
	for i, sp := range specs {
		names[i] = sp.Name
	}
	return names, nil
}

// Document returns one stored document as it is (nil, mongo.ErrNoDocuments when absent).
func (r *Raw) Document(ctx context.Context, collection, id string) (bson.M, error) {
	var doc bson.M
	err := r.db.Collection(collection).FindOne(ctx, bson.M{"_id": id}).Decode(&doc)
	return doc, err
}

// InsertDocument stores a document as it is (to set up a layout an earlier
// version wrote).
func (r *Raw) InsertDocument(ctx context.Context, collection string, doc bson.M) error {
	_, err := r.db.Collection(collection).InsertOne(ctx, doc)
	return err
}
