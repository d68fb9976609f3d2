package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"
)

// memStore is a shared count, as the database is for several instances.
type memStore struct {
	mu     sync.Mutex
	counts map[string]int
	writes int
}

func (m *memStore) AddRequests(_ context.Context, tok string, w time.Time, n int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	m.counts[tok+w.String()] += n
	return m.counts[tok+w.String()], nil
}

func TestLimitIsSharedAndExact(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := &memStore{counts: map[string]int{}}
	instances := []*Limiter{New(store, 5, clock), New(store, 5, clock)}
	allowed := 0
	for i := 0; i < 20; i++ {
		d, err := instances[i%2].Allow(context.Background(), "tok")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		}
		if d.Limit != 5 || !d.Reset.Equal(time.Date(2026, 1, 1, 11, 0, 0, 0, time.UTC)) {
			t.Fatalf("decision %+v", d)
		}
	}
	if allowed != 5 {
		t.Fatalf("allowed %d of 20 across two instances, want 5", allowed)
	}
	// A new window starts afresh.
	now = now.Add(time.Hour)
	if d, _ := instances[0].Allow(context.Background(), "tok"); !d.Allowed || d.Remaining != 4 {
		t.Fatalf("new window: %+v", d)
	}
	// Another token has its own count.
	if d, _ := instances[1].Allow(context.Background(), "other"); !d.Allowed {
		t.Fatal("other token refused")
	}
}

func TestLeasesSaveWrites(t *testing.T) {
	clock := func() time.Time { return time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC) }
	store := &memStore{counts: map[string]int{}}
	l := New(store, 5000, clock)
	for i := 0; i < 1000; i++ {
		d, err := l.Allow(context.Background(), "tok")
		if err != nil || !d.Allowed {
			t.Fatal(d, err)
		}
		if i == 0 && d.Remaining != 4999 {
			t.Fatalf("remaining after the first request = %d", d.Remaining)
		}
	}
	// Leases of 50: 20 writes, and at most two more for the leases fetched
	// ahead in the background.
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.writes < 20 || store.writes > 22 {
		t.Fatalf("%d writes for 1,000 requests, want 20 to 22 (leases of 50)", store.writes)
	}
}

// gateStore is a count whose writes can be held up.
type gateStore struct {
	memStore
	gate chan struct{} // nil: writes go through
}

func (g *gateStore) AddRequests(ctx context.Context, tok string, w time.Time, n int) (int, error) {
	g.memStore.mu.Lock()
	gate := g.gate
	g.memStore.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return g.memStore.AddRequests(ctx, tok, w, n)
}

// TestNextLeaseIsFetchedAhead: while a lease lasts, requests never wait for
// the store, even when the write of the next lease is slow.
func TestNextLeaseIsFetchedAhead(t *testing.T) {
	clock := func() time.Time { return time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC) }
	store := &gateStore{memStore: memStore{counts: map[string]int{}}}
	l := New(store, 5000, clock) // leases of 50
	if d, err := l.Allow(context.Background(), "tok"); err != nil || !d.Allowed {
		t.Fatal(d, err)
	}
	gate := make(chan struct{})
	store.mu.Lock()
	store.gate = gate
	store.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 49; i++ { // the rest of the first lease
			if d, err := l.Allow(context.Background(), "tok"); err != nil || !d.Allowed {
				t.Error(d, err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("requests waited for the store while their lease lasted")
	}
	close(gate)
	// The lease fetched ahead serves the next requests.
	if d, err := l.Allow(context.Background(), "tok"); err != nil || !d.Allowed {
		t.Fatal(d, err)
	}
}
