package storage_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"credkeep/apitoken"
	"credkeep/audit"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/coherence"
	"credkeep/connection"
	"credkeep/credential"
	"credkeep/internal/persisted"
	"credkeep/internal/ratelimit"
	"credkeep/storage/storagetest"
	"credkeep/usecount"
	"credkeep/workspace"
)

// The store as production wires it satisfies every domain package's interface
// (a raw storage.Store does not satisfy those that need versions).
var (
	_ usecount.Store     = (*coherence.Store)(nil)
	_ apitoken.Store     = (*coherence.Store)(nil)
	_ ratelimit.Store    = (*coherence.Store)(nil)
	_ persisted.Store    = (*coherence.Store)(nil)
	_ audit.Store        = (*coherence.Store)(nil)
	_ workspace.Store    = (*coherence.Store)(nil)
	_ credential.Store   = (*coherence.Store)(nil)
	_ connection.Store   = (*coherence.Store)(nil)
	_ authz.PolicyStore  = (*coherence.Store)(nil)
	_ authn.UserRecorder = (*coherence.Store)(nil)
	_ authn.TokenStore   = (*coherence.Store)(nil)
)

// TestContracts runs every contract suite on a fresh database: the embedded
// one, or MongoDB when MONGODB_URI is set.
func TestContracts(t *testing.T) {
	for name, suite := range storagetest.Contracts {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, s := storagetest.Store(t)
			suite(t, coherence.Wrap(s, time.Now, slog.New(slog.DiscardHandler)))
		})
	}
}

// TestAuditContractOnCollections: a Store that reaches FerretDB by URI (here
// through the fault proxy) keeps the audit log in collections, not in the
// embedded database's audit file; that path keeps the same contract.
func TestAuditContractOnCollections(t *testing.T) {
	db := storagetest.Start(t)
	if db.Embedded == nil {
		t.Skip("MONGODB_URI is set: TestContracts runs this contract on the collections")
	}
	s := db.WithFaults(t).Open(t)
	storagetest.AuditStore(t, coherence.Wrap(s, time.Now, slog.New(slog.DiscardHandler)))
	if n, err := db.Raw(t).CountDocuments(context.Background(), "audit"); err != nil || n != 7 {
		t.Errorf("audit collection holds %d entries (%v), want the contract's 7", n, err)
	}
}

// TestUseAndRateContractsOnCollections: a Store that reaches FerretDB by URI
// keeps its use counters and rate-limit counts in collections, not in the
// embedded database's storage file; that path keeps the same contracts.
func TestUseAndRateContractsOnCollections(t *testing.T) {
	db := storagetest.Start(t)
	if db.Embedded == nil {
		t.Skip("MONGODB_URI is set: TestContracts runs these contracts on the collections")
	}
	s := coherence.Wrap(db.WithFaults(t).Open(t), time.Now, slog.New(slog.DiscardHandler))
	storagetest.UseCountStore(t, s)
	storagetest.RateLimitStore(t, s)
	for c, want := range map[string]int64{"credential_uses": 1, "rate_limits": 3} {
		if n, err := db.Raw(t).CountDocuments(context.Background(), c); err != nil || n != want {
			t.Errorf("collection %s holds %d documents (%v), want the contracts' %d", c, n, err, want)
		}
	}
}
