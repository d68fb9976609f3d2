package credential_test

import (
	"context"
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

// faulty is a credential service on a database behind a fault proxy, with a
// workspace "ws" owned by alice.
type faulty struct {
	svc    *credential.Service
	store  *coherence.Store // the service's
	raw    *storage.Store
	authz  *authz.Authorizer
	faults *storagetest.Faults
}

func newFaulty(t *testing.T) faulty {
	t.Helper()
	faults := storagetest.Start(t).WithFaults(t)
	f := newCredentialService(t, faults.Open(t))
	f.faults = faults
	return f
}

// newCredentialService is a credential service on raw, with a workspace "ws"
// owned by alice.
func newCredentialService(t *testing.T, raw *storage.Store) faulty {
	t.Helper()
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
	return faulty{svc: serviceOn(store, raw, a), store: store, raw: raw, authz: a}
}

// serviceOn is a credential service on store (raw wrapped), as a process
// starting on existing data makes it: its caches empty.
func serviceOn(store *coherence.Store, raw *storage.Store, a *authz.Authorizer) *credential.Service {
	log := slog.New(slog.DiscardHandler)
	journal := audit.NewLog(store, time.Now, func(context.Context, string, error) {})
	return credential.NewService(store, usecount.New(raw, log), workspace.New(store, a, journal, time.Now, log), a, journal, nil, time.Now, log)
}

// TestNoChangeWhenTheAuditFileRefuses: on the embedded database the audit log
// is a SQLite file of its own (storage/auditfile.go); when it refuses an entry,
// the operation fails and leaves nothing, as when the database refuses it.
func TestNoChangeWhenTheAuditFileRefuses(t *testing.T) {
	db := storagetest.Start(t)
	if db.Embedded == nil {
		t.Skip("MONGODB_URI is set: there is no audit file")
	}
	f := newCredentialService(t, db.Open(t))
	ctx := authn.WithPrincipal(context.Background(), &authn.Principal{UserID: "alice"})
	heal, err := db.Raw(t).FailFileWrites(ctx, "audit_index")
	if err != nil {
		t.Fatal(err)
	}
	input := credential.CreateInput{WorkspaceID: "ws", Type: "api_key", Name: "k",
		Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("abcdefghijklmnop")}}}
	if _, err := f.svc.Create(ctx, input); err == nil {
		t.Fatal("create succeeded without an audit entry")
	}
	if creds, _, err := f.raw.SealedCredentialsOf(ctx, "ws"); err != nil || len(creds) != 0 {
		t.Fatalf("credential stored without an audit entry: %v %v", creds, err)
	}
	if err := heal(); err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.Create(ctx, input)
	if err != nil {
		t.Fatalf("create after the audit file took entries again: %v", err)
	}
	entries, total, err := f.raw.AuditEntries(ctx, storage.AuditQuery{Log: "ws", TargetID: v.Credential.ID})
	if err != nil || total != 1 || len(entries) != 1 || entries[0].Action != "CREDENTIAL_CREATED" {
		t.Fatalf("audit entries of the created credential: %+v (total %d) %v", entries, total, err)
	}
}

// TestNoChangeWithoutAnAuditEntry: when the database refuses the audit entry,
// the operation fails and the database holds nothing of it.
func TestNoChangeWithoutAnAuditEntry(t *testing.T) {
	f := newFaulty(t)
	svc, raw, a, faults := f.svc, f.raw, f.authz, f.faults
	store := raw
	ctx := context.Background()
	var err error
	faults.Fail("insert", "audit")
	ctx = authn.WithPrincipal(ctx, &authn.Principal{UserID: "alice"})
	_, err = svc.Create(ctx, credential.CreateInput{WorkspaceID: "ws", Type: "api_key", Name: "k",
		Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("abcdefghijklmnop")}}})
	if err == nil {
		t.Fatal("create succeeded without an audit entry")
	}
	if n := faults.Count("insert", "audit"); n == 0 {
		t.Fatal("the audit entry was never attempted: the test proves nothing")
	}
	faults.Heal()
	creds, _, err := store.SealedCredentialsOf(ctx, "ws")
	if err != nil || len(creds) != 0 {
		t.Fatalf("credential stored without an audit entry: %v %v", creds, err)
	}
	shared, err := a.Shared(ctx, "ws")
	if err != nil || len(shared) != 0 {
		t.Fatalf("rules written without an audit entry: %v %v", shared, err)
	}

	// With a credential in place: neither an update nor a delete happens
	// without its entry.
	v, err := svc.Create(ctx, credential.CreateInput{WorkspaceID: "ws", Type: "api_key", Name: "k",
		Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("abcdefghijklmnop")}}})
	if err != nil {
		t.Fatal(err)
	}
	id := v.Credential.ID
	faults.Fail("insert", "audit")
	name := "renamed"
	if _, err := svc.Update(ctx, credential.UpdateInput{ID: id, Name: &name, FieldsGiven: true,
		Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("qrstuvwxyz123456")}}}); err == nil {
		t.Error("update succeeded without an audit entry")
	}
	if err := svc.Delete(ctx, id, true); err == nil {
		t.Error("delete succeeded without an audit entry")
	}
	faults.Heal()
	c, sealed, err := raw.SealedCredential(ctx, id)
	if err != nil {
		t.Fatalf("credential gone after a refused delete: %v", err)
	}
	if c.Name != "k" || c.Version != 1 {
		t.Errorf("after a refused update: name %q version %d, want k and 1", c.Name, c.Version)
	}
	secrets, err := raw.Unseal(ctx, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if got := secrets["apiKey"]; got.Reveal() != "abcdefghijklmnop" {
		t.Error("the secret changed although the update was refused")
	}
}

// TestCreateWithALostAcknowledgementLeavesNothing: the database applies the
// insert but its reply is lost (it went away mid-reply). The caller is told
// the credential was not created, so it must not appear: the server takes it
// back, with its owner rule.
func TestCreateWithALostAcknowledgementLeavesNothing(t *testing.T) {
	f := newFaulty(t)
	ctx := authn.WithPrincipal(context.Background(), &authn.Principal{UserID: "alice"})
	f.faults.LoseReply("insert", "credentials")
	_, err := f.svc.Create(ctx, credential.CreateInput{WorkspaceID: "ws", Type: "api_key", Name: "k",
		Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("abcdefghijklmnop")}}})
	if err == nil {
		t.Fatal("create succeeded although its acknowledgement was lost")
	}
	if f.faults.Count("insert", "credentials") != 1 {
		t.Fatalf("the insert ran %d times, want once", f.faults.Count("insert", "credentials"))
	}
	f.faults.Heal()
	deadline := time.Now().Add(10 * time.Second)
	for {
		creds, _, err := f.raw.SealedCredentialsOf(ctx, "ws")
		if err != nil {
			t.Fatal(err)
		}
		shared, err := f.authz.Shared(ctx, "ws")
		if err != nil {
			t.Fatal(err)
		}
		if len(creds) == 0 && len(shared) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after a create the caller was told failed: %d credentials, rules for %v", len(creds), shared)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
