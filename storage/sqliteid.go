package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"

	"go.mongodb.org/mongo-driver/mongo"
	_ "modernc.org/sqlite" // the driver FerretDB itself uses, for the index below
)

// The embedded FerretDB (v1.24, SQLite backend) looks documents up by _id with
// `WHERE _ferretdb_sjson->'$._id' = ?`, but creates its _id index on the
// expression `_ferretdb_sjson->"_id"`. The two mean the same but are not the
// same expression, so SQLite never uses the index: every _id lookup, update
// and delete scans the table and parses every document's JSON (measured:
// `EXPLAIN QUERY PLAN` says SCAN; a profile under load showed 50-70% of the
// CPU in SQLite's JSON parser). indexIDs adds, at start-up, an index on the
// expression FerretDB queries with, to every collection of credkeep's
// database; the plan becomes SEARCH ... USING INDEX. FerretDB does not know
// about these indexes (it lists only its own), and dropping a collection drops
// them with its table. A real MongoDB needs none of this.

// hotCollections exist from start-up, so that they get the index (FerretDB
// creates a collection's table on its first write).
var hotCollections = []string{
	colUsers, colWorkspaces, colMembers, colCredentials, colUses, colUsages, colAPITokens, colRateLimits,
	colOAuthStates, colLeases, colAudit, colAuditHeads, colEpochs, colRules, colPersisted,
}

func (s *Store) indexIDs(ctx context.Context) error {
	existing, err := s.db.ListCollectionNames(ctx, map[string]any{})
	if err != nil {
		return fmt.Errorf("list collections: %w", err)
	}
	have := map[string]bool{}
	for _, c := range existing {
		have[c] = true
	}
	for _, c := range hotCollections {
		if !have[c] {
			if err := s.db.CreateCollection(ctx, c); err != nil && !isNamespaceExists(err) {
				return fmt.Errorf("create collection %s: %w", c, err)
			}
		}
	}
	file := filepath.Join(s.embedded.dbDir, s.db.Name()+".sqlite")
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

func isNamespaceExists(err error) bool {
	var ce mongo.CommandError
	return errors.As(err, &ce) && (ce.Code == 48 || ce.Name == "NamespaceExists")
}
