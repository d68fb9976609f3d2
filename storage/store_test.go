package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"credkeep/internal/redact"
	"credkeep/storage"
	"credkeep/storage/embedded"
	"credkeep/storage/storagetest"
)

// TestOpenIsIdempotent opens several stores on one database, as restarts and
// several instances do: collections and indexes are created once, quietly.
func TestOpenIsIdempotent(t *testing.T) {
	db := storagetest.Start(t)
	for i := 0; i < 3; i++ {
		s := db.Open(t)
		if err := s.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTenantIsolation: one workspace's reads never return another's documents.
func TestTenantIsolation(t *testing.T) {
	_, s := storagetest.Store(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, ws := range []string{"ws-a", "ws-b"} {
		if err := s.InsertWorkspace(ctx, storage.Workspace{ID: ws, Name: ws, Owners: []string{"u-" + ws}, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := s.InsertMember(ctx, storage.Member{WorkspaceID: ws, UserID: "u-" + ws, Role: "OWNER", AddedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.InsertMember(ctx, storage.Member{WorkspaceID: "ws-a", UserID: "shared", Role: "MEMBER", AddedAt: now}); err != nil {
		t.Fatal(err)
	}
	ms, err := s.MembersOf(ctx, "ws-b")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].UserID != "u-ws-b" {
		t.Fatalf("ws-b members = %+v", ms)
	}
	if _, err := s.Member(ctx, "ws-b", "shared"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("membership of ws-a found in ws-b: %v", err)
	}
	mine, err := s.MembershipsOf(ctx, "u-ws-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 1 || mine[0].WorkspaceID != "ws-a" {
		t.Fatalf("memberships = %+v", mine)
	}
	if err := s.InsertMember(ctx, storage.Member{WorkspaceID: "ws-a", UserID: "shared", Role: "ADMIN", AddedAt: now}); !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("duplicate membership: %v", err)
	}
}

// TestOwnerGuardNeverEmpties removes owners concurrently; the guard list always
// keeps one, whatever the interleaving.
func TestOwnerGuardNeverEmpties(t *testing.T) {
	db := storagetest.Start(t)
	stores := []*storage.Store{db.Open(t), db.Open(t)}
	ctx := context.Background()
	owners := []string{"o1", "o2", "o3", "o4", "o5", "o6"}
	if err := stores[0].InsertWorkspace(ctx, storage.Workspace{ID: "ws", Name: "ws", Owners: owners}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	removed := 0
	for i, o := range owners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := stores[i%2].RemoveOwner(ctx, "ws", o)
			switch {
			case err == nil:
				mu.Lock()
				removed++
				mu.Unlock()
			case !errors.Is(err, storage.ErrConflict):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	w, err := stores[0].Workspace(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Owners) != 1 || removed != len(owners)-1 {
		t.Fatalf("owners left %v, removed %d", w.Owners, removed)
	}
	// Removing a user who is not on the list is not a conflict.
	if err := stores[0].RemoveOwner(ctx, "ws", "stranger"); err != nil {
		t.Fatal(err)
	}
}

// FerretDB v1 at a URI is refused unless this is the only instance (SPEC.md §13).
func TestFerretDBv1AtURIIsRefused(t *testing.T) {
	e, err := embedded.Start(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	key := redact.NewBytes(make([]byte, 96))
	ctx := context.Background()
	_, err = storage.Open(ctx, storage.Options{URI: redact.New(e.URI()), MasterKey: key})
	if !errors.Is(err, storage.ErrNonAtomicDatabase) {
		t.Fatalf("Open on FerretDB v1 without SingleInstance: %v", err)
	}
	s, err := storage.Open(ctx, storage.Options{URI: redact.New(e.URI()), MasterKey: key, SingleInstance: true})
	if err != nil {
		t.Fatalf("Open with SingleInstance: %v", err)
	}
	defer s.Close(ctx)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentUpdatesOfOneDocumentAllCount: the embedded database applies an
// update by reading and writing back; the collection wrapper's locks make 50
// racing $inc of one document from two Stores all count, each returning a
// different version.
func TestConcurrentUpdatesOfOneDocumentAllCount(t *testing.T) {
	db := storagetest.Start(t)
	stores := []*storage.Store{db.Open(t), db.Open(t)}
	ctx := context.Background()
	if err := stores[0].InsertWorkspace(ctx, storage.Workspace{ID: "ws", Name: "ws", Owners: []string{"a"}, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	const n = 50
	versions := make(chan int64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := stores[i%2].BumpWorkspaceVersion(ctx, "ws", storage.PolicyVersion)
			if err != nil {
				t.Error(err)
			}
			versions <- v
		}()
	}
	wg.Wait()
	close(versions)
	seen := map[int64]bool{}
	for v := range versions {
		if seen[v] {
			t.Errorf("two updates both returned version %d", v)
		}
		seen[v] = true
	}
	w, err := stores[1].Workspace(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	if v := w.PolicyVersion; v != n {
		t.Fatalf("policy version %d after %d increments: updates were lost", v, n)
	}
}
