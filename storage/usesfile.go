package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
)

// The use counters on the embedded database, in the storage file
// (sqlitefile.go): a row per workspace holding its counts in usesblob.go's
// layout, and a row per workspace and instance holding the instance's last
// batch. A rewrite is one write transaction: the file's one writer makes its
// read and its write one step, as the document's lock does on FerretDB.

func (f *sqliteFile) rewrite(ctx context.Context, workspaceID string, change func(d *usesDoc, all map[string]Uses) bool) error {
	return f.inTx(ctx, "write use counts", func(ctx context.Context, tx *sql.Tx) error {
		d := usesDoc{ID: workspaceID, F: map[string]int64{}}
		err := tx.QueryRowContext(ctx, `SELECT counts FROM use_counts WHERE workspace = ?`, workspaceID).Scan(&d.B)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		err = each(ctx, tx, `SELECT instance, batch FROM use_batches WHERE workspace = ?`, []any{workspaceID}, func(rows *sql.Rows) error {
			var instance string
			var batch int64
			if err := rows.Scan(&instance, &batch); err != nil {
				return err
			}
			d.F[instance] = batch
			return nil
		})
		if err != nil {
			return err
		}
		was := maps.Clone(d.F)
		all, err := d.counts()
		if err != nil {
			return err
		}
		if !change(&d, all) {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO use_counts (workspace, counts) VALUES (?, ?)
			ON CONFLICT (workspace) DO UPDATE SET counts = excluded.counts`, workspaceID, encodeUses(all)); err != nil {
			return err
		}
		for instance, batch := range d.F {
			if b, ok := was[instance]; ok && b == batch {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO use_batches (workspace, instance, batch) VALUES (?, ?, ?)
				ON CONFLICT (workspace, instance) DO UPDATE SET batch = excluded.batch`, workspaceID, instance, batch); err != nil {
				return err
			}
		}
		return nil
	})
}

func (f *sqliteFile) stored(ctx context.Context, workspaceIDs []string, instance string) ([]usesDoc, error) {
	var out []usesDoc
	for ids := range slices.Chunk(workspaceIDs, sqlInMax) {
		docs, err := f.storedOf(ctx, ids, instance)
		if err != nil {
			return nil, fmt.Errorf("read use counters: %w", err)
		}
		out = append(out, docs...)
	}
	return out, nil
}

// storedOf reads counts and markers in one statement: one snapshot of the
// file, so a batch is never in the marker and not yet in the counts.
func (f *sqliteFile) storedOf(ctx context.Context, workspaceIDs []string, instance string) ([]usesDoc, error) {
	in, args := sqlIn(workspaceIDs)
	var docs []usesDoc
	err := each(ctx, f.read, `SELECT c.workspace, c.counts, coalesce(b.batch, 0) FROM use_counts c
		LEFT JOIN use_batches b ON b.workspace = c.workspace AND b.instance = ?
		WHERE c.workspace IN `+in, append([]any{instance}, args...), func(rows *sql.Rows) error {
		d := usesDoc{F: map[string]int64{}}
		var batch int64
		if err := rows.Scan(&d.ID, &d.B, &batch); err != nil {
			return err
		}
		d.F[instance] = batch
		docs = append(docs, d)
		return nil
	})
	return docs, err
}

func (f *sqliteFile) forgetInstance(ctx context.Context, workspaceIDs []string, instance string) error {
	for ids := range slices.Chunk(workspaceIDs, sqlInMax) {
		in, args := sqlIn(ids)
		if _, err := f.write.ExecContext(ctx, `DELETE FROM use_batches WHERE instance = ? AND workspace IN `+in, append([]any{instance}, args...)...); err != nil {
			return fmt.Errorf("forget use-count batches: %w", err)
		}
	}
	return nil
}

func (f *sqliteFile) drop(ctx context.Context, workspaceID string) error {
	return f.inTx(ctx, "delete use counters", func(ctx context.Context, tx *sql.Tx) error {
		for _, table := range []string{"use_counts", "use_batches"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE workspace = ?`, workspaceID); err != nil {
				return err
			}
		}
		return nil
	})
}

// each calls fn for every row of a read, on q: the file's readers, or a
// write transaction that reads what it is about to change.
func each(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args []any, fn func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// sqlInMax bounds the values of one sqlIn, well below SQLite's limit of
// variables in a statement.
const sqlInMax = 500

// sqlIn is "(?, ?, …)" for values, with them as arguments.
func sqlIn(values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ") + ")", args
}

// moveUsesIntoFile copies the counters documents an earlier version kept in
// the embedded database into the storage file (moveIntoFile); a workspace
// already there was copied by a move cut short, and is skipped. The batch
// markers stay behind: they were an earlier process's instances'.
func (s *Store) moveUsesIntoFile(ctx context.Context) error {
	var docs []usesDoc
	if err := s.all(ctx, colUses, bson.M{}, &docs, "move use counters into the storage file"); err != nil {
		return err
	}
	return s.file.inTx(ctx, "move use counters into the storage file", func(ctx context.Context, tx *sql.Tx) error {
		for _, d := range docs {
			counts, err := d.counts()
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO use_counts (workspace, counts) VALUES (?, ?)`,
				d.ID, encodeUses(counts)); err != nil {
				return err
			}
		}
		return nil
	})
}
