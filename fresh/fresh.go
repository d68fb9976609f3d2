// Package fresh shares reads between concurrent callers without ever serving a
// value older than the caller: every caller gets the result of a read that
// started after it asked. Under load, one read answers everyone who arrived
// while the previous read was running, so a version check that must see every
// write committed before the request began costs one database read per batch
// of requests instead of one per request.
//
// This is what lets credkeep cache documents in process yet refuse a revoked
// token or a revoked grant on the very next request: the cache entry is checked
// against a version read fresh for that request, and only the read is shared.
package fresh

import (
	"context"
	"sync"
	"time"
)

// readTimeout bounds one shared read: no caller waits on it longer than its own
// context allows, but a read that hangs must not hold back the next one forever.
const readTimeout = 10 * time.Second

// Group coalesces reads of values by key.
type Group[K comparable, V any] struct {
	read func(ctx context.Context, key K) (V, error)

	mu    sync.Mutex
	slots map[K]*slot[V]
}

type slot[V any] struct {
	running bool     // a read is in flight; its result is not for later arrivals
	next    *call[V] // callers waiting for the read after the running one
}

type call[V any] struct {
	done chan struct{}
	val  V
	err  error
}

// New returns a Group that reads with read.
func New[K comparable, V any](read func(ctx context.Context, key K) (V, error)) *Group[K, V] {
	return &Group[K, V]{read: read, slots: map[K]*slot[V]{}}
}

// Get returns the result of a read of key that began after Get was called. The
// read runs with a context detached from any one caller, so a caller that gives
// up does not fail the others; ctx bounds only this caller's wait.
func (g *Group[K, V]) Get(ctx context.Context, key K) (V, error) {
	g.mu.Lock()
	s, ok := g.slots[key]
	if !ok {
		s = &slot[V]{}
		g.slots[key] = s
	}
	if s.next == nil {
		s.next = &call[V]{done: make(chan struct{})}
	}
	c := s.next
	if !s.running {
		g.start(ctx, key, s)
	}
	g.mu.Unlock()

	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// start runs the waiting call's read; g.mu is held.
func (g *Group[K, V]) start(ctx context.Context, key K, s *slot[V]) {
	c := s.next
	s.next, s.running = nil, true
	// Detached from the caller who happened to start it, but keeping its values
	// (request id for logs); the reader's own timeouts bound it.
	rctx := context.WithoutCancel(ctx)
	go func() {
		readCtx, cancel := context.WithTimeout(rctx, readTimeout)
		c.val, c.err = g.read(readCtx, key)
		cancel()
		g.mu.Lock()
		s.running = false
		if s.next != nil {
			g.start(rctx, key, s)
		} else {
			delete(g.slots, key)
		}
		g.mu.Unlock()
		close(c.done)
	}()
}
