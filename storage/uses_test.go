package storage_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// TestUseCountsFromTwoInstancesAddUp: Stores writing one workspace's counters
// at once (each a read and a write: one transaction of the storage file on
// the embedded database, guarded by the revision on MongoDB) lose no count.
func TestUseCountsFromTwoInstancesAddUp(t *testing.T) {
	db := storagetest.Start(t)
	a, b := db.Open(t), db.Open(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	early := at.Add(-time.Hour)
	if err := a.AddUses(ctx, "ws", "a", 3, map[string]storage.Uses{"c1": {UseCount: 4, LastUsedAt: &early}, "c9": {UseCount: 1}}); err != nil {
		t.Fatal(err)
	}

	const workers, batches = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*batches)
	for i, s := range []*storage.Store{a, b} {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range batches {
					last := at.Add(time.Duration(n) * time.Second)
					counts := map[string]storage.Uses{
						"c1":                  {UseCount: 1, LastUsedAt: &last},
						fmt.Sprintf("w%d", w): {UseCount: 2, LastUsedAt: &last},
					}
					errs <- s.AddUses(ctx, "ws", fmt.Sprintf("inst%d-%d", i, w), int64(n+1), counts)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.StoredUses(ctx, []string{"ws"}, "inst1-2")
	if err != nil {
		t.Fatal(err)
	}
	ws := got["ws"]
	final := at.Add((batches - 1) * time.Second)
	if c1 := ws.Credentials["c1"]; c1.UseCount != 4+2*workers*batches || !c1.LastUsedAt.Equal(final) {
		t.Errorf("c1: %d uses, last %v; want %d, %v", c1.UseCount, c1.LastUsedAt, 4+2*workers*batches, final)
	}
	for w := range workers {
		if n := ws.Credentials[fmt.Sprintf("w%d", w)].UseCount; n != 2*2*batches {
			t.Errorf("w%d: %d uses, want %d", w, n, 2*2*batches)
		}
	}
	if c9 := ws.Credentials["c9"]; c9.UseCount != 1 || c9.LastUsedAt != nil {
		t.Errorf("c9 (never dated) became %+v", c9)
	}
	if ws.Batch != batches {
		t.Errorf("instance inst1-2's last batch is %d, want %d", ws.Batch, batches)
	}
	if got, err := a.StoredUses(ctx, []string{"ws"}, "a"); err != nil || got["ws"].Batch != 3 {
		t.Errorf("instance a's last batch is %d (%v), want 3", got["ws"].Batch, err)
	}
}

// collectionsStore is a Store that keeps the use counters and rate-limit
// counts in collections: one reaching the embedded database by URI (through
// the fault proxy), or any Store on MongoDB.
func collectionsStore(t *testing.T, db *storagetest.DB) *storage.Store {
	if db.Embedded == nil {
		return db.Open(t)
	}
	return db.WithFaults(t).Open(t)
}

// TestUseCountsOfTheEarlierLayout: in collections, a document of the earlier
// layout (a field per credential) is read, then rewritten in the new one by
// the next batch with its counts kept, each batch a new revision.
func TestUseCountsOfTheEarlierLayout(t *testing.T) {
	db := storagetest.Start(t)
	s := collectionsStore(t, db)
	ctx := context.Background()
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	early := at.Add(-time.Hour)
	if err := db.Raw(t).InsertDocument(ctx, "credential_uses", bson.M{
		"_id": "ws",
		"c":   bson.M{"c1": bson.M{"n": int64(4), "last": early}, "c9": bson.M{"n": int64(1)}},
		"f":   bson.M{"a": int64(3)},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.StoredUses(ctx, []string{"ws"}, "a")
	if err != nil {
		t.Fatal(err)
	}
	if c1 := got["ws"].Credentials["c1"]; c1.UseCount != 4 || c1.LastUsedAt == nil || !c1.LastUsedAt.Equal(early) || got["ws"].Batch != 3 {
		t.Fatalf("earlier layout read as %+v, batch %d", c1, got["ws"].Batch)
	}
	for n := range 5 {
		if err := s.AddUses(ctx, "ws", "b", int64(n+1), map[string]storage.Uses{"c1": {UseCount: 1, LastUsedAt: &at}}); err != nil {
			t.Fatal(err)
		}
	}
	got, err = s.StoredUses(ctx, []string{"ws"}, "a")
	if err != nil {
		t.Fatal(err)
	}
	if c1, c9 := got["ws"].Credentials["c1"], got["ws"].Credentials["c9"]; c1.UseCount != 9 || !c1.LastUsedAt.Equal(at) || c9.UseCount != 1 {
		t.Errorf("after 5 batches: c1 %+v, c9 %+v; want 9 uses last at %v, and 1", c1, c9, at)
	}
	doc, err := db.Raw(t).Document(ctx, "credential_uses", "ws")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["c"]; ok {
		t.Error("the earlier layout's fields are still stored after a batch")
	}
	if doc["r"] != int64(5) {
		t.Errorf("revision %v after 5 batches on an earlier document, want 5", doc["r"])
	}
}

// TestUseAndRateCountsMoveIntoTheFile: a data directory whose use counters
// and rate-limit counts an earlier version kept in the embedded database's
// collections has them moved into the storage file at start-up (the counts of
// windows long past left behind), and the collections dropped; a move done
// again (as after a crash cut one short) counts nothing twice.
func TestUseAndRateCountsMoveIntoTheFile(t *testing.T) {
	db := storageFileDB(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	old := collectionsStore(t, db)
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	must(old.AddUses(ctx, "ws", "old", 1, map[string]storage.Uses{"c1": {UseCount: 5, LastUsedAt: &at}, "c2": {UseCount: 1}}))
	must(db.Raw(t).InsertDocument(ctx, "credential_uses", bson.M{"_id": "ws2", "c": bson.M{"c3": bson.M{"n": int64(7), "last": at}}}))
	window := time.Now().Truncate(time.Hour)
	long := window.Add(-48 * time.Hour)
	_, err := old.AddRequests(ctx, "token", window, 40)
	must(err)
	_, err = old.AddRequests(ctx, "token", long, 90)
	must(err)

	check := func(s *storage.Store) {
		t.Helper()
		got, err := s.StoredUses(ctx, []string{"ws", "ws2"}, "old")
		must(err)
		if c1 := got["ws"].Credentials["c1"]; c1.UseCount != 5 || c1.LastUsedAt == nil || !c1.LastUsedAt.Equal(at) {
			t.Errorf("c1 moved as %+v, want 5 uses last at %v", c1, at)
		}
		if c2, c3 := got["ws"].Credentials["c2"], got["ws2"].Credentials["c3"]; c2.UseCount != 1 || c3.UseCount != 7 {
			t.Errorf("c2 moved as %+v, c3 (earlier layout) as %+v; want 1 and 7 uses", c2, c3)
		}
		if got["ws"].Batch != 0 {
			t.Errorf("an earlier process's batch marker moved: %d", got["ws"].Batch)
		}
		if n, err := s.AddRequests(ctx, "token", window, 0); err != nil || n != 40 {
			t.Errorf("the current window moved as %d requests (%v), want 40", n, err)
		}
		if n, err := s.AddRequests(ctx, "token", long, 0); err != nil || n != 0 {
			t.Errorf("a window long past moved as %d requests (%v), want none", n, err)
		}
		for _, c := range []string{"credential_uses", "rate_limits"} {
			if n, err := db.Raw(t).CountDocuments(ctx, c); err != nil || n != 0 {
				t.Errorf("collection %s after the move: %d documents, %v", c, n, err)
			}
		}
	}
	check(db.Open(t))

	// The collections hold again what was moved: the next start keeps the
	// file's counts and adds nothing.
	must(old.AddUses(ctx, "ws", "old", 1, map[string]storage.Uses{"c1": {UseCount: 5, LastUsedAt: &at}, "c2": {UseCount: 1}}))
	_, err = old.AddRequests(ctx, "token", window, 40)
	must(err)
	check(db.Open(t))
}
