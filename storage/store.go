// Package storage owns credkeep's MongoDB: the connection (to MongoDB, or to an
// embedded FerretDB started in the data directory), the collections and their
// indexes, client-side field encryption, and the documents' BSON shapes.
//
// FerretDB has no multi-document transactions, so every write is designed to be
// safe on its own: unique ids, idempotent upserts, guarded updates, and ordered
// steps whose partial failure leaves a consistent state.
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"

	"credkeep/internal/redact"
	"credkeep/kms"
	"credkeep/storage/writelock"
)

// Collection names.
const (
	colUsers      = "users"
	colWorkspaces = "workspaces"
	colMembers    = "members"
)

// Options configure Open.
type Options struct {
	// URI of the database; empty: Embedded.
	URI redact.Secret
	// Embedded is a running embedded database to connect to (embedded.Server;
	// several Stores may share one, as tests of several instances do).
	Embedded Embedded
	DBName   string
	// MasterKey wraps the data keys (local KMS, 96 bytes) when KMS is nil.
	MasterKey redact.Bytes
	// KMS, when set, says where the master key is instead (SPEC.md §11).
	KMS *kms.Settings
	// KMSCheckEvery is how long a CheckKMS result stands (0: two seconds).
	KMSCheckEvery time.Duration
	Logger        *slog.Logger
	// Timeout bounds each start-up step and server selection.
	Timeout time.Duration
	// SingleInstance (CREDKEEP_SINGLE_INSTANCE) accepts a URI database that does
	// not apply single-document updates atomically (FerretDB v1), for one
	// credkeep process only: its updates are then serialized in this process.
	SingleInstance bool
	// Monitor, when set, watches every database command (tracing).
	Monitor *event.CommandMonitor
	// SecretVersions is how many versions of a credential's secrets are kept,
	// the current one included (CREDKEEP_SECRET_VERSIONS; 0: 10).
	SecretVersions int
}

// Embedded is an embedded database running in this process (embedded.Server):
// where it listens, the write locks its Stores share, and its index fix-up.
// storage takes it as an interface so that it does not link FerretDB.
type Embedded interface {
	URI() string
	Locker() *writelock.Locker
	IndexIDs(ctx context.Context, dbName string) error
	// StorageFile is the SQLite file of storage's own for database dbName
	// (sqlitefile.go).
	StorageFile(dbName string) string
}

// ErrNonAtomicDatabase: the database at the URI is FerretDB v1, which applies an
// update by reading, filtering and writing back, so concurrent conditional
// updates from two processes can both succeed (measured: FerretDB 1.24 on
// PostgreSQL lost owner removals). Several instances need MongoDB.
var ErrNonAtomicDatabase = errors.New("the database is FerretDB v1, which does not apply single-document updates atomically: several credkeep instances need MongoDB; for one instance only, set CREDKEEP_SINGLE_INSTANCE=true")

// Store is credkeep's database handle. It is safe for concurrent use.
type Store struct {
	client  *mongo.Client // decrypts encrypted fields automatically on reads
	db      *mongo.Database
	crypt   *encryption
	kms     kms.Settings
	probeMu sync.Mutex       // CheckKMS
	probe   primitive.Binary // a value under the probe data key
	// The last CheckKMS: when, its answer, and how long that stands.
	kmsCheckedAt time.Time
	kmsCheckErr  error
	kmsCheckTTL  time.Duration
	keepVersions int // Options.SecretVersions
	// keyVaultOptions connect a key vault client of CheckKMS's own.
	keyVaultOptions *options.ClientOptions
	embedded        Embedded          // nil for a database at a URI
	locks           *writelock.Locker // nil when the database has atomic single-document updates (collection.go)
	log             *slog.Logger
	closed          sync.Once
	rules           RuleAdapter
	// busy is what runs on the clients; Close waits for it (busy.go).
	busy busy
	// audit keeps the audit log: auditCollections, or file.
	audit auditStore
	// uses keeps the use counters: usesCollections, or file.
	uses usesStore
	// file is the embedded database's storage file (nil on a URI).
	file *sqliteFile
	// epochs are the embedded database's epochs (nil on a URI: a document).
	epochs *memEpochs
}

