package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
)

// rateCountsKept is how long the storage file keeps a token's count of a
// past window: longer than any window, so a count is never dropped while its
// window runs.
const rateCountsKept = 24 * time.Hour

// addRequests is AddRequests on the storage file: one upsert that returns the
// window's new total. A token's first request in a window also drops its
// counts of windows long past (the collection keeps them: nothing reads them).
func (f *sqliteFile) addRequests(ctx context.Context, tokenHash string, windowStart time.Time, n int) (int, error) {
	var total int
	err := f.inTx(ctx, "count requests", func(ctx context.Context, tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO rate_counts (token, window_start, count) VALUES (?, ?, ?)
			ON CONFLICT (token, window_start) DO UPDATE SET count = count + excluded.count RETURNING count`,
			tokenHash, windowStart.Unix(), n).Scan(&total)
		if err != nil || total != n {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM rate_counts WHERE token = ? AND window_start < ?`,
			tokenHash, windowStart.Add(-rateCountsKept).Unix())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("count requests: %w", err)
	}
	return total, nil
}

// moveRateCountsIntoFile copies the counts of recent windows an earlier
// version kept in the embedded database into the storage file
// (moveIntoFile), so that a restart does not reset a token's limit; a count
// already there was copied by a move cut short, and is skipped.
func (s *Store) moveRateCountsIntoFile(ctx context.Context) error {
	var docs []struct {
		ID          string    `bson:"_id"`
		Count       int       `bson:"count"`
		WindowStart time.Time `bson:"windowStart"`
	}
	recent := bson.M{"windowStart": bson.M{"$gte": time.Now().Add(-rateCountsKept)}}
	if err := s.all(ctx, colRateLimits, recent, &docs, "move rate-limit counts into the storage file"); err != nil {
		return err
	}
	return s.file.inTx(ctx, "move rate-limit counts into the storage file", func(ctx context.Context, tx *sql.Tx) error {
		for _, d := range docs {
			token, _, ok := strings.Cut(d.ID, ":")
			if !ok {
				continue // not a count this version wrote
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO rate_counts (token, window_start, count) VALUES (?, ?, ?)`,
				token, d.WindowStart.Unix(), d.Count); err != nil {
				return err
			}
		}
		return nil
	})
}
