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
// (two instances) to three logs: rounds share inserts across logs, collide
// with the other instance's, and every entry lands exactly once in a gapless,
// valid chain of its log.
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
				e := Entry{WorkspaceID: fmt.Sprint("ws", w%3), Action: CredentialUsed, Outcome: Success, TargetType: TargetCredential,
					TargetID: fmt.Sprintf("c-%d-%d", w, i)}
				if err := logs[w%2].Record(ctx, e); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		log := fmt.Sprint("ws", i)
		v, err := logs[i%2].Verify(ctx, log)
		if err != nil || !v.OK {
			t.Fatalf("%s: %+v %v", log, v, err)
		}
		for seq := int64(1); seq <= int64(v.Checked); seq++ {
			e, err := s1.AuditEntry(ctx, log, seq)
			if err != nil {
				t.Fatal(err)
			}
			if seen[e.TargetID] {
				t.Fatalf("%s recorded twice", e.TargetID)
			}
			seen[e.TargetID] = true
		}
	}
	if len(seen) != writers*each {
		t.Fatalf("%d of %d entries recorded", len(seen), writers*each)
	}
}
