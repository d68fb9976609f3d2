package storagetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.mongodb.org/mongo-driver/bson"

	"credkeep/storage"
)

// The audit log as Raw sees it: the collection and, on the embedded database,
// the audit file's table (storage/auditfile.go; tests fail if they drift).

// withStorageFile calls fn with the storage file open, when there is one.
func (r *Raw) withStorageFile(fn func(*sql.DB) error) error {
	if r.storageFile == "" {
		return nil
	}
	if _, err := os.Stat(r.storageFile); os.IsNotExist(err) {
		return nil
	}
	db, err := sql.Open("sqlite", "file:"+r.storageFile+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(db)
}

// auditRows returns the BSON of the audit file's entries that match where.
func auditRows(db *sql.DB, where string, args ...any) ([]bson.Raw, error) {
	rows, err := db.Query(`SELECT audit_docs.doc FROM audit_index JOIN audit_docs ON audit_docs.id = audit_index.doc WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bson.Raw
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		out = append(out, doc)
	}
	return out, rows.Err()
}

// AuditEntriesFor returns the audit entries about a target, oldest first.
func (r *Raw) AuditEntriesFor(ctx context.Context, targetID string) ([]storage.AuditEntry, error) {
	cur, err := r.db.Collection(rawAudit).Find(ctx, bson.M{"targetId": targetID})
	if err != nil {
		return nil, err
	}
	var out []storage.AuditEntry
	if err := cur.All(ctx, &out); err != nil {
		return nil, err
	}
	err = r.withStorageFile(func(db *sql.DB) error {
		docs, err := auditRows(db, `target_id = ?`, targetID)
		for _, d := range docs {
			var e storage.AuditEntry
			if err := bson.Unmarshal(d, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return err
	})
	slices.SortStableFunc(out, func(a, b storage.AuditEntry) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return int(a.Seq - b.Seq)
	})
	return out, err
}

// splitAuditID is the log and number of an entry's _id.
func splitAuditID(id string) (string, int64, error) {
	i := strings.LastIndexByte(id, ':')
	seq, err := strconv.ParseInt(id[i+1:], 10, 64)
	if i < 0 || err != nil {
		return "", 0, fmt.Errorf("not an audit entry id: %q", id)
	}
	return id[:i], seq, nil
}

// SetAuditEntry edits an entry behind the log's back (tests of tampering).
func (r *Raw) SetAuditEntry(ctx context.Context, id string, set bson.M) error {
	if _, err := r.db.Collection(rawAudit).UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": set}); err != nil {
		return err
	}
	log, seq, err := splitAuditID(id)
	if err != nil {
		return err
	}
	return r.withStorageFile(func(db *sql.DB) error {
		docs, err := auditRows(db, `log = ? AND seq = ?`, log, seq)
		if err != nil || len(docs) == 0 {
			return err
		}
		var doc bson.M
		if err := bson.Unmarshal(docs[0], &doc); err != nil {
			return err
		}
		for k, v := range set {
			doc[k] = v
		}
		raw, err := bson.Marshal(doc)
		if err != nil {
			return err
		}
		var e storage.AuditEntry
		if err := bson.Unmarshal(raw, &e); err != nil {
			return err
		}
		if _, err = db.Exec(`UPDATE audit_docs SET doc = ? WHERE id = (SELECT doc FROM audit_index WHERE log = ? AND seq = ?)`, raw, log, seq); err != nil {
			return err
		}
		_, err = db.Exec(`UPDATE audit_index SET at = ?, action = ?, outcome = ?, target_id = ?,
			actor_user_id = ?, actor_token_id = ? WHERE log = ? AND seq = ?`,
			e.At.UnixMilli(), e.Action, e.Outcome, e.TargetID, e.ActorUserID, e.ActorTokenID, log, seq)
		return err
	})
}

// DeleteAuditEntry removes an entry behind the log's back (tests of tampering).
func (r *Raw) DeleteAuditEntry(ctx context.Context, id string) error {
	if _, err := r.db.Collection(rawAudit).DeleteOne(ctx, bson.M{"_id": id}); err != nil {
		return err
	}
	log, seq, err := splitAuditID(id)
	if err != nil {
		return err
	}
	return r.withStorageFile(func(db *sql.DB) error {
		if _, err := db.Exec(`DELETE FROM audit_docs WHERE id = (SELECT doc FROM audit_index WHERE log = ? AND seq = ?)`, log, seq); err != nil {
			return err
		}
		_, err := db.Exec(`DELETE FROM audit_index WHERE log = ? AND seq = ?`, log, seq)
		return err
	})
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
	err = r.withStorageFile(func(db *sql.DB) error {
		more, err := auditRows(db, `1`)
		docs = append(docs, more...)
		return err
	})
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.String()
	}
	return out, err
}

// WriteAuditTableOfOldVersion writes entries into the storage file as versions
// before audit_index and audit_docs kept them: in one table ordered by (log,
// seq), audit_entries (tests of storage's upgrade). The file must exist (a
// Store opened it once).
func (r *Raw) WriteAuditTableOfOldVersion(ctx context.Context, es []storage.AuditEntry) error {
	if r.storageFile == "" {
		return fmt.Errorf("no storage file: the database is not embedded")
	}
	return r.withStorageFile(func(db *sql.DB) error {
		if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS audit_entries (
			log TEXT NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL,
			target_id TEXT NOT NULL, actor_user_id TEXT NOT NULL, actor_token_id TEXT NOT NULL, doc BLOB NOT NULL,
			PRIMARY KEY (log, seq)) WITHOUT ROWID`); err != nil {
			return err
		}
		for _, e := range es {
			doc, err := bson.Marshal(e)
			if err != nil {
				return err
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO audit_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				e.Log, e.Seq, e.At.UnixMilli(), e.Action, e.Outcome, e.TargetID, e.ActorUserID, e.ActorTokenID, doc); err != nil {
				return err
			}
		}
		return nil
	})
}

// StorageFileTables lists the tables of the storage file.
func (r *Raw) StorageFileTables(ctx context.Context) ([]string, error) {
	var out []string
	err := r.withStorageFile(func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return err
			}
			out = append(out, name)
		}
		return rows.Err()
	})
	return out, err
}
