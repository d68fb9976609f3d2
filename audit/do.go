package audit

import (
	"context"
	"encoding/base64"
	"strconv"

	"credkeep/internal/apierror"
	"credkeep/storage"
)

// Do records e and then makes the change it describes. The entry comes first,
// so no change is ever made that is not on record: if the entry cannot be
// written, nothing is changed. If the change then fails, a FAILURE entry for
// the same action and target follows the first (best effort: the failure may
// be the database's).
func Do(ctx context.Context, rec Recorder, e Entry, change func() error) error {
	if err := rec.Record(ctx, e); err != nil {
		return err
	}
	if err := change(); err != nil {
		failed := e
		failed.Outcome = Failure
		_ = rec.Record(ctx, failed)
		return err
	}
	return nil
}

// Page sizes, as for every list.
const (
	minPage = 1
	maxPage = 200
)

// Page is one page of a log, newest first.
type Page struct {
	Entries     []storage.AuditEntry
	Cursors     []string
	TotalCount  int
	HasNextPage bool
}

// List returns a page of entries matching q (Log set by the caller, who has
// authorized the read), after the cursor.
func (l *Log) List(ctx context.Context, q storage.AuditQuery, first int, after *string) (Page, error) {
	if first < minPage || first > maxPage {
		return Page{}, apierror.Invalid("first", "first must be between %d and %d", minPage, maxPage)
	}
	if after != nil && *after != "" {
		seq, ok := decodeCursor(*after)
		if !ok {
			return Page{}, apierror.Invalid("after", "not a cursor from this list")
		}
		q.BeforeSeq = seq
	}
	q.Limit = int64(first + 1)
	entries, total, err := l.store.AuditEntries(ctx, q)
	if err != nil {
		return Page{}, err
	}
	p := Page{TotalCount: int(total)}
	if len(entries) > first {
		entries, p.HasNextPage = entries[:first], true
	}
	p.Entries = entries
	for _, e := range entries {
		p.Cursors = append(p.Cursors, encodeCursor(e.Seq))
	}
	return p, nil
}

func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("seq:" + strconv.FormatInt(seq, 10)))
}

func decodeCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 5 || string(b[:4]) != "seq:" {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b[4:]), 10, 64)
	return n, err == nil && n > 0
}
