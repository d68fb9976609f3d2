// Package storagetest starts databases for tests: the embedded FerretDB in a
// temporary directory, or the MongoDB named by MONGODB_URI when it is set, so
// that one suite runs against either.
package storagetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"credkeep/internal/redact"
	"credkeep/kms"
	"credkeep/storage"
	"credkeep/storage/embedded"
)

// DB is a database shared by the Stores of one test (several server instances).
type DB struct {
	Dir       string // the embedded database's data directory ("" for MONGODB_URI)
	Embedded  *embedded.Server
	URI       redact.Secret
	Name      string
	MasterKey redact.Bytes
	// Timeout bounds server selection of the Stores opened later (0: storage's default).
	Timeout time.Duration
}

// Start starts a database for t and stops it when t ends.
func Start(t testing.TB) *DB {
	t.Helper()
	key := make([]byte, 96)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	db := &DB{MasterKey: redact.NewBytes(key), Name: fmt.Sprintf("credkeep_test_%d", time.Now().UnixNano())}
	if uri := os.Getenv("MONGODB_URI"); uri != "" {
		db.URI = redact.New(uri)
		t.Cleanup(func() {
			s := db.Open(t)
			_ = s.DropDatabase(context.Background())
		})
		return db
	}
	db.Dir = t.TempDir()
	e, err := embedded.Start(db.Dir, nil)
	if err != nil {
		t.Fatalf("start embedded database: %v", err)
	}
	db.Embedded = e
	t.Cleanup(e.Stop)
	return db
}

// Open connects a new Store (a new server instance) to the database; it is
// closed when t ends.
func (db *DB) Open(t testing.TB) *storage.Store {
	t.Helper()
	o := storage.Options{URI: db.URI, Timeout: db.Timeout}
	if db.Embedded != nil { // a nil *embedded.Server is not a nil interface
		o.Embedded = db.Embedded
	}
	return db.open(t, o)
}

// open opens a Store on this database with o (its name and key filled in),
// closed when t ends.
func (db *DB) open(t testing.TB, o storage.Options) *storage.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o.DBName, o.MasterKey = db.Name, db.MasterKey
	s, err := storage.Open(ctx, o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// Store starts a database and opens one Store on it.
func Store(t testing.TB) (*DB, *storage.Store) {
	db := Start(t)
	return db, db.Open(t)
}

// ScanFiles stops the embedded database (so SQLite has written everything to
// its files) and returns the files it wrote, by path; the test is skipped when
// the database is not the embedded one. Stores on the database must be closed first.
func (db *DB) ScanFiles(t testing.TB) map[string][]byte {
	t.Helper()
	if db.Embedded == nil {
		t.Skip("raw file scan needs the embedded database (MONGODB_URI is set)")
	}
	db.Embedded.Stop()
	files := map[string][]byte{}
	err := filepath.WalkDir(db.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSocket != 0 {
			return err
		}
		b, err := os.ReadFile(path)
		files[path] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("the database wrote no files")
	}
	return files
}

// StartRestartable starts an embedded database on a unix socket whose path
// survives a restart (a short, lower-case temporary directory), so that Stores
// reconnect to the restarted database by themselves.
func StartRestartable(t testing.TB) *DB {
	t.Helper()
	if os.Getenv("MONGODB_URI") != "" {
		t.Skip("restarting the database needs the embedded one")
	}
	dir, err := os.MkdirTemp("", "ck")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	key := make([]byte, 96)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	db := &DB{Dir: dir, MasterKey: redact.NewBytes(key), Name: "credkeep_outage"}
	db.Embedded, err = embedded.Start(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Embedded.Stop() })
	return db
}

// Stop stops the embedded database (an outage).
func (db *DB) Stop() { db.Embedded.Stop() }

// Restart starts the embedded database again on the same files and socket.
// Stores opened before keep working once their driver reconnects.
func (db *DB) Restart(t testing.TB) {
	t.Helper()
	e, err := embedded.Start(db.Dir, nil)
	if err != nil {
		t.Fatalf("restart embedded database: %v", err)
	}
	db.Embedded = e
}

// OpenWithKMS connects a new Store whose master key is where settings say
// (SPEC.md §11); it is closed when t ends.
func (db *DB) OpenWithKMS(t testing.TB, settings kms.Settings) *storage.Store {
	t.Helper()
	o := storage.Options{URI: db.URI, Timeout: db.Timeout, KMS: &settings}
	if db.Embedded != nil {
		o.Embedded = db.Embedded
	}
	return db.open(t, o)
}
