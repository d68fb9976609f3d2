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
// a table of entries, each kept as BSON with the fields the log is filtered by
// beside it, and a table of heads. Entries are stored in the order they were
// written and found through an index on (log, seq), so that a page of a log is
// a range read of the index and never decodes another log's entries.
//
// Written in that order, a group-commit round appends its entries, whatever
// their logs, to the table's last page, and only the index's small rows go to
// each log's place. Earlier versions kept the entries in a table ordered by
// (log, seq) itself (audit_entries, WITHOUT ROWID): a round then rewrote the
// page of every log it touched and, rows being large, split them often
// (BenchmarkInsertAuditRound: 55 against 36 µs of CPU an entry; under
// useCredential load about 15 pages written to the write-ahead log a round,
// against 8). upgradeAuditTable moves such a table's entries over.

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
	return f.inTx(ctx, "advance audit heads", func(tx *sql.Tx) error {
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
	return f.inTx(ctx, "write audit entries", func(tx *sql.Tx) error {
		return insertAuditRows(ctx, tx.StmtContext(ctx, f.insertAudit), es)
	})
}

// insertAuditSQL inserts one entry; verb is INSERT, or INSERT OR IGNORE to
// copy entries that may be there already.
func insertAuditSQL(verb string) string {
	return verb + ` INTO audit_log
		(log, seq, at, action, outcome, target_id, actor_user_id, actor_token_id, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
}

// insertAuditRows inserts entries with stmt (insertAuditSQL), one prepared
// row at a time: a statement of many rows cost more (BenchmarkInsertAuditRound:
// 85 against 65 µs of CPU an entry, with the earlier table).
func insertAuditRows(ctx context.Context, stmt *sql.Stmt, es []AuditEntry) error {
	defer stmt.Close()
	for _, e := range es {
		doc, err := bson.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, e.Log, e.Seq, e.At.UnixMilli(), e.Action, e.Outcome,
			e.TargetID, e.ActorUserID, e.ActorTokenID, doc); err != nil {
			if isSQLiteConstraint(err) {
				return ErrConflict
			}
			return err
		}
	}
	return nil
}

func (f *sqliteFile) entry(ctx context.Context, log string, seq int64) (AuditEntry, error) {
	es, err := f.query(ctx, `SELECT doc FROM audit_log WHERE log = ? AND seq = ?`, log, seq)
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
	if err := f.read.QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE `+where, args...).Scan(&total); err != nil {
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
	out, err := f.query(ctx, `SELECT doc FROM audit_log WHERE `+where+` ORDER BY seq `+order+` LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("find audit entries: %w", err)
	}
	return out, total, nil
}

func (f *sqliteFile) forEach(ctx context.Context, log string, fn func(AuditEntry) error) error {
	after := int64(-1 << 63)
	for {
		batch, err := f.query(ctx, `SELECT doc FROM audit_log WHERE log = ? AND seq > ? ORDER BY seq LIMIT ?`, log, after, forEachBatch)
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

// upgradeAuditTable moves the entries of the table earlier versions wrote
// (audit_entries) into audit_log and drops it, in one transaction: after a
// crash it is either still all there, to be moved at the next start, or gone.
// Once, at the first start of this version; every later start costs one
// lookup in SQLite's schema.
func (f *sqliteFile) upgradeAuditTable(ctx context.Context) error {
	return f.inTx(ctx, "move audit entries to their new table", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit_entries'`).Scan(&n); err != nil || n == 0 {
			return err
		}
		const columns = `log, seq, at, action, outcome, target_id, actor_user_id, actor_token_id, doc`
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (`+columns+`) SELECT `+columns+` FROM audit_entries ORDER BY log, seq`); err != nil {
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
		err := s.file.inTx(ctx, "move audit log into the storage file", func(tx *sql.Tx) error {
			stmt, err := tx.PrepareContext(ctx, insertAuditSQL("INSERT OR IGNORE"))
			if err != nil {
				return err
			}
			return insertAuditRows(ctx, stmt, es)
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
