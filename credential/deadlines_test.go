package credential_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"credkeep/authn"
	"credkeep/credential"
	"credkeep/internal/redact"
	"credkeep/storage"
)

// TestDeadlinesComeFromTheCachedLists: on the embedded database the deadline
// scheduler's read of the credentials with an expiry or a rotation period is
// served by the cached lists once they are read (before, by the store's
// query): the credentials that query finds, less those of a workspace being
// deleted; no read of the credentials from the lists; a change made through
// the service seen by the next read.
func TestDeadlinesComeFromTheCachedLists(t *testing.T) {
	f := newFaulty(t)
	svc, raw, faults := f.svc, f.raw, f.faults
	ctx := authn.WithPrincipal(context.Background(), &authn.Principal{UserID: "alice"})
	inTenDays := time.Now().Add(10 * 24 * time.Hour).Truncate(time.Millisecond)
	month := 30
	create := func(name string, expires *time.Time, period *int) string {
		t.Helper()
		v, err := svc.Create(ctx, credential.CreateInput{WorkspaceID: "ws", Type: "api_key", Name: name, ExpiresAt: expires, RotationPeriodDays: period,
			Fields: []credential.FieldInput{{Key: "apiKey", Value: redact.New("key-of-" + name + "-0123456789")}}})
		if err != nil {
			t.Fatal(err)
		}
		return v.Credential.ID
	}
	expiring := create("expiring", &inTenDays, nil)
	rotated := create("rotated", nil, &month)
	plain := create("plain", nil, nil)

	// A workspace being deleted, with a credential that expires.
	now := time.Now()
	if err := raw.CreateDataKey(ctx, "going"); err != nil {
		t.Fatal(err)
	}
	if err := raw.InsertWorkspace(ctx, storage.Workspace{ID: "going", Name: "going", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := raw.InsertCredential(ctx, storage.Credential{ID: "of-going", WorkspaceID: "going", Name: "x", NameKey: "x", Type: "api_key",
		Fields: map[string]string{}, Version: 1, ExpiresAt: &inTenDays, CreatedAt: now, UpdatedAt: now}, nil); err != nil {
		t.Fatal(err)
	}
	if err := raw.MarkWorkspaceDeleting(ctx, "going", now); err != nil {
		t.Fatal(err)
	}

	deadlines := func(step string, want ...string) {
		t.Helper()
		got, err := svc.CredentialsWithDeadlines(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		var ids []string
		for _, c := range got {
			ids = append(ids, fmt.Sprintf("%s %v %d", c.ID, c.ExpiresAt != nil, c.RotationPeriodDays))
		}
		slices.Sort(ids)
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("%s: %v, want %v", step, ids, want)
		}
	}
	queried, err := raw.CredentialsWithDeadlines(ctx)
	if err != nil || len(queried) != 3 {
		t.Fatalf("the store's query found %d (%v), want 3 (two in ws, one in the workspace being deleted)", len(queried), err)
	}
	deadlines("before any list was read (the store's query)", expiring+" true 0", rotated+" false 30")
	listNames(t, ctx, svc)
	reads := faults.Count("find", "credentials")
	deadlines("with the list cached", expiring+" true 0", rotated+" false 30")
	if n := faults.Count("find", "credentials") - reads; n != 0 {
		t.Fatalf("a read with the lists cached read the credentials %d times, want 0", n)
	}

	week := 7
	if _, err := svc.Update(ctx, credential.UpdateInput{ID: plain, RotationPeriodDays: &week, RotationPeriodDaysGiven: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, credential.UpdateInput{ID: expiring, ExpiresAtGiven: true}); err != nil {
		t.Fatal(err)
	}
	deadlines("after two updates", rotated+" false 30", plain+" false 7")
}
