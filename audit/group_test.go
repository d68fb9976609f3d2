package audit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"credkeep/storage"
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

// tail finds a log's end from any point before it, and head documents trail
// the log until they are flushed (Verify flushes them first).
func TestTailAndDeferredHeads(t *testing.T) {
	_, s := storagetest.Store(t)
	l := NewLog(s, time.Now, nil)
	ctx := context.Background()
	for i := 0; i < 37; i++ {
		if err := l.Record(ctx, Entry{WorkspaceID: "ws", Action: CredentialUsed, Outcome: Success}); err != nil {
			t.Fatal(err)
		}
	}
	end, err := s.AuditEntry(ctx, "ws", 37)
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []int64{0, 1, 5, 36, 37} {
		start := storage.AuditHead{}
		if from > 0 {
			e, err := s.AuditEntry(ctx, "ws", from)
			if err != nil {
				t.Fatal(err)
			}
			start = storage.AuditHead{Seq: e.Seq, Hash: e.Hash}
		}
		got, err := l.tail(ctx, "ws", start)
		if err != nil || got.Seq != 37 || got.Hash != end.Hash {
			t.Fatalf("tail from %d = %+v, %v; want seq 37", from, got, err)
		}
	}
	if got, err := l.tail(ctx, "empty", storage.AuditHead{}); err != nil || got.Seq != 0 {
		t.Fatalf("tail of an empty log = %+v, %v", got, err)
	}

	if err := l.FlushHeads(ctx); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.AuditHead(ctx, "ws"); h.Seq != 37 {
		t.Fatalf("head after a flush: %d, want 37", h.Seq)
	}
	// The next append's head waits for the flush; a second instance still
	// appends after it, walking past what the head document does not say yet.
	if err := l.Record(ctx, Entry{WorkspaceID: "ws", Action: CredentialUsed, Outcome: Success}); err != nil {
		t.Fatal(err)
	}
	other := NewLog(s, time.Now, nil)
	if err := other.Record(ctx, Entry{WorkspaceID: "ws", Action: CredentialUsed, Outcome: Success}); err != nil {
		t.Fatal(err)
	}
	if e, err := s.AuditEntry(ctx, "ws", 39); err != nil || e.Seq != 39 {
		t.Fatalf("the second instance's entry: %+v, %v", e, err)
	}
	if v, err := other.Verify(ctx, "ws"); err != nil || !v.OK || v.Checked != 39 {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	time.Sleep(3 * headInterval)
	if h, _ := s.AuditHead(ctx, "ws"); h.Seq != 39 {
		t.Fatalf("head %v after the flush interval, want 39", h.Seq)
	}
}