// Open connects to the database (starting the embedded one if needed), sets up
// field encryption and creates the collections and indexes. It is idempotent.
func Open(ctx context.Context, o Options) (*Store, error) {
	if !cseEnabled {
		return nil, errors.New("this binary was built without client-side encryption: build with -tags cse")
	}
	if o.KMS == nil {
		if o.MasterKey.Len() != 96 {
			return nil, errors.New("master key must be 96 bytes")
		}
		local := kms.Local(o.MasterKey)
		o.KMS = &local
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.DBName == "" {
		o.DBName = "credkeep"
	}
	s := &Store{log: o.Logger, keepVersions: o.SecretVersions}
	if s.keepVersions == 0 {
		s.keepVersions = 10
	}
	uri := o.URI.Reveal()
	switch {
	case uri != "":
	case o.Embedded != nil:
		s.embedded, uri = o.Embedded, o.Embedded.URI()
		s.locks = o.Embedded.Locker()
	default:
		return nil, errors.New("no database: set a URI or pass an embedded database")
	}
	if err := s.connect(ctx, uri, o); err != nil {
		s.Close(context.Background())
		return nil, err
	}
	return s, nil
}

func (s *Store) connect(ctx context.Context, uri string, o Options) error {
	s.kms = *o.KMS
	s.kmsCheckTTL = o.KMSCheckEvery
	if s.kmsCheckTTL == 0 {
		s.kmsCheckTTL = 2 * time.Second
	}
	providers := o.KMS.Providers
	clientOpts := func() *options.ClientOptions {
		// Defaults first: options given in the URI (serverSelectionTimeoutMS, ...) win.
		return options.Client().
			SetServerSelectionTimeout(o.Timeout).
			SetConnectTimeout(o.Timeout).
			SetAppName("credkeep").
			SetMonitor(o.Monitor).
			SetPoolMonitor(s.busy.poolMonitor()).
			ApplyURI(uri)
	}
	auto := options.AutoEncryption().
		SetKeyVaultNamespace(keyVaultNamespace).
		SetKmsProviders(providers).
		SetTLSConfig(o.KMS.TLS).
		// Writes encrypt explicitly (per workspace key); reads decrypt automatically.
		SetBypassAutoEncryption(true)
	client, err := mongo.Connect(ctx, clientOpts().SetAutoEncryptionOptions(auto))
	if err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	s.client = client
	s.db = client.Database(o.DBName)

	pingCtx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := client.Ping(pingCtx, readpref.Primary()); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	if s.embedded == nil {
		v1, err := isFerretDBv1(pingCtx, s.db)
		if err != nil {
			return err
		}
		switch {
		case v1 && !o.SingleInstance:
			return ErrNonAtomicDatabase
		case v1:
			s.locks = writelock.New(false)
			s.log.Warn("the database is FerretDB v1: running as the only credkeep instance (CREDKEEP_SINGLE_INSTANCE); several instances need MongoDB")
		}
	}

	s.keyVaultOptions = clientOpts()
	s.crypt, err = newEncryption(ctx, clientOpts(), providers, o.KMS.TLS, &s.busy)
	if err != nil {
		return err
	}
	if err := s.ensureIndexes(ctx); err != nil {
		return err
	}
	s.audit, s.uses = auditCollections{s}, usesCollections{s}
	if s.embedded != nil {
		if err := s.indexIDs(ctx); err != nil {
			return err
		}
		path := s.embedded.StorageFile(s.db.Name())
		s.epochs = epochsOf(path)
		if s.file, err = openSQLiteFile(ctx, path); err != nil {
			return err
		}
		if err := s.moveIntoFile(ctx); err != nil {
			return err
		}
		s.audit, s.uses = s.file, s.file
	}
	return s.newRuleAdapter()
}

// isFerretDBv1 asks buildInfo: FerretDB adds its own version to the answer
// (MongoDB has no such field). Any FerretDB before 2.0 counts as v1, a build
// without version information ("unknown", as when embedded) included.
func isFerretDBv1(ctx context.Context, db *mongo.Database) (bool, error) {
	var info struct {
		FerretDBVersion *string `bson:"ferretdbVersion"`
	}
	if err := db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return false, fmt.Errorf("buildInfo: %w", err)
	}
	if info.FerretDBVersion == nil {
		return false, nil
	}
	major, _, _ := strings.Cut(strings.TrimPrefix(*info.FerretDBVersion, "v"), ".")
	n, err := strconv.Atoi(major)
	return err != nil || n < 2, nil
}

