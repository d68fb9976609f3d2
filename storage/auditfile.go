package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
)

// The audit log on the embedded database, in the storage file (sqlitefile.go):
// each entry's BSON in audit_docs, in the order entries were written, and its
// row in audit_index, ordered by (log, seq), with the fields the log is
// filtered by; and a table of heads. A page of a log is a range read of the
// index, filtered there, that never decodes another log's entries; only the
// entries on the page are read from audit_docs.
//
// Earlier versions kept the BSON in the rows ordered by (log, seq)
// (audit_entries, WITHOUT ROWID). Those rows are large (~600 bytes), so a
// group-commit round rewrote the page of every log it touched and split them
// often: about 15 pages written to the write-ahead log a round under
// useCredential load. Now a round appends its documents to the last pages of
// audit_docs, whatever their logs, and only index rows (~120 bytes) go to each
// log's place (BenchmarkInsertAuditRound: 55 against 39 µs of CPU an entry).
// With the documents in the same table as the index, found by an index on
// (log, seq) alone (tried), a write cost 36 µs but a page filtered by target
// read every entry of the log: 183 ms against 26 ms here at 100,000 entries
// (BenchmarkAuditQuery). upgradeAuditTable moves an earlier file's entries.

// forEachBatch is how many entries a read of a whole log takes at a time, so
// that verifying a long log does not hold one read transaction throughout.
const forEachBatch = 512

func (f *sqliteFile) head(ctx context.Context, log string) (AuditHead, error) {
	var h AuditHead
	err := f.read.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE log = ?`, log).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return AuditHead{}, nil
	}
	if err != nil {
		return AuditHead{}, fmt.Errorf("read audit head: %w", err)
	}
	return h, nil
}

func (f *sqliteFile) advanceHeads(ctx context.Context, moves []AuditHeadMove) error {
	return f.inTx(ctx, "advance audit heads", func(ctx context.Context, tx *sql.Tx) error {
		// A head already at or past its target is left alone.
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_heads (log, seq, hash) VALUES (?, ?, ?)
			ON CONFLICT (log) DO UPDATE SET seq = excluded.seq, hash = excluded.hash WHERE excluded.seq > audit_heads.seq`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, m := range moves {
			if _, err := stmt.ExecContext(ctx, m.Log, m.To.Seq, m.To.Hash); err != nil {
				return err
			}
		}
		return nil
	})
}

// insert writes the entries in one transaction: all of them or none.
func (f *sqliteFile) insert(ctx context.Context, es []AuditEntry) error {
	return f.inTx(ctx, "write audit entries", func(ctx context.Context, tx *sql.Tx) error {
		return insertAuditRows(ctx, tx, tx.StmtContext(ctx, f.insertAuditDoc), tx.StmtContext(ctx, f.insertAudit), es)
	})
}

const insertAuditDocSQL = `INSERT INTO audit_docs (doc) VALUES (?)`

// insertAuditSQL indexes one entry; verb is INSERT, or INSERT OR IGNORE to
// copy entries that may be there already.
func insertAuditSQL(verb string) string {
	return verb + ` INTO audit_index
		(log, seq, at, action, outcome, target_id, actor_user_id, actor_token_id, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
}

// insertAuditRows inserts entries in tx, each its document (docStmt,
// insertAuditDocSQL) and then its row of the index (indexStmt,
// insertAuditSQL). An entry the index has already (INSERT OR IGNORE) keeps
// no second document.
func insertAuditRows(ctx context.Context, tx *sql.Tx, docStmt, indexStmt *sql.Stmt, es []AuditEntry) error {
	defer docStmt.Close()
	defer indexStmt.Close()
	for _, e := range es {
		doc, err := bson.Marshal(e)
		if err != nil {
			return err
		}
		res, err := docStmt.ExecContext(ctx, doc)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		res, err = indexStmt.ExecContext(ctx, e.Log, e.Seq, e.At.UnixMilli(), e.Action, e.Outcome,
			e.TargetID, e.ActorUserID, e.ActorTokenID, id)
		if err != nil {
			if isSQLiteConstraint(err) {
				return ErrConflict
			}
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM audit_docs WHERE id = ?`, id); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *sqliteFile) entry(ctx context.Context, log string, seq int64) (AuditEntry, error) {
	es, err := f.query(ctx, selectAuditDocs+` log = ? AND seq = ?`, log, seq)
	if err != nil {
		return AuditEntry{}, fmt.Errorf("read audit entry: %w", err)
	}
	if len(es) == 0 {
		return AuditEntry{}, ErrNotFound
	}
	return es[0], nil
}

// where is q's filter in SQL, with its arguments.
func (q AuditQuery) where() (string, []any) {
	conds := []string{"log = ?"}
	args := []any{q.Log}
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	for _, f := range []struct{ column, value string }{
		{"action", q.Action}, {"target_id", q.TargetID}, {"actor_user_id", q.ActorID},
		{"actor_token_id", q.TokenID}, {"outcome", q.Outcome},
	} {
		if f.value != "" {
			add(f.column+" = ?", f.value)
		}
	}
	if q.Since != nil {
		add("at >= ?", q.Since.UnixMilli())
	}
	if q.Until != nil {
		add("at <= ?", q.Until.UnixMilli())
	}
	return strings.Join(conds, " AND "), args
}

