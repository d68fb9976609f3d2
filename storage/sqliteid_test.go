package storage_test

import (
	"context"
	"strings"
	"testing"

	"credkeep/storage/storagetest"
)

// TestEmbeddedIDLookupsUseAnIndex: on the embedded database, FerretDB's _id
// lookups search an index instead of scanning every document (see embedded/sqliteid.go).
func TestEmbeddedIDLookupsUseAnIndex(t *testing.T) {
	db := storagetest.Start(t)
	if db.Dir == "" {
		t.Skip("MONGODB_URI is set: not the embedded database")
	}
	s := db.Open(t)
	for _, c := range []string{"credentials", "credential_usages", "api_tokens", "workspaces", "persisted_queries"} {
		plan, err := s.IDLookupPlan(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "USING INDEX") {
			t.Errorf("%s: _id lookups %q", c, plan)
		}
	}
}

// On the embedded database the indexes that only serve queries are not kept
// (FerretDB scans anyway; they only cost writes), and the unique ones are.
func TestEmbeddedKeepsOnlyConstraintIndexes(t *testing.T) {
	db := storagetest.Start(t)
	if db.Dir == "" {
		t.Skip("MONGODB_URI is set: not the embedded database")
	}
	s := db.Open(t)
	s.Close(context.Background())
	s = db.Open(t) // a second start-up finds nothing to drop
	names := func(coll string) map[string]bool {
		list, err := db.Raw(t).IndexNames(context.Background(), coll)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, n := range list {
			out[n] = true
		}
		return out
	}
	if got := names("members"); got["userId"] || got["workspaceId"] {
		t.Errorf("members indexes %v: want no lookup-only index", got)
	}
	if got := names("credentials"); !got["workspaceId_nameKey"] {
		t.Errorf("credentials indexes %v: want the unique workspaceId_nameKey", got)
	}
	if got := names("api_tokens"); !got["publicId"] || got["userId"] {
		t.Errorf("api_tokens indexes %v: want publicId only", got)
	}
}
