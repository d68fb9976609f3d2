package audit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"credkeep/storage/storagetest"
)

// TestGroupCommitKeepsTheChain appends from many goroutines through two Logs
// (two instances) on one log: batches share inserts, collide with the other
// instance's, and every entry lands exactly once in a gapless, valid chain.
func TestGroupCommitKeepsTheChain(t *testing.T) {
	db, s1 := storagetest.Store(t)
	s2 := db.Open(t)
	logs := []*Log{NewLog(s1, time.Now, nil), NewLog(s2, time.Now, nil)}
	ctx := context.Background()
	const writers, each = 20, 10
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				e := Entry{WorkspaceID: "ws", Action: CredentialUsed, Outcome: Success, TargetType: TargetCredential,
					TargetID: fmt.Sprintf("c-%d-%d", w, i)}
				if err := logs[w%2].Record(ctx, e); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	v, err := logs[0].Verify(ctx, "ws")
	if err != nil || !v.OK || v.Checked != writers*each {
		t.Fatalf("after %d appends: %+v %v", writers*each, v, err)
	}
	seen := map[string]bool{}
	for seq := int64(1); seq <= writers*each; seq++ {
		e, err := s1.AuditEntry(ctx, "ws", seq)
		if err != nil {
			t.Fatal(err)
		}
		if seen[e.TargetID] {
			t.Fatalf("%s recorded twice", e.TargetID)
		}
		seen[e.TargetID] = true
	}
}
