package usecount_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"credkeep/storage"
	"credkeep/storage/storagetest"
	"credkeep/usecount"
)

var refs = []storage.CredentialRef{{WorkspaceID: "ws", ID: "c0"}, {WorkspaceID: "ws", ID: "c1"}, {WorkspaceID: "other", ID: "c2"}}

// TestCountsCoalescedWithoutLoss counts uses on two instances at once and
// through a time when the counters cannot be written (the embedded database's
// storage file refusing them): every use is counted exactly once in the end,
// and each instance shows its own unwritten uses at once.
func TestCountsCoalescedWithoutLoss(t *testing.T) {
	db := storagetest.Start(t)
	if db.Embedded == nil {
		t.Skip("MONGODB_URI is set: the counters are not in the storage file")
	}
	a, b := usecount.New(db.Open(t), nil), usecount.New(db.Open(t), nil)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)

	use := func(c *usecount.Counter, n int) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := refs[i%len(refs)]
				c.Record(r.WorkspaceID, r.ID, at.Add(time.Duration(i)*time.Millisecond))
			}()
		}
		wg.Wait()
	}
	use(a, 30)
	use(b, 30)
	got, err := a.CredentialUses(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	if got[refs[0]].UseCount != 10 {
		t.Fatalf("instance a shows %d uses of its own 10", got[refs[0]].UseCount)
	}

	heal, err := db.Raw(t).FailFileWrites(ctx, "use_counts")
	if err != nil {
		t.Fatal(err)
	}
	use(a, 3)
	if err := a.Flush(ctx); err == nil {
		t.Fatal("a flush with the counters refused succeeded")
	}
	// The failed flush kept its counts, and a reads them as its own.
	if err := heal(); err != nil {
		t.Fatal(err)
	}
	got, err = a.CredentialUses(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	if got[refs[0]].UseCount != 11 {
		t.Fatalf("after a failed flush instance a shows %d uses of its own 11", got[refs[0]].UseCount)
	}
	for _, c := range []*usecount.Counter{a, b} {
		if err := c.Flush(ctx); err != nil {
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
	if got, _ := b.CredentialUses(ctx, []storage.CredentialRef{{WorkspaceID: "ws", ID: "c2"}}); got[storage.CredentialRef{WorkspaceID: "ws", ID: "c2"}].UseCount != 0 {
		t.Error("a credential id counted in another workspace shows in this one")
	}
}

// TestReadsDuringFlushesCountEachUseOnce reads while uses are counted and
// flushed without pause: every read shows at least the uses recorded before it
// began and at most those recorded before it ended, so a batch being written is
// neither missed nor counted twice, and a read never waits for a flush's write.
func TestReadsDuringFlushesCountEachUseOnce(t *testing.T) {
	_, store := storagetest.Store(t)
	c := usecount.New(store, nil)
	ctx := context.Background()
	ref := refs[0]
	// started counts uses about to be recorded, recorded those recorded: a read
	// may see a use in between, so it is bounded by recorded before it began
	// and started after it ended.
	var started, recorded atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // uses
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			started.Add(1)
			c.Record(ref.WorkspaceID, ref.ID, time.Now())
			recorded.Add(1)
			time.Sleep(50 * time.Microsecond)
		}
	}()
	go func() { // flushes, back to back
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := c.Flush(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	reads := 0
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); reads++ {
		before := recorded.Load()
		got, err := c.CredentialUses(ctx, []storage.CredentialRef{ref})
		after := started.Load()
		if err != nil {
			t.Fatal(err)
		}
		if n := got[ref].UseCount; n < before || n > after {
			close(stop)
			wg.Wait()
			t.Fatalf("read %d shows %d uses; %d were recorded before it began and %d begun before it ended", reads, n, before, after)
		}
	}
	close(stop)
	wg.Wait()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := usecount.New(store, nil).CredentialUses(ctx, []storage.CredentialRef{ref})
	if err != nil {
		t.Fatal(err)
	}
	if got[ref].UseCount != recorded.Load() {
		t.Fatalf("%d uses stored, %d recorded", got[ref].UseCount, recorded.Load())
	}
	t.Logf("%d reads, %d uses", reads, recorded.Load())
}

// TestCloseWritesPendingAndRemovesItsMarkers: what is pending when the server
// stops is written, and the instance's batch markers do not stay behind.
func TestCloseWritesPendingAndRemovesItsMarkers(t *testing.T) {
	db, store := storagetest.Store(t)
	ctx := context.Background()
	c := usecount.New(store, nil).Start()
	c.Record("ws", "c0", time.Now())
	c.Record("ws", "c0", time.Now())
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	other := usecount.New(store, nil)
	got, err := other.CredentialUses(ctx, refs[:1])
	if err != nil {
		t.Fatal(err)
	}
	if got[refs[0]].UseCount != 2 {
		t.Fatalf("%d uses after close, want 2", got[refs[0]].UseCount)
	}
	markers, err := db.Raw(t).UseBatchMarkers(ctx, "ws")
	if err != nil {
		t.Fatal(err)
	}
	if len(markers) != 0 {
		t.Fatalf("batch markers after close: %v", markers)
	}
}
