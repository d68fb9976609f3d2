// Package ratelimit limits each API token to a number of requests per hour,
// counted in the database so that every instance counts against one limit.
//
// The fast path: an instance takes requests from the shared count in leases
// (1% of the limit, between 1 and 100) and spends them locally, so it writes
// once per lease instead of once per request, and fetches the next lease in
// the background when half of one is spent; once the window's count is used
// up it refuses locally until the window ends. Leased requests that an
// instance does not spend (at most two leases) are lost for that hour, so the
// limit is never exceeded.
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

	mu      sync.Mutex // guards buckets only; never held across a write
	buckets map[string]*bucket
}

type bucket struct {
	window time.Time

	mu        sync.Mutex
	leased    int // requests this instance may still spend without asking the store
	committed int // the shared count as of this instance's last lease
	exhausted bool
	// refill is closed when the lease being fetched arrives (nil: none in flight).
	refill chan struct{}
}

// New returns a Limiter of limit requests per token per hour.
func New(store Store, limit int, now func() time.Time) *Limiter {
	return &Limiter{store: store, limit: limit, now: now, buckets: map[string]*bucket{}}
}

func (l *Limiter) leaseSize() int { return min(max(l.limit/100, 1), 100) }

// Allow counts one request of the token. A request waits for the store only
// when its token's lease is empty: the next lease is fetched in the background
// once half of the current one is spent, and no lock is held across a write,
// so one token's write never holds up another token.
func (l *Limiter) Allow(ctx context.Context, tokenHash string) (Decision, error) {
	now := l.now()
	window := now.Truncate(Window)
	d := Decision{Limit: l.limit, Reset: window.Add(Window), Wait: window.Add(Window).Sub(now)}

	l.mu.Lock()
	b := l.buckets[tokenHash]
	if b == nil || !b.window.Equal(window) {
		if len(l.buckets) > 100_000 {
			l.sweep(window)
		}
		b = &bucket{window: window}
		l.buckets[tokenHash] = b
	}
	l.mu.Unlock()

	b.mu.Lock()
	defer b.mu.Unlock()
	for b.leased == 0 && !b.exhausted {
		if b.refill == nil {
			if err := l.fetch(ctx, b, tokenHash); err != nil {
				return d, err
			}
			continue
		}
		ch := b.refill
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			b.mu.Lock()
			return d, ctx.Err()
		}
		b.mu.Lock()
	}
	if b.leased == 0 {
		return d, nil
	}
	b.leased--
	d.Allowed = true
	d.Remaining = max(0, l.limit-b.committed+b.leased)
	if b.leased < l.leaseSize()/2 && b.refill == nil && !b.exhausted {
		// Marked under the lock, so that one refill is on its way, not one per request.
		lease := l.startFetch(b)
		go func() {
			total, err := l.store.AddRequests(context.WithoutCancel(ctx), tokenHash, b.window, lease)
			b.mu.Lock()
			defer b.mu.Unlock()
			l.endFetch(b, lease, total, err) // failed: the next request that needs a lease retries
		}()
	}
	return d, nil
}

// fetch takes the next lease from the shared count; b.mu is held, and released
// during the write (b.refill tells other requests one is on its way).
func (l *Limiter) fetch(ctx context.Context, b *bucket, tokenHash string) error {
	lease := l.startFetch(b)
	b.mu.Unlock()
	total, err := l.store.AddRequests(ctx, tokenHash, b.window, lease)
	b.mu.Lock()
	return l.endFetch(b, lease, total, err)
}

// startFetch marks a lease as on its way and returns its size; b.mu is held.
func (l *Limiter) startFetch(b *bucket) int {
	b.refill = make(chan struct{})
	return l.leaseSize()
}

// endFetch adds a fetched lease (or nothing, on err) and wakes the requests
// waiting for it; b.mu is held.
func (l *Limiter) endFetch(b *bucket, lease, total int, err error) error {
	close(b.refill)
	b.refill = nil
	if err != nil {
		return err
	}
	granted := lease - max(0, total-l.limit)
	b.committed = max(b.committed, min(total, l.limit))
	if granted <= 0 {
		b.exhausted = true
	} else {
		b.leased += granted
	}
	return nil
}

// sweep forgets buckets of past windows; l.mu is held.
func (l *Limiter) sweep(window time.Time) {
	for k, b := range l.buckets {
		if !b.window.Equal(window) {
			delete(l.buckets, k)
		}
	}
}
