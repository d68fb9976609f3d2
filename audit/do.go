package audit

import (
	"context"
	"slices"
	"strconv"

	"credkeep/internal/apierror"
	"credkeep/internal/pagination"
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

// Page is one page of a log, newest first.
type Page struct {
	Entries    []Record
	Cursors    []string
	TotalCount int
	Info       pagination.Info
}

const cursorKind = "audit"

// List returns a page of entries matching q (Log set by the caller, who has
// authorized the read): forward (older) from an after cursor, or backward
// (newer) from a before cursor.
func (l *Log) List(ctx context.Context, query Query, args pagination.Args) (Page, error) {
	r, err := pagination.Parse(args)
	if err != nil {
		return Page{}, err
	}
	q := query.stored()
	if r.After != "" {
		if q.BeforeSeq, err = decodeCursor("after", r.After); err != nil {
			return Page{}, err
		}
	}
	if r.Before != "" {
		if q.AfterSeq, err = decodeCursor("before", r.Before); err != nil {
			return Page{}, err
		}
	}
	q.Limit, q.Oldest = int64(r.Limit+1), r.Backward
	entries, total, err := l.store.AuditEntries(ctx, q)
	if err != nil {
		return Page{}, err
	}
	more := len(entries) > r.Limit
	if more {
		entries = entries[:r.Limit]
	}
	p := Page{TotalCount: int(total)}
	if r.Backward {
		slices.Reverse(entries) // read oldest first; shown newest first
		p.Info = pagination.Info{HasPrevious: more, HasNext: r.Before != ""}
	} else {
		p.Info = pagination.Info{HasPrevious: r.After != "", HasNext: more}
	}
	p.Entries = make([]Record, len(entries))
	for i, e := range entries {
		p.Entries[i] = toRecord(e)
		p.Cursors = append(p.Cursors, pagination.Cursor(cursorKind, strconv.FormatInt(e.Seq, 10)))
	}
	return p, nil
}

func decodeCursor(argument, s string) (int64, error) {
	parts, err := pagination.Decode(argument, cursorKind, s, 1)
	if err != nil {
		return 0, err
	}
	n, perr := strconv.ParseInt(parts[0], 10, 64)
	if perr != nil || n < 1 {
		return 0, apierror.Invalid(argument, "not a cursor from this list")
	}
	return n, nil
}
