package storage_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/mongo"

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

// TestBulkWriteOfManyMatchingUpdatesCompletes: FerretDB v1 holds a connection
// of its SQLite pool (100) for every update of a command that matched a
// document until the command ends, so one bulk write moving the heads of 150
// logs waited forever for a connection, and every request behind it. The
// embedded database gets such writes in commands of a few statements.
func TestBulkWriteOfManyMatchingUpdatesCompletes(t *testing.T) {
	_, s := storagetest.Store(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const logs = 150
	move := func(from, to int64) []storage.AuditHeadMove {
		moves := make([]storage.AuditHeadMove, logs)
		for i := range moves {
			log := fmt.Sprintf("ws%03d", i)
			moves[i] = storage.AuditHeadMove{Log: log,
				From: storage.AuditHead{Seq: from, Hash: fmt.Sprint(from)}, To: storage.AuditHead{Seq: to, Hash: fmt.Sprint(to)}}
		}
		return moves
	}
	for _, step := range [][2]int64{{0, 1}, {1, 2}, {2, 3}} {
		if err := s.AdvanceAuditHeads(ctx, move(step[0], step[1])); err != nil {
			t.Fatalf("moving %d heads from %d to %d: %v", logs, step[0], step[1], err)
		}
	}
	for _, i := range []int{0, 15, 16, 99, 100, logs - 1} {
		log := fmt.Sprintf("ws%03d", i)
		h, err := s.AuditHead(ctx, log)
		if err != nil {
			t.Fatal(err)
		}
		if h.Seq != 3 || h.Hash != "3" {
			t.Errorf("head of %s = %+v, want seq 3", log, h)
		}
	}
	// A head already past its target is left alone, in every command.
	if err := s.AdvanceAuditHeads(ctx, move(1, 2)); err != nil {
		t.Fatal(err)
	}
	if h, err := s.AuditHead(ctx, "ws120"); err != nil || h.Seq != 3 {
		t.Fatalf("head of ws120 = %+v, %v after a stale move; want seq 3", h, err)
	}
}

// TestBulkWriteInCommandsKeepsItsResult: a bulk write split into commands
// answers as one: counts add up, a write error carries the index of its model
// in the whole write, and an ordered write stops at its first error.
func TestBulkWriteInCommandsKeepsItsResult(t *testing.T) {
	_, s := storagetest.Store(t)
	ctx := context.Background()
	ids := func(prefix string) []string {
		out := make([]string, 40)
		for i := range out {
			out[i] = fmt.Sprintf("%s%02d", prefix, i)
		}
		return out
	}
	if _, err := s.InsertProbes(ctx, []string{"u20", "u35", "o20"}, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		prefix   string
		ordered  bool
		inserted int64
		failed   []int
	}{
		{"u", false, 38, []int{20, 35}},
		{"o", true, 20, []int{20}},
	} {
		res, err := s.InsertProbes(ctx, ids(c.prefix), c.ordered)
		var we mongo.BulkWriteException
		if !errors.As(err, &we) {
			t.Fatalf("ordered=%v: error %v, want a bulk write exception", c.ordered, err)
		}
		var failed []int
		for _, e := range we.WriteErrors {
			failed = append(failed, e.Index)
		}
		if !slices.Equal(failed, c.failed) || res.InsertedCount != c.inserted {
			t.Errorf("ordered=%v: %d inserted, errors at %v; want %d, errors at %v", c.ordered, res.InsertedCount, failed, c.inserted, c.failed)
		}
		if !mongo.IsDuplicateKeyError(err) {
			t.Errorf("ordered=%v: %v is not a duplicate key error", c.ordered, err)
		}
	}
	// What the ordered write did not reach is not there.
	if _, err := s.InsertProbes(ctx, []string{"o39"}, true); err != nil {
		t.Fatalf("o39 was written after the ordered write's error: %v", err)
	}
}

// TestDataDirectoryServesOneProcess: a second embedded database on the same
// files would take over the socket and race the first one's writes past its
// in-process locks; it is refused until the first one stops.
func TestDataDirectoryServesOneProcess(t *testing.T) {
	dir := t.TempDir()
	first, err := embedded.Start(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := embedded.Start(dir, nil)
	if err == nil {
		second.Stop()
		first.Stop()
		t.Fatal("a second embedded database started on the same data directory")
	}
	if !strings.Contains(err.Error(), "in use by another credkeep process") {
		t.Errorf("refusal = %q, want it to say the directory is in use", err)
	}
	// The first one still serves.
	s, err := storage.Open(context.Background(), storage.Options{Embedded: first, DBName: "credkeep", MasterKey: redact.NewBytes(make([]byte, 96))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("the first database after the refusal: %v", err)
	}
	s.Close(context.Background())
	first.Stop()
	again, err := embedded.Start(dir, nil)
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	again.Stop()
}

// TestEachSealedCredentialGivesEveryOneWithItsSecrets: the read of every list
// gives each credential of every workspace once, with its own secrets beside
// it, and stops at the caller's error.
func TestEachSealedCredentialGivesEveryOneWithItsSecrets(t *testing.T) {
	_, s := storagetest.Store(t)
	ctx := context.Background()
	for _, ws := range []string{"ws1", "ws2"} {
		if err := s.CreateDataKey(ctx, ws); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range []string{"delta", "alpha", "charlie", "bravo", "alpha"} {
		ws := []string{"ws1", "ws2"}[i%2]
		id := fmt.Sprintf("c%d", 9-i)
		c := storage.Credential{ID: id, WorkspaceID: ws, Name: name, NameKey: name, Type: "api_key", OwnerID: "o",
			Fields: map[string]string{"note-" + id: "x"}, SecretKeys: []string{"apiKey"}, Version: 1, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := s.InsertCredential(ctx, c, map[string]redact.Secret{"apiKey": redact.New("secret-of-" + id)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := s.EachSealedCredential(ctx, func(c storage.Credential, sealed storage.Sealed) error {
		secrets, err := s.Unseal(ctx, sealed)
		if err != nil {
			return err
		}
		if v := secrets["apiKey"].Reveal(); v != "secret-of-"+c.ID {
			t.Errorf("credential %s carries the secrets of another (%q)", c.ID, v)
		}
		if c.Fields["note-"+c.ID] != "x" || len(c.Fields) != 1 { // a decoding into a used map would merge them
			t.Errorf("credential %s carries the fields %v", c.ID, c.Fields)
		}
		got = append(got, c.WorkspaceID+"/"+c.NameKey+"/"+c.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if g, w := strings.Join(got, " "), "ws1/alpha/c5 ws1/charlie/c7 ws1/delta/c9 ws2/alpha/c8 ws2/bravo/c6"; g != w {
		t.Errorf("read %s, want %s", g, w)
	}
	stop := errors.New("enough")
	calls := 0
	if err := s.EachSealedCredential(ctx, func(storage.Credential, storage.Sealed) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("a caller's error: %v after %d calls, want %v after 1", err, calls, stop)
	}
}
