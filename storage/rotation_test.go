package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"credkeep/internal/redact"
	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// rotationFixture is a workspace with credentials (one with OAuth tokens) and
// a pending OAuth authorization, and the values they must keep.
type rotationFixture struct {
	db      *storagetest.DB
	ws      string
	secrets map[string]string // credential id → its apiKey
}

func newRotationFixture(t *testing.T, db *storagetest.DB, s *storage.Store, n int) *rotationFixture {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	f := &rotationFixture{db: db, ws: "ws-rot", secrets: map[string]string{}}
	mustDo(t, s.CreateDataKey(ctx, f.ws))
	mustDo(t, s.InsertWorkspace(ctx, storage.Workspace{ID: f.ws, Name: "rotating", Owners: []string{"u"}, CreatedAt: at}))
	// A workspace whose id begins like this one's: its key is not touched.
	mustDo(t, s.CreateDataKey(ctx, f.ws+"-other"))
	for i := 0; i < n; i++ {
		f.put(t, s, fmt.Sprintf("c%02d", i), fmt.Sprintf("secret-%02d", i))
	}
	mustDo(t, s.SetCredentialOAuthTokens(ctx, f.ws, "c00", storage.OAuthTokens{
		AccessToken: redact.New("access-token-0"), RefreshToken: redact.New("refresh-token-0"), ConnectedBy: "u"}, at))
	mustDo(t, s.InsertOAuthState(ctx, storage.OAuthState{ID: "state-1", CredentialID: "c00", WorkspaceID: f.ws, UserID: "u",
		Verifier: redact.New("pkce-verifier-1"), ExpiresAt: at.Add(time.Hour)}))
	return f
}

func (f *rotationFixture) put(t *testing.T, s *storage.Store, id, secret string) {
	t.Helper()
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	c := storage.Credential{ID: id, WorkspaceID: f.ws, Type: "api_key", Name: id, NameKey: id, Version: 1, CreatedAt: at, UpdatedAt: at}
	mustDo(t, s.InsertCredential(context.Background(), c, map[string]redact.Secret{"apiKey": redact.New(secret)}))
	f.secrets[id] = secret
}

// check reads every value through a new instance, which has no key cached.
func (f *rotationFixture) check(t *testing.T, when string) {
	t.Helper()
	ctx := context.Background()
	r := f.db.Open(t)
	defer r.Close(ctx)
	creds, sealed, err := r.SealedCredentialsOf(ctx, f.ws)
	if err != nil || len(creds) != len(f.secrets) {
		t.Fatalf("%s: %d credentials, %v; want %d", when, len(creds), err, len(f.secrets))
	}
	for i, c := range creds {
		got, err := r.Unseal(ctx, sealed[i])
		if err != nil {
			t.Fatalf("%s: %s does not decrypt: %v", when, c.ID, err)
		}
		if v := got["apiKey"]; v.Reveal() != f.secrets[c.ID] {
			t.Fatalf("%s: %s holds another secret", when, c.ID)
		}
	}
	tok, err := r.CredentialOAuthTokens(ctx, "c00")
	if err != nil || tok.AccessToken.Reveal() != "access-token-0" || tok.RefreshToken.Reveal() != "refresh-token-0" {
		t.Fatalf("%s: oauth tokens not readable: %v", when, err)
	}
}

