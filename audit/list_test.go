package audit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"credkeep/internal/pagination"
	"credkeep/storage/storagetest"
)

func seqsOf(p Page) string {
	s := ""
	for _, e := range p.Entries {
		s += fmt.Sprint(e.Seq, " ")
	}
	return s
}

// A log pages both ways, newest first, with cursors of its own kind only.
func TestListBothDirections(t *testing.T) {
	_, s := storagetest.Store(t)
	l := NewLog(s, time.Now, nil)
	ctx := context.Background()
	for i := 0; i < 7; i++ {
		if err := l.Record(ctx, Entry{WorkspaceID: "ws-page", Action: CredentialUsed, Outcome: Success}); err != nil {
			t.Fatal(err)
		}
	}
	q := Query{Log: "ws-page"}
	three := 3
	first, err := l.List(ctx, q, pagination.Args{First: &three})
	if err != nil || seqsOf(first) != "7 6 5 " || !first.Info.HasNext || first.Info.HasPrevious || first.TotalCount != 7 {
		t.Fatalf("first page: %q %+v %v", seqsOf(first), first.Info, err)
	}
	next, err := l.List(ctx, q, pagination.Args{First: &three, After: &first.Cursors[2]})
	if err != nil || seqsOf(next) != "4 3 2 " || !next.Info.HasNext || !next.Info.HasPrevious {
		t.Fatalf("second page: %q %+v %v", seqsOf(next), next.Info, err)
	}
	last, err := l.List(ctx, q, pagination.Args{Last: &three})
	if err != nil || seqsOf(last) != "3 2 1 " || last.Info.HasNext || !last.Info.HasPrevious {
		t.Fatalf("last page: %q %+v %v", seqsOf(last), last.Info, err)
	}
	back, err := l.List(ctx, q, pagination.Args{Last: &three, Before: &last.Cursors[0]})
	if err != nil || seqsOf(back) != "6 5 4 " || !back.Info.HasNext || !back.Info.HasPrevious {
		t.Fatalf("page before the last: %q %+v %v", seqsOf(back), back.Info, err)
	}
	between, err := l.List(ctx, q, pagination.Args{After: &first.Cursors[0], Before: &last.Cursors[1]})
	if err != nil || seqsOf(between) != "6 5 4 3 " {
		t.Fatalf("between 7 and 2: %q %v", seqsOf(between), err)
	}
	foreign := pagination.Cursor("credential", "a", "b")
	if _, err := l.List(ctx, q, pagination.Args{After: &foreign}); err == nil {
		t.Fatal("a credential cursor was accepted by the audit log")
	}
}
