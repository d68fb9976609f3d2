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
// at once (each a read and a write: under the document's lock on this
// database, guarded by the revision on MongoDB) lose no count, and a
// document of the earlier layout (a field per credential) is read, then
// rewritten in the new one by the next batch with its counts kept.
func TestUseCountsFromTwoInstancesAddUp(t *testing.T) {
	db := storagetest.Start(t)
	a, b := db.Open(t), db.Open(t)
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
	got, err := a.StoredUses(ctx, []string{"ws"}, "a")
	if err != nil {
		t.Fatal(err)
	}
	if c1 := got["ws"].Credentials["c1"]; c1.UseCount != 4 || c1.LastUsedAt == nil || !c1.LastUsedAt.Equal(early) || got["ws"].Batch != 3 {
		t.Fatalf("earlier layout read as %+v, batch %d", c1, got["ws"].Batch)
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
	got, err = b.StoredUses(ctx, []string{"ws"}, "inst1-2")
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
	doc, err := db.Raw(t).Document(ctx, "credential_uses", "ws")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["c"]; ok {
		t.Error("the earlier layout's fields are still stored after a batch")
	}
	if doc["r"] != int64(2*workers*batches) {
		t.Errorf("revision %v after %d batches on an earlier document, want %d", doc["r"], 2*workers*batches, 2*workers*batches)
	}
}
