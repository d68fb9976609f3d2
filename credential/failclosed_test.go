package credential_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"credkeep/audit"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/coherence"
	"credkeep/credential"
	"credkeep/internal/redact"
	"credkeep/storage"
	"credkeep/storage/storagetest"
	"credkeep/usecount"
	"credkeep/workspace"
)

// downJournal is an audit log whose writes fail.
type downJournal struct{ audit.Journal }

func (downJournal) Record(context.Context, audit.Entry) error { return errors.New("audit store down") }
func (downJournal) Denied(context.Context, audit.Entry)       {}

// TestNoChangeWithoutAnAuditEntry: when the audit entry cannot be written, the
// operation fails and the database holds nothing of it.
func TestNoChangeWithoutAnAuditEntry(t *testing.T) {
	_, raw := storagetest.Store(t)
	store := coherence.Wrap(raw, time.Now, slog.New(slog.DiscardHandler))
	ctx := context.Background()
	a, err := authz.NewAuthorizer(store.Rules(), store)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := store.CreateDataKey(ctx, "ws"); err != nil {
		t.Fatal(err)
	}
	if err := store.InsertWorkspace(ctx, storage.Workspace{ID: "ws", Name: "ws", Owners: []string{"alice"}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := store.InsertMember(ctx, storage.Member{WorkspaceID: "ws", UserID: "alice", Role: "OWNER", AddedAt: now}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	svc := credential.NewService(store, usecount.New(raw, log), workspace.New(store, a, downJournal{}, time.Now, log), a, downJournal{}, nil, time.Now, log)
	ctx = authn.WithPrincipal(ctx, &authn.Principal{UserID: "alice"})
	_, err = svc.Create(ctx, credential.CreateInput{WorkspaceID: "ws", Type: "api_key", Name: "k",
		Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("abcdefghijklmnop")}}})
	if err == nil {
		t.Fatal("create succeeded without an audit entry")
	}
	creds, _, err := store.SealedCredentialsOf(ctx, "ws")
	if err != nil || len(creds) != 0 {
		t.Fatalf("credential stored without an audit entry: %v %v", creds, err)
	}
	shared, err := a.Shared(ctx, "ws")
	if err != nil || len(shared) != 0 {
		t.Fatalf("rules written without an audit entry: %v %v", shared, err)
	}
}
