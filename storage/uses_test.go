package storage_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// TestUseCountsCoalescedWithoutLoss counts uses on two instances at once and
// through a database outage: every use is counted exactly once in the end, and
// each instance shows its own unwritten uses at once.
func TestUseCountsCoalescedWithoutLoss(t *testing.T) {
	db := storagetest.StartRestartable(t)
	db.Timeout = 2 * time.Second
	a, b := db.Open(t), db.Open(t)
	ctx := context.Background()
	seedCredentials(t, a, "ws", 3)
	ids := []string{"ws-cred-0000", "ws-cred-0001", "ws-cred-0002"}
	refs := []storage.CredentialRef{{WorkspaceID: "ws", ID: ids[0]}, {WorkspaceID: "ws", ID: ids[1]}, {WorkspaceID: "ws", ID: ids[2]}}
	at := time.Now().UTC().Truncate(time.Millisecond)

	use := func(s *storage.Store, n int) {
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.RecordUse(ctx, "ws", ids[i%len(ids)], nil, false, at.Add(time.Duration(i)*time.Millisecond)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	use(a, 30)
	use(b, 30)
	// a sees its own 10 per credential at once, whether flushed or not.
	got, err := a.CredentialUses(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	if got[refs[0]].UseCount < 10 {
		t.Fatalf("instance a shows %d uses of its 10", got[refs[0]].UseCount)
	}

	// The database goes away: a flush fails and keeps its counts.
	db.Stop()
	use(a, 3)
	if err := a.FlushUses(ctx); err == nil {
		t.Fatal("a flush with the database stopped succeeded")
	}
	db.Restart(t)
	for _, s := range []*storage.Store{a, b} {
		if err := s.FlushUses(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got, err = b.CredentialUses(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		if got[r].UseCount != 21 {
			t.Errorf("%s: %d uses stored, want 21", r.ID, got[r].UseCount)
		}
		if got[r].LastUsedAt == nil || got[r].LastUsedAt.Before(at) {
			t.Errorf("%s: lastUsedAt %v", r.ID, got[r].LastUsedAt)
		}
	}
}