// TestWorkspaceKeyRotation runs a rotation step by step, as a resumed one
// would after a crash between any two steps: after each, a new instance
// reads every value; at the end the old key is gone and every value (the
// ones written during the rotation too) is under the new one.
func TestWorkspaceKeyRotation(t *testing.T) {
	db, s := storagetest.Store(t)
	ctx := context.Background()
	f := newRotationFixture(t, db, s, 23)
	f.check(t, "before")
	raw := db.Raw(t)

	rot, err := s.BeginKeyRotation(ctx, f.ws, time.Now())
	mustDo(t, err)
	if rot.From != f.ws || rot.To == "" || rot.To == rot.From {
		t.Fatalf("rotation %+v", rot)
	}
	again, err := s.BeginKeyRotation(ctx, f.ws, time.Now())
	if err != nil || again != rot {
		t.Fatalf("beginning again gives %+v, %v; want the rotation in progress %+v", again, err, rot)
	}
	f.check(t, "after begin")

	mustDo(t, s.SwitchDataKey(ctx, f.ws, rot))
	mustDo(t, s.SwitchDataKey(ctx, f.ws, rot)) // a resumed switch creates no second key
	f.check(t, "after switch")
	// Writes during the rotation: a new credential and a changed secret.
	f.put(t, s, "new", "written-during-rotation")
	c, err := s.Credential(ctx, "c01")
	mustDo(t, err)
	_, err = s.UpdateCredential(ctx, c, map[string]redact.Secret{"apiKey": redact.New("changed-during-rotation")}, c.Version)
	mustDo(t, err)
	f.secrets["c01"] = "changed-during-rotation"

	// 23 credentials + the OAuth tokens + the state, less the one rewritten,
	// plus its earlier version.
	n, err := s.ReencryptWorkspace(ctx, f.ws, rot.To, 7)
	if err != nil || n != 23-1+2+1 {
		t.Fatalf("re-encrypted %d, %v; want 25", n, err)
	}
	f.check(t, "after re-encryption")
	if n, err := s.ReencryptWorkspace(ctx, f.ws, rot.To, 7); err != nil || n != 0 {
		t.Fatalf("a second pass re-encrypted %d, %v; want 0", n, err)
	}

	mustDo(t, s.DeleteDataKeyNamed(ctx, rot.From))
	if ok, _ := raw.HasDataKey(ctx, f.ws); ok {
		t.Fatal("the old key is still there")
	}
	if ok, _ := raw.HasDataKey(ctx, f.ws+"-other"); !ok {
		t.Fatal("another workspace's key went too")
	}
	f.check(t, "after the old key was deleted")
	_, sealed, err := db.Open(t).SealedSecretVersion(ctx, "c01", 1)
	mustDo(t, err)
	if old, err := db.Open(t).Unseal(ctx, sealed); err != nil || old["apiKey"].Reveal() != "secret-01" {
		t.Fatalf("the earlier version after the rotation: %v", err)
	}
	st, err := db.Open(t).TakeOAuthState(ctx, "state-1")
	if err != nil || st.Verifier.Reveal() != "pkce-verifier-1" {
		t.Fatalf("pending authorization after the rotation: %v", err)
	}

	if ok, err := s.FinishKeyRotation(ctx, f.ws, rot, time.Now()); err != nil || !ok {
		t.Fatalf("finish: %v %v", ok, err)
	}
	if ok, err := s.FinishKeyRotation(ctx, f.ws, rot, time.Now()); err != nil || ok {
		t.Fatalf("finishing twice: %v %v; want false", ok, err)
	}
	w, err := s.Workspace(ctx, f.ws)
	if err != nil || w.KeyRotation != nil || w.KeyRotatedAt == nil || w.DataKey != rot.To {
		t.Fatalf("workspace after the rotation: %+v %v", w, err)
	}
	if err := s.SwitchDataKey(ctx, f.ws, rot); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("switching to a finished rotation's key: %v, want ErrConflict", err)
	}

	// The next rotation starts from the rotated key; deleting the workspace's
	// keys takes every one of them.
	next, err := s.BeginKeyRotation(ctx, f.ws, time.Now())
	if err != nil || next.From != rot.To {
		t.Fatalf("next rotation %+v %v", next, err)
	}
	mustDo(t, s.SwitchDataKey(ctx, f.ws, next))
	mustDo(t, s.DeleteDataKey(ctx, f.ws))
	for _, k := range []string{rot.To, next.To} {
		if ok, _ := raw.HasDataKey(ctx, k); ok {
			t.Fatalf("key %s survived the workspace's deletion", k)
		}
	}
	if ok, _ := raw.HasDataKey(ctx, f.ws+"-other"); !ok {
		t.Fatal("another workspace's key went with this one's")
	}
}

// TestKeyRotationInterruptedMidPass fails the database half-way through a
// re-encryption pass: every value stays readable and the next pass finishes
// the rest.
func TestKeyRotationInterruptedMidPass(t *testing.T) {
	db, s := storagetest.Store(t)
	faults := db.WithFaults(t)
	rs := faults.Open(t)
	ctx := context.Background()
	f := newRotationFixture(t, db, s, 40)
	rot, err := rs.BeginKeyRotation(ctx, f.ws, time.Now())
	mustDo(t, err)
	mustDo(t, rs.SwitchDataKey(ctx, f.ws, rot))

	// Let two batch writes through, then fail the rest.
	stop := make(chan struct{})
	go func() {
		for faults.Count("update", "credentials") < 2 {
			time.Sleep(time.Millisecond)
		}
		faults.Fail("update", "credentials")
		close(stop)
	}()
	n, err := rs.ReencryptWorkspace(ctx, f.ws, rot.To, 5)
	<-stop
	if err == nil || n == 0 || n >= 41 {
		t.Fatalf("interrupted pass: %d re-encrypted, %v; want some, and an error", n, err)
	}
	f.check(t, "after an interrupted pass")
	faults.Heal()
	left, err := rs.ReencryptWorkspace(ctx, f.ws, rot.To, 5)
	mustDo(t, err)
	if left == 0 || left+n < 42 {
		t.Fatalf("the resumed pass re-encrypted %d after %d", left, n)
	}
	if again, err := rs.ReencryptWorkspace(ctx, f.ws, rot.To, 5); err != nil || again != 0 {
		t.Fatalf("a third pass: %d, %v", again, err)
	}
	mustDo(t, rs.DeleteDataKeyNamed(ctx, rot.From))
	f.check(t, "after the old key was deleted")
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
