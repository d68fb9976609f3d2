package coherence_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"credkeep/coherence"
	"credkeep/internal/redact"
	"credkeep/storage"
	"credkeep/storage/storagetest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// two instances on one database, with one clock.
func instances(t *testing.T) (a, b *coherence.Store, raw *storage.Store, c *clock) {
	t.Helper()
	db := storagetest.Start(t)
	c = &clock{t: time.Now()}
	log := slog.New(slog.DiscardHandler)
	raw = db.Open(t)
	return coherence.Wrap(raw, c.Now, log), coherence.Wrap(db.Open(t), c.Now, log), raw, c
}

// createWorkspace stores a workspace and its data key through raw storage.
func createWorkspace(t *testing.T, raw *storage.Store, id, name string) {
	t.Helper()
	ctx := context.Background()
	if err := raw.CreateDataKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := raw.InsertWorkspace(ctx, storage.Workspace{ID: id, Name: name, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// TestRevokedTokenIsRefusedOnTheOtherInstance: a token cached by one instance
// is refused there on the very next look-up after the other revoked it.
func TestRevokedTokenIsRefusedOnTheOtherInstance(t *testing.T) {
	a, b, _, _ := instances(t)
	ctx := context.Background()
	tok := storage.APIToken{Hash: "h1", ID: "t1", UserID: "alice", Name: "bot", Prefix: "ck_", CreatedAt: time.Now()}
	if err := a.InsertAPIToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got, err := b.APITokenByHash(ctx, "h1"); err != nil || got.ID != "t1" {
		t.Fatalf("before revocation: %+v, %v", got, err)
	}
	if _, err := a.DeleteAPIToken(ctx, "alice", "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.APITokenByHash(ctx, "h1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after revocation on the other instance: %v, want ErrNotFound", err)
	}
}

// TestCredentialWriteMovesTheDataVersion: a write through one instance moves
// the version the other's caches check; a raw storage write does not, and only
// the age limit (on the injected clock) bounds what a stale cache serves.
func TestCredentialWriteMovesTheDataVersion(t *testing.T) {
	a, b, raw, clk := instances(t)
	ctx := context.Background()
	createWorkspace(t, raw, "ws", "one")
	before, err := b.WorkspaceState(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	c := storage.Credential{ID: "c1", WorkspaceID: "ws", Type: "api_key", Name: "k", NameKey: "k", Version: 1, CreatedAt: time.Now()}
	if err := a.InsertCredential(ctx, c, map[string]redact.Secret{"apiKey": redact.New("s3cret-value")}); err != nil {
		t.Fatal(err)
	}
	after, err := b.WorkspaceState(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	if after.DataVersion != before.DataVersion+1 {
		t.Fatalf("data version %d after a write, was %d", after.DataVersion, before.DataVersion)
	}

	// A rename through the raw store moves nothing: b keeps serving its copy
	// until the copy's age passes CacheMaxAge on b's clock.
	if _, err := b.WorkspacesByID(ctx, []string{"ws"}); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.RenameWorkspace(ctx, "ws", "two", time.Now()); err != nil {
		t.Fatal(err)
	}
	if ws, _ := b.WorkspacesByID(ctx, []string{"ws"}); len(ws) != 1 || ws[0].Name != "one" {
		t.Fatalf("cached workspace %+v, want the copy named one", ws)
	}
	clk.Advance(coherence.CacheMaxAge)
	if ws, _ := b.WorkspacesByID(ctx, []string{"ws"}); len(ws) != 1 || ws[0].Name != "two" {
		t.Fatalf("workspace after the age limit %+v, want two", ws)
	}
	// Through the wrapper, the other instance sees a rename at once.
	if _, err := a.RenameWorkspace(ctx, "ws", "three", time.Now()); err != nil {
		t.Fatal(err)
	}
	if ws, _ := b.WorkspacesByID(ctx, []string{"ws"}); len(ws) != 1 || ws[0].Name != "three" {
		t.Fatalf("workspace after a rename on the other instance %+v, want three", ws)
	}
}

// TestKnownStateNeedsNoSharedRead: where the epochs are in memory (the
// embedded database), a state known at the current epoch and the epochs for a
// token check are answered without a shared round; a state not known yet, or
// one an epoch move made stale, is read in one. On a database at a URI every
// check is a round (the epochs are a document there).
func TestKnownStateNeedsNoSharedRead(t *testing.T) {
	a, _, raw, _ := instances(t)
	ctx := context.Background()
	createWorkspace(t, raw, "ws", "one")
	rounds := coherence.CountSharedReads(a)
	inMemory := raw.EpochsInMemory()
	want := func(step string, inMemoryRounds, uriRounds int64) {
		t.Helper()
		w := uriRounds
		if inMemory {
			w = inMemoryRounds
		}
		if got := rounds.Load(); got != w {
			t.Fatalf("%s: %d shared rounds, want %d (epochs in memory: %v)", step, got, w, inMemory)
		}
	}
	state := func() coherence.WorkspaceState {
		t.Helper()
		st, err := a.WorkspaceState(ctx, "ws")
		if err != nil || !st.Live {
			t.Fatalf("state %+v, %v", st, err)
		}
		return st
	}

	first := state()
	want("first read of the state", 1, 1)
	if again := state(); again != first {
		t.Fatalf("known state %+v, want %+v", again, first)
	}
	want("the known state again", 1, 2)
	if _, err := a.APITokenByHash(ctx, "no-such-hash"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	want("a token check", 1, 3)
	if ws, err := a.WorkspacesByID(ctx, []string{"ws"}); err != nil || len(ws) != 1 || ws[0].Name != "one" {
		t.Fatalf("workspaces %+v, %v", ws, err)
	}
	want("known workspaces", 1, 4)

	c := storage.Credential{ID: "c1", WorkspaceID: "ws", Type: "api_key", Name: "k", NameKey: "k", Version: 1, CreatedAt: time.Now()}
	if err := a.InsertCredential(ctx, c, map[string]redact.Secret{"apiKey": redact.New("s3cret-value")}); err != nil {
		t.Fatal(err)
	}
	if after := state(); after.DataVersion != first.DataVersion+1 {
		t.Fatalf("data version %d after a write, want %d", after.DataVersion, first.DataVersion+1)
	}
	want("the state after a write", 2, 5)
}
