package embedded

import (
	"context"
	"database/sql"
	"fmt"
	_ "modernc.org/sqlite" // the driver FerretDB itself uses, for the index below
	"net/url"
)

// The embedded FerretDB (v1.24, SQLite backend) looks documents up by _id with
// `WHERE _ferretdb_sjson->'$._id' = ?`, but creates its _id index on the
// expression `_ferretdb_sjson->"_id"`. The two mean the same but are not the
// same expression, so SQLite never uses the index: every _id lookup, update
// and delete scans the table and parses every document's JSON (measured:
// `EXPLAIN QUERY PLAN` says SCAN; a profile under load showed 50-70% of the
// CPU in SQLite's JSON parser). IndexIDs adds, at start-up, an index on the
// expression FerretDB queries with, to every collection of credkeep's
// database; the plan becomes SEARCH ... USING INDEX. FerretDB does not know
// about these indexes (it lists only its own), and dropping a collection drops
// them with its table. A real MongoDB needs none of this.

// IndexIDs adds the index to every table of database dbName. A collection gets
// it only if it exists: FerretDB creates a collection's table on its first
// write, so storage creates its collections first.
func (e *Server) IndexIDs(ctx context.Context, dbName string) error {
	file := e.File(dbName)
	conn, err := sql.Open("sqlite", "file:"+file+"?"+url.Values{"_pragma": {"busy_timeout(10000)"}}.Encode())
	if err != nil {
		return fmt.Errorf("open embedded database file: %w", err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, `SELECT table_name FROM _ferretdb_collections`)
	if err != nil {
		return fmt.Errorf("list embedded tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("list embedded tables: %w", err)
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list embedded tables: %w", err)
	}
	for _, t := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, t+"_credkeep_id", t)
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("index %s by _id: %w", t, err)
		}
	}
	return nil
}
