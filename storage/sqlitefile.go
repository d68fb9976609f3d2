package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"go.mongodb.org/mongo-driver/bson"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteFile is where the embedded database keeps what every use of a
// credential writes, instead of in FerretDB: the audit log (auditfile.go), the
// use counters (usesfile.go) and the rate-limit counts (ratefile.go), in a
// SQLite file of storage's own beside FerretDB's. Through FerretDB v1 an audit
// entry cost a command, the document turned into FerretDB's JSON and two
// JSON-expression indexes: ~320 µs of CPU, the largest part of a
// useCredential (BenchmarkInsertAuditRound; here ~65 µs).
// The data directory is one process's (embedded.lockDir), so nothing outside
// this process reads or writes the file.
//
// The file is synced as FerretDB's is (WAL, synchronous=FULL): what a write
// stored is on disk when it returns. Writes go through one connection (SQLite
// has one writer; queuing here is cheaper than its busy handler's sleeps),
// reads through a pool of their own, which the WAL lets run beside the
// writer. Stores sharing an embedded database (tests of several instances)
// each open the file; SQLite's locks order their writes. The write-ahead log
// is copied back into the file by the commit that crosses SQLite's threshold
// (1,000 pages), an audit round's; copying it from a goroutine of its own
// every 500 ms instead was tried, and made useCredential's p99 worse (six
// runs each: 57-72 ms against 40-72 ms, medians 68 and 44).
type sqliteFile struct {
	write, read                 *sql.DB
	insertAudit, insertAuditDoc *sql.Stmt // on write, prepared once
}

// sqliteFileReaders bounds the read connections, and readerCache is each
// one's page cache (SQLite's default is 2 MiB a connection, outside Go's
// heap and its memory limit). Reads are few: an entry for an event, a page
// of auditLog, a verification; the writer keeps the default.
const (
	sqliteFileReaders = 2
	readerCache       = "cache_size(-512)" // KiB
)

const sqliteFileSchema = `
CREATE TABLE IF NOT EXISTS audit_docs (
	id  INTEGER PRIMARY KEY, -- the order entries were written in
	doc BLOB    NOT NULL     -- the AuditEntry as BSON
);
CREATE TABLE IF NOT EXISTS audit_index (
	log            TEXT    NOT NULL,
	seq            INTEGER NOT NULL,
	at             INTEGER NOT NULL, -- Unix milliseconds, as BSON keeps times
	action         TEXT    NOT NULL,
	outcome        TEXT    NOT NULL,
	target_id      TEXT    NOT NULL,
	actor_user_id  TEXT    NOT NULL,
	actor_token_id TEXT    NOT NULL,
	doc            INTEGER NOT NULL, -- audit_docs.id
	PRIMARY KEY (log, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_heads (
	log  TEXT    NOT NULL PRIMARY KEY,
	seq  INTEGER NOT NULL,
	hash TEXT    NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS use_counts (
	workspace TEXT NOT NULL PRIMARY KEY,
	counts    BLOB NOT NULL -- usesblob.go's layout
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS use_batches (
	workspace TEXT    NOT NULL,
	instance  TEXT    NOT NULL,
	batch     INTEGER NOT NULL,
	PRIMARY KEY (workspace, instance)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rate_counts (
	token        TEXT    NOT NULL, -- the API token's hash
	window_start INTEGER NOT NULL, -- Unix seconds
	count        INTEGER NOT NULL,
	PRIMARY KEY (token, window_start)
) WITHOUT ROWID;`

// openSQLiteFile opens (creating if needed) the file at path.
func openSQLiteFile(ctx context.Context, path string) (*sqliteFile, error) {
	open := func(conns int, pragmas ...string) (*sql.DB, error) {
		dsn := "file:" + path + "?" + url.Values{
			"_pragma": append([]string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)"}, pragmas...),
			"_txlock": {"immediate"},
		}.Encode()
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open storage file: %w", err)
		}
		db.SetMaxOpenConns(conns)
		db.SetMaxIdleConns(conns)
		return db, nil
	}
	f := &sqliteFile{}
	var err error
	if f.write, err = open(1); err != nil {
		return nil, err
	}
	if f.read, err = open(sqliteFileReaders, readerCache); err != nil {
		f.close()
		return nil, err
	}
	if _, err := f.write.ExecContext(ctx, sqliteFileSchema); err != nil {
		f.close()
		return nil, fmt.Errorf("create storage file tables: %w", err)
	}
	if err := f.upgradeAuditTable(ctx); err != nil {
		f.close()
		return nil, err
	}
	if f.insertAuditDoc, err = f.write.PrepareContext(ctx, insertAuditDocSQL); err != nil {
		f.close()
		return nil, fmt.Errorf("prepare storage file statements: %w", err)
	}
	if f.insertAudit, err = f.write.PrepareContext(ctx, insertAuditSQL("INSERT")); err != nil {
		f.close()
		return nil, fmt.Errorf("prepare storage file statements: %w", err)
	}
	return f, nil
}

// close closes the file (SQLite copies what is left of its write-ahead log
// into it when the last connection closes).
func (f *sqliteFile) close() {
	for _, st := range []*sql.Stmt{f.insertAudit, f.insertAuditDoc} {
		if st != nil {
			_ = st.Close()
		}
	}
	for _, db := range []*sql.DB{f.write, f.read} {
		if db != nil {
			_ = db.Close()
		}
	}
}

// inTx runs fn in a write transaction, committed if fn succeeds. fn's
// statements run on ctx without its cancellation: the driver watches a
// cancellable context with a goroutine of its own for every statement, which
// on an audit round is two goroutines an entry competing with the committer
// for the CPU. ctx is checked instead before the transaction and before its
// commit (a transaction whose caller gave up or whose deadline passed is
// rolled back, as database/sql would), and a wait for SQLite's lock is
// bounded by its busy timeout.
func (f *sqliteFile) inTx(ctx context.Context, what string, fn func(context.Context, *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	run := context.WithoutCancel(ctx)
	tx, err := f.write.BeginTx(run, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := fn(run, tx); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := ctx.Err(); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// moveIntoFile moves what an earlier version kept in the embedded database's
// collections into the storage file, at start-up before anything writes: the
// audit log, the use counters, the rate-limit counts. Each is copied so that a
// copy done again (a crash cut the first short) skips what is there already,
// and only then are the collections dropped. The epochs need no move: only
// this process's caches compare them, and those start empty. A data directory
// without these collections (every start after the first) costs one listing.
func (s *Store) moveIntoFile(ctx context.Context) error {
	left, err := s.db.ListCollectionNames(ctx, bson.M{"name": bson.M{"$in": bson.A{colAudit, colAuditHeads, colEpochs, colUses, colRateLimits}}})
	if err != nil {
		return fmt.Errorf("move into the storage file: %w", err)
	}
	if len(left) == 0 {
		return nil
	}
	for _, move := range []func(context.Context) error{s.moveAuditIntoFile, s.moveUsesIntoFile, s.moveRateCountsIntoFile} {
		if err := move(ctx); err != nil {
			return err
		}
	}
	for _, c := range left {
		if err := s.db.Collection(c).Drop(ctx); err != nil {
			return fmt.Errorf("move into the storage file: drop %s: %w", c, err)
		}
	}
	return nil
}

func isSQLiteConstraint(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}
