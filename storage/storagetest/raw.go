package storagetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Raw reads and edits the database behind the Stores' backs, with a client of
// its own and no decryption: what tests need to look at stored documents as
// they are, or to tamper with them. Production code has no such access.
type Raw struct {
	db       *mongo.Database
	keyVault *mongo.Collection
	// storageFile is the embedded database's storage file, which holds the
	// audit log, use counters and rate-limit counts of its Stores ("" on
	// MONGODB_URI); a Store reaching the database by URI (through the fault
	// proxy) keeps them in collections instead.
	storageFile string
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
	r := &Raw{db: client.Database(db.Name), keyVault: client.Database(rawKeyDB).Collection(rawKeyVault)}
	if db.Embedded != nil {
		r.storageFile = db.Embedded.StorageFile(db.Name)
	}
	return r
}

// DeleteNotices removes every mark of a written notice (a crash's loss).
func (r *Raw) DeleteNotices(ctx context.Context) error {
	_, err := r.db.Collection("notices").DeleteMany(ctx, bson.M{})
	return err
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

// CountDocuments counts a collection's documents.
func (r *Raw) CountDocuments(ctx context.Context, collection string) (int64, error) {
	return r.db.Collection(collection).CountDocuments(ctx, bson.M{})
}

// FailFileWrites makes every write to a table of the storage file
// (audit_index, use_counts, …) fail until the returned function is called:
// triggers in the file itself, so the Store meets SQLite's own error through
// every layer. (A Store reaching the database through the fault proxy keeps
// these in collections: fail those with Faults.Fail.)
func (r *Raw) FailFileWrites(ctx context.Context, table string) (heal func() error, err error) {
	if r.storageFile == "" {
		return nil, fmt.Errorf("no storage file: the database is not embedded")
	}
	exec := func(q string) error {
		return r.withStorageFile(func(db *sql.DB) error {
			_, err := db.ExecContext(ctx, q)
			return err
		})
	}
	for _, op := range []string{"INSERT", "UPDATE"} {
		err = errors.Join(err, exec(`CREATE TRIGGER fail_`+op+`_`+table+` BEFORE `+op+` ON `+table+
			` BEGIN SELECT RAISE(ABORT, 'injected fault'); END`))
	}
	return func() error {
		return errors.Join(exec(`DROP TRIGGER IF EXISTS fail_INSERT_`+table), exec(`DROP TRIGGER IF EXISTS fail_UPDATE_`+table))
	}, err
}
