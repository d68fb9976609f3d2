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

var billing = storage.Usage{CredentialID: "cred", WorkspaceID: "ws", ConsumerKind: "WORKFLOW", ConsumerID: "billing", ConsumerName: "Billing"}

// consumerUses is the count and last use of billing, through the counter
// (with what it has not written) and as stored; -1 where it is not attached.
func consumerUses(t *testing.T, c *usecount.Counter, s *storage.Store) (counted, stored int64, last time.Time, name string) {
	t.Helper()
	one := func(us []storage.Usage, err error) (storage.Usage, bool) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if len(us) > 1 {
			t.Fatalf("%d usages of one consumer", len(us))
		}
		if len(us) == 0 {
			return storage.Usage{}, false
		}
		return us[0], true
	}
	counted, stored = -1, -1
	if u, ok := one(c.ConsumerUsages(context.Background(), "cred")); ok {
		counted, name = u.UseCount, u.ConsumerName
		if u.LastUsedAt != nil {
			last = *u.LastUsedAt
		}
	}
	if u, ok := one(s.UsagesOf(context.Background(), "cred")); ok {
		stored = u.UseCount
	}
	return counted, stored, last, name
}

// TestConsumerUsesCoalesced: on the database of one writer a consumer's
// first use is written at once (it attaches the consumer) and the next ones
// by the flush, one update however many; reads add what is not written, once;
// a rename is written at once; a detach drops the unwritten counts, and a use
// after it attaches the consumer anew, from one, whether the detach went
// through this counter or not.
func TestConsumerUsesCoalesced(t *testing.T) {
	faults := storagetest.Start(t).WithFaults(t)
	s := faults.Open(t)
	c := usecount.New(s, nil)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	writes := func() int { return faults.Count("update", "credential_usages") }
	use := func(u storage.Usage, rename bool, n int, from time.Duration) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- c.CountConsumerUse(ctx, u, rename, at.Add(from+time.Duration(i)*time.Millisecond))
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(step string, wantCounted, wantStored int64, wantLast time.Time, wantName string) {
		t.Helper()
		counted, stored, last, name := consumerUses(t, c, s)
		if counted != wantCounted || stored != wantStored || !last.Equal(wantLast) || name != wantName {
			t.Fatalf("%s: counted %d, stored %d, last %v, name %q; want %d, %d, %v, %q",
				step, counted, stored, last, name, wantCounted, wantStored, wantLast, wantName)
		}
	}

	start := writes()
	use(billing, false, 1, 0)
	before := writes()
	if before-start != 1 {
		t.Fatalf("a consumer's first use wrote %d times, want 1 (attaching it)", before-start)
	}
	use(billing, false, 99, time.Millisecond)
	if n := writes() - before; n != 0 {
		t.Fatalf("99 uses of an attached consumer wrote %d times before a flush, want 0", n)
	}
	check("before a flush", 100, 1, at.Add(99*time.Millisecond), "Billing")
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := writes() - before; n != 1 {
		t.Fatalf("a flush of one consumer's 99 uses wrote %d times, want 1", n)
	}
	check("after a flush", 100, 100, at.Add(99*time.Millisecond), "Billing")

	// A use that may rename (MANAGE) with another name is written at once; with the same one again, not.
	renamed := billing
	renamed.ConsumerName = "Billing v2"
	before = writes()
	use(renamed, true, 1, time.Second)
	use(renamed, true, 1, time.Second+time.Millisecond)
	use(billing, false, 1, time.Second+2*time.Millisecond) // without MANAGE: the name stays
	if n := writes() - before; n != 1 {
		t.Fatalf("a rename and two uses wrote %d times, want 1", n)
	}
	check("after a rename", 103, 101, at.Add(time.Second+2*time.Millisecond), "Billing v2")

	// Detached through this counter: its unwritten uses go with it.
	if err := s.DetachUsage(ctx, "cred", billing.ConsumerKind, billing.ConsumerID); err != nil {
		t.Fatal(err)
	}
	c.ConsumerDetached(storage.UsageID("cred", billing.ConsumerKind, billing.ConsumerID))
	check("detached", -1, -1, time.Time{}, "")
	use(billing, false, 1, 2*time.Second)
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check("used after its detach", 1, 1, at.Add(2*time.Second), "Billing")

	// Detached behind the counter's back (another Store): the flush finds no
	// usage and creates none, and the next use attaches it again.
	use(billing, false, 3, 3*time.Second)
	if err := s.DetachUsage(ctx, "cred", billing.ConsumerKind, billing.ConsumerID); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check("detached elsewhere, flushed", -1, -1, time.Time{}, "")
	use(billing, false, 1, 4*time.Second)
	check("used again", 1, 1, at.Add(4*time.Second), "Billing")

	// A flush that fails keeps its counts for the next.
	use(billing, false, 5, 5*time.Second)
	faults.Fail("update", "credential_usages")
	if err := c.Flush(ctx); err == nil {
		t.Fatal("a flush with the usages refused succeeded")
	}
	faults.Heal()
	check("after a failed flush", 6, 1, at.Add(5*time.Second+4*time.Millisecond), "Billing")
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check("after the next flush", 6, 6, at.Add(5*time.Second+4*time.Millisecond), "Billing")
}

// TestConsumerReadsDuringFlushesCountOnce: uses, flushes and reads at once;
// no read counts a use twice or loses one it saw, and the end is exact.
func TestConsumerReadsDuringFlushesCountOnce(t *testing.T) {
	db := storagetest.Start(t)
	if db.Embedded == nil {
		t.Skip("MONGODB_URI is set: every consumer use is written at once")
	}
	s := db.Open(t)
	c := usecount.New(s, nil)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	if err := c.CountConsumerUse(ctx, billing, false, at); err != nil {
		t.Fatal(err)
	}
	const users, each = 4, 250
	var made atomic.Int64
	made.Store(1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				made.Add(1) // before the use: a read may see it from now on
				if err := c.CountConsumerUse(ctx, billing, false, at); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(100 * time.Microsecond) // through many flushes and reads

			}
		}()
	}
	go func() {
		defer close(done)
		for made.Load() < 1+users*each {
			if err := c.Flush(ctx); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	seen, reads := int64(0), 0
	for made.Load() < 1+users*each {
		us, err := c.ConsumerUsages(ctx, "cred")
		if err != nil || len(us) != 1 {
			t.Errorf("a read: %v, %d usages", err, len(us))
			break
		}
		if counted := us[0].UseCount; counted < seen || counted > made.Load() {
			t.Errorf("a read counted %d after %d, with %d uses made", counted, seen, made.Load())
			break
		} else {
			seen = counted
		}
		reads++
	}
	wg.Wait() // the goroutines end before the test does, failed or not
	<-done
	if t.Failed() {
		return
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if counted, stored, _, _ := consumerUses(t, c, s); counted != 1+users*each || stored != 1+users*each {
		t.Fatalf("counted %d, stored %d; want %d (after %d reads)", counted, stored, 1+users*each, reads)
	}
}