func (f *sqliteFile) entries(ctx context.Context, q AuditQuery) ([]AuditEntry, int64, error) {
	where, args := q.where()
	var total int64
	if err := f.read.QueryRowContext(ctx, `SELECT count(*) FROM audit_index WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count audit entries: %w", err)
	}
	if q.BeforeSeq > 0 {
		where += " AND seq < ?"
		args = append(args, q.BeforeSeq)
	}
	if q.AfterSeq > 0 {
		where += " AND seq > ?"
		args = append(args, q.AfterSeq)
	}
	order := "DESC"
	if q.Oldest {
		order = "ASC"
	}
	limit := q.Limit
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	out, err := f.query(ctx, selectAuditDocs+` `+where+` ORDER BY seq `+order+` LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("find audit entries: %w", err)
	}
	return out, total, nil
}

func (f *sqliteFile) forEach(ctx context.Context, log string, fn func(AuditEntry) error) error {
	after := int64(-1 << 63)
	for {
		batch, err := f.query(ctx, selectAuditDocs+` log = ? AND seq > ? ORDER BY seq LIMIT ?`, log, after, forEachBatch)
		if err != nil {
			return fmt.Errorf("read audit log: %w", err)
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < forEachBatch {
			return nil
		}
		after = batch[len(batch)-1].Seq
	}
}

// query reads the entries a SELECT of doc returns.
func (f *sqliteFile) query(ctx context.Context, query string, args ...any) ([]AuditEntry, error) {
	var out []AuditEntry
	err := each(ctx, f.read, query, args, func(rows *sql.Rows) error {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return err
		}
		var e AuditEntry
		if err := bson.Unmarshal(doc, &e); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// selectAuditDocs reads entries' documents through the index; a WHERE
// clause on the index's columns follows.
const selectAuditDocs = `SELECT audit_docs.doc FROM audit_index JOIN audit_docs ON audit_docs.id = audit_index.doc WHERE `

// upgradeAuditTable moves the entries of the table earlier versions wrote
// (audit_entries) into audit_docs and audit_index and drops it, in one
// transaction: after a crash it is either still all there, to be moved at
// the next start, or gone. Once, at the first start of this version; every
// later start costs one lookup in SQLite's schema.
func (f *sqliteFile) upgradeAuditTable(ctx context.Context) error {
	return f.inTx(ctx, "move audit entries to their new tables", func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_entries'`).Scan(&n); err != nil || n == 0 {
			return err
		}
		// Each entry's document gets the id after the last one's, numbered in
		// (log, seq) order in both statements.
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM audit_docs`).Scan(&last); err != nil {
			return err
		}
		const number = `? + row_number() OVER (ORDER BY log, seq)`
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_docs (id, doc) SELECT `+number+`, doc FROM audit_entries`, last); err != nil {
			return err
		}
		const columns = `log, seq, at, action, outcome, target_id, actor_user_id, actor_token_id`
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_index (`+columns+`, doc) SELECT `+columns+`, `+number+` FROM audit_entries`, last); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DROP TABLE audit_entries`)
		return err
	})
}

// moveAuditIntoFile copies an audit log that an earlier version kept in the
// embedded database's collections into the storage file (moveIntoFile):
// entries in batches (entries already in the file are skipped), then heads
// merged (never moved back).
func (s *Store) moveAuditIntoFile(ctx context.Context) error {
	const batch = 500
	var es []AuditEntry
	copyBatch := func() error {
		err := s.file.inTx(ctx, "move audit log into the storage file", func(ctx context.Context, tx *sql.Tx) error {
			docStmt, err := tx.PrepareContext(ctx, insertAuditDocSQL)
			if err != nil {
				return err
			}
			stmt, err := tx.PrepareContext(ctx, insertAuditSQL("INSERT OR IGNORE"))
			if err != nil {
				docStmt.Close()
				return err
			}
			return insertAuditRows(ctx, tx, docStmt, stmt, es)
		})
		es = es[:0]
		return err
	}
	err := eachOn(ctx, s.db.Collection(colAudit), bson.M{}, "move audit log into the storage file", func(e AuditEntry) error {
		if es = append(es, e); len(es) == batch {
			return copyBatch()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(es) > 0 {
		if err := copyBatch(); err != nil {
			return err
		}
	}
	var heads []struct {
		Log  string `bson:"_id"`
		Seq  int64  `bson:"seq"`
		Hash string `bson:"hash"`
	}
	if err := s.all(ctx, colAuditHeads, bson.M{}, &heads, "move audit heads into the storage file"); err != nil {
		return err
	}
	if len(heads) > 0 {
		moves := make([]AuditHeadMove, len(heads))
		for i, h := range heads {
			moves[i] = AuditHeadMove{Log: h.Log, To: AuditHead{Seq: h.Seq, Hash: h.Hash}}
		}
		if err := s.file.advanceHeads(ctx, moves); err != nil {
			return err
		}
	}
	return nil
}
