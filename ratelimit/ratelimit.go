// Package ratelimit limits each API token to a number of requests per hour,
// counted in the database so that every instance counts against one limit.
//
// The fast path: an instance takes requests from the shared count in leases
// (1% of the limit, between 1 and 100) and spends them locally, so it writes
// once per lease instead of once per request; once the window's count is
// used up it refuses locally until the window ends. Leased requests that an
// instance does not spend are lost for that hour, so the limit is never exceeded.
package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Window is the length of a rate-limit window.
const Window = time.Hour

// Store keeps the shared counts.
type Store interface {
	// AddRequests adds n to the token's count in the window and returns the new total.
	AddRequests(ctx context.Context, tokenHash string, windowStart time.Time, n int) (int, error)
}

// Decision is the outcome for one request.
type Decision struct {
	Allowed   bool
	Limit     int
	Remaining int
	Reset     time.Time     // when the window ends
	Wait      time.Duration // until Reset, by the limiter's clock
}

// Limiter decides whether a token may make another request.
type Limiter struct {
	store Store
	limit int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	window    time.Time
	leased    int // requests this instance may still spend without asking the store
	committed int // the shared count as of this instance's last lease
	exhausted bool
}

// New returns a Limiter of limit requests per token per hour.
func New(store Store, limit int, now func() time.Time) *Limiter {
	return &Limiter{store: store, limit: limit, now: now, buckets: map[string]*bucket{}}
}

func (l *Limiter) leaseSize() int { return min(max(l.limit/100, 1), 100) }

// Allow counts one request of the token.
func (l *Limiter) Allow(ctx context.Context, tokenHash string) (Decision, error) {
	now := l.now()
	window := now.Truncate(Window)
	d := Decision{Limit: l.limit, Reset: window.Add(Window), Wait: window.Add(Window).Sub(now)}

	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[tokenHash]
	if b == nil || !b.window.Equal(window) {
		if len(l.buckets) > 100_000 {
			l.sweep(window)
		}
		b = &bucket{window: window}
		l.buckets[tokenHash] = b
	}
	if b.leased == 0 && !b.exhausted {
		// Holding the lock across the write keeps leases of one token from racing
		// on this instance; other tokens wait too, but only for one small write.
		lease := l.leaseSize()
		total, err := l.store.AddRequests(ctx, tokenHash, window, lease)
		if err != nil {
			return d, err
		}
		granted := lease - max(0, total-l.limit)
		b.committed = min(total, l.limit)
		if granted <= 0 {
			b.exhausted = true
		} else {
			b.leased = min(granted, lease)
		}
	}
	if b.leased == 0 {
		return d, nil
	}
	b.leased--
	d.Allowed = true
	d.Remaining = max(0, l.limit-b.committed+b.leased)
	return d, nil
}

// sweep forgets buckets of past windows.
func (l *Limiter) sweep(window time.Time) {
	for k, b := range l.buckets {
		if !b.window.Equal(window) {
			delete(l.buckets, k)
		}
	}
}
