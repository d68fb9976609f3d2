package storage_test

import (
	"context"
	"strings"
	"testing"

	"credkeep/storage/storagetest"
)

// TestEmbeddedIDLookupsUseAnIndex: on the embedded database, FerretDB's _id
// lookups search an index instead of scanning every document (see sqliteid.go).
func TestEmbeddedIDLookupsUseAnIndex(t *testing.T) {
	db := storagetest.Start(t)
	if db.Dir == "" {
		t.Skip("MONGODB_URI is set: not the embedded database")
	}
	s := db.Open(t)
	for _, c := range []string{"credentials", "credential_uses", "api_tokens", "workspaces", "audit_heads", "epochs"} {
		plan, err := s.IDLookupPlan(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "USING INDEX") {
			t.Errorf("%s: _id lookups %q", c, plan)
		}
	}
}
