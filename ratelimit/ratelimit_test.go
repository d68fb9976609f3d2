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
	if store.writes != 20 {
		t.Fatalf("%d writes for 1,000 requests, want 20 (leases of 50)", store.writes)
	}
}