// index is one index to create at start-up.
type index struct {
	collection string
	model      mongo.IndexModel
	// lookupOnly: the index speeds up queries and enforces nothing that _id does
	// not already. The embedded database (FerretDB on SQLite) answers every query
	// but an _id lookup with a scan, so there such an index only costs writes:
	// each one re-parses the document's JSON on every insert (the audit
	// collection's two were a third of the cost of a useCredential's entry).
	lookupOnly bool
}

func indexes() []index {
	return []index{
		{colMembers, mongo.IndexModel{Keys: bson.D{{Key: "userId", Value: 1}}, Options: options.Index().SetName("userId")}, true},
		{colMembers, mongo.IndexModel{Keys: bson.D{{Key: "workspaceId", Value: 1}}, Options: options.Index().SetName("workspaceId")}, true},
		{colUsers, mongo.IndexModel{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetName("email")}, true},
		{colAPITokens, mongo.IndexModel{Keys: bson.D{{Key: "publicId", Value: 1}}, Options: options.Index().SetName("publicId").SetUnique(true)}, false},
		{colAPITokens, mongo.IndexModel{Keys: bson.D{{Key: "userId", Value: 1}}, Options: options.Index().SetName("userId")}, true},
		{colUsages, mongo.IndexModel{Keys: bson.D{{Key: "credentialId", Value: 1}}, Options: options.Index().SetName("credentialId")}, true},
		// Unique, but an entry's _id is "<log>:<seq>": _id already allows one entry per number.
		{colAudit, mongo.IndexModel{Keys: bson.D{{Key: "workspaceId", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("workspaceId_seq").SetUnique(true)}, true},
		{colAudit, mongo.IndexModel{Keys: bson.D{{Key: "targetId", Value: 1}}, Options: options.Index().SetName("targetId")}, true},
		// Unique names per workspace (case-insensitive), and the list's sort order.
		{colCredentials, mongo.IndexModel{Keys: bson.D{{Key: "workspaceId", Value: 1}, {Key: "nameKey", Value: 1}},
			Options: options.Index().SetName("workspaceId_nameKey").SetUnique(true)}, false},
		{colWebhooks, mongo.IndexModel{Keys: bson.D{{Key: "workspaceId", Value: 1}}, Options: options.Index().SetName("workspaceId")}, true},
		{colDeliveries, mongo.IndexModel{Keys: bson.D{{Key: "webhookId", Value: 1}, {Key: "seq", Value: -1}}, Options: options.Index().SetName("webhookId_seq")}, true},
		{colSecretVersions, mongo.IndexModel{Keys: bson.D{{Key: "credentialId", Value: 1}, {Key: "version", Value: -1}}, Options: options.Index().SetName("credentialId_version")}, true},
	}
}

// ensureIndexes creates the collections' indexes; creating an existing index is
// a no-op. On the embedded database, lookup-only indexes are dropped instead
// (data directories from earlier versions have them).
func (s *Store) ensureIndexes(ctx context.Context) error {
	for _, ix := range indexes() {
		view := s.db.Collection(ix.collection).Indexes()
		if ix.lookupOnly && s.embedded != nil {
			if _, err := view.DropOne(ctx, *ix.model.Options.Name); err != nil && !isIndexNotFound(err) {
				return fmt.Errorf("drop index %s.%s: %w", ix.collection, *ix.model.Options.Name, err)
			}
			continue
		}
		if _, err := view.CreateOne(ctx, ix.model); err != nil {
			return fmt.Errorf("create index %s.%s: %w", ix.collection, *ix.model.Options.Name, err)
		}
	}
	return s.crypt.ensureKeyVaultIndex(ctx)
}

// isIndexNotFound reports the server's IndexNotFound (27), or FerretDB's
// NamespaceNotFound (26) for a collection not created yet.
func isIndexNotFound(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && (ce.Code == 27 || ce.Code == 26)
}

// Ping reports whether the database answers; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error {
	return s.client.Ping(ctx, readpref.Primary())
}

// Close disconnects. Calling it again does nothing (libmongocrypt must not be
// freed twice). An embedded database is stopped by whoever started it.
func (s *Store) Close(ctx context.Context) {
	s.closed.Do(func() {
		if !s.busy.idle(ctx) {
			s.log.Warn("closing the database connection while operations still run")
		}
		if s.crypt != nil {
			s.crypt.close(ctx)
		}
		if s.client != nil {
			_ = s.client.Disconnect(ctx)
		}
		if s.file != nil {
			s.file.close()
		}
	})
}

// rawCol is a collection read without automatic decryption: encrypted values
// come back as ciphertext (see Sealed).
func (s *Store) rawCol(name string) *mongo.Collection {
	return s.crypt.keyVaultClient.Database(s.db.Name()).Collection(name)
}

// isDuplicateKey reports a unique index violation. FerretDB reports one from an
// update (not an insert) as an InternalError carrying SQLite's message.
func isDuplicateKey(err error) bool {
	return mongo.IsDuplicateKeyError(err) || (err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed"))
}

// ErrNotFound is returned when a document does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a guarded write finds the document changed or a unique key taken.
var ErrConflict = errors.New("conflict")

// DropDatabase drops credkeep's database (tests against a shared MongoDB).
func (s *Store) DropDatabase(ctx context.Context) error { return s.db.Drop(ctx) }

// one decodes a single result into v: ErrNotFound when there is none, other
// errors wrapped with what was being done.
func one(r *mongo.SingleResult, v any, what string) error {
	err := r.Decode(v)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// byIDs selects documents by _id. One id is an equality, which FerretDB looks
// up by index; several are an $in, which it answers with a scan.
func byIDs(ids []string) bson.M {
	if len(ids) == 1 {
		return bson.M{"_id": ids[0]}
	}
	return bson.M{"_id": bson.M{"$in": ids}}
}

// all runs a query on a collection and decodes every result into out (a pointer to a slice).
func (s *Store) all(ctx context.Context, collection string, filter any, out any, what string, opts ...*options.FindOptions) error {
	return s.allOn(s.col(collection).Collection, ctx, filter, out, what, opts...)
}

func (s *Store) allOn(col *mongo.Collection, ctx context.Context, filter any, out any, what string, opts ...*options.FindOptions) error {
	cur, err := col.Find(ctx, filter, opts...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := cur.All(ctx, out); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// eachOn runs a query on a collection and calls fn with each result as it is
// decoded (a fresh T each time: decoding into a used one would reuse its maps),
// without holding them all. fn's error stops the read and is returned as is.
func eachOn[T any](ctx context.Context, col *mongo.Collection, filter any, what string, fn func(T) error, opts ...*options.FindOptions) error {
	cur, err := col.Find(ctx, filter, opts...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var doc T
		if err := cur.Decode(&doc); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := fn(doc); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// allCollections exist from start-up on the embedded database, so that they
// get the _id index (FerretDB creates a collection's table on its first write).
// The audit log, the use counters, the rate-limit counts and the epochs are
// not collections there: they are in the storage file (sqlitefile.go) and in
// memory (state.go).
var allCollections = []string{
	colUsers, colWorkspaces, colMembers, colCredentials, colUsages, colAPITokens,
	colOAuthStates, colLeases, colRules, colPersisted, colSecretVersions, colNotices,
	colWebhooks, colDeliveries,
}

// indexIDs creates the collections, then has the embedded database index them
// by the _id expression it looks documents up with (embedded/sqliteid.go).
func (s *Store) indexIDs(ctx context.Context) error {
	existing, err := s.db.ListCollectionNames(ctx, map[string]any{})
	if err != nil {
		return fmt.Errorf("list collections: %w", err)
	}
	for _, c := range allCollections {
		if !slices.Contains(existing, c) {
			if err := s.db.CreateCollection(ctx, c); err != nil && !isNamespaceExists(err) {
				return fmt.Errorf("create collection %s: %w", c, err)
			}
		}
	}
	return s.embedded.IndexIDs(ctx, s.db.Name())
}

func isNamespaceExists(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && (ce.Code == 48 || ce.Name == "NamespaceExists")
}

// OneInstance reports that the database is written by this credkeep process
// only: the embedded database, or FerretDB v1 accepted with
// CREDKEEP_SINGLE_INSTANCE. Such a database also answers every query other
// than an _id lookup by scanning its collection (FerretDB v1 pushes nothing
// else down), so caches there trust their own writes instead of re-reading
// (see credential's list cache).
func (s *Store) OneInstance() bool { return s.embedded != nil || s.locks != nil }
