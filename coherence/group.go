// Package coherence answers "is my copy current?" cheaply: Store wraps storage
// with the in-process caches (workspace states and documents, API tokens,
// users) and moves the versions they check after the writes they depend on;
// Group shares the fresh reads of those versions.
//
// Group shares reads between concurrent callers without ever serving a value
// older than the caller: every caller gets the result of a read that started
// after it asked. Under load, one read answers everyone who arrived
// while the previous read was running, whatever keys they asked for, so a
// version check that must see every write committed before the request began
// costs one database query per batch of requests instead of one per request.
//
// This is what lets credkeep cache documents in process yet refuse a revoked
// token or a revoked grant on the very next request: the cache entry is checked
// against a version read fresh for that request, and only the read is shared.
package coherence

import (
	"context"
	"sync"
	"time"
)

// readTimeout bounds one shared read: no caller waits on it longer than its own
// context allows, but a read that hangs must not hold back the next one forever.
const readTimeout = 10 * time.Second

// Group coalesces reads of values by key: one read per round, for every key
// asked for by the callers of that round.
type Group[K comparable, V any] struct {
	read   func(ctx context.Context, keys []K) (map[K]V, error)
	linger time.Duration

	mu      sync.Mutex
	running bool         // a round is in flight; its result is not for later arrivals
	next    *round[K, V] // the callers waiting for the round after the running one
}

type round[K comparable, V any] struct {
	keys map[K]struct{}
	done chan struct{}
	vals map[K]V
	err  error
}

// New returns a Group that reads with read. read returns a value for every key
// it was given; a key it leaves out reads as V's zero value.
func New[K comparable, V any](read func(ctx context.Context, keys []K) (map[K]V, error)) *Group[K, V] {
	return &Group[K, V]{read: read}
}

// WithLinger makes a round that follows another one wait d before it reads, so
// that more of the callers arriving in a stream share it. It applies only under
// load (callers queued while the previous read ran); a caller that finds the
// group idle is read for at once. The guarantee is unchanged: every caller of a
// round joined it before its read began.
func (g *Group[K, V]) WithLinger(d time.Duration) *Group[K, V] {
	g.linger = d
	return g
}

// Get returns key's value from a read that began after Get was called. The
// read runs with a context detached from any one caller, so a caller that gives
// up does not fail the others; ctx bounds only this caller's wait.
func (g *Group[K, V]) Get(ctx context.Context, key K) (V, error) {
	vals, err := g.GetAll(ctx, key)
	return vals[key], err
}

// GetAll is Get for several keys, read in one round.
func (g *Group[K, V]) GetAll(ctx context.Context, keys ...K) (map[K]V, error) {
	g.mu.Lock()
	if g.next == nil {
		g.next = &round[K, V]{keys: map[K]struct{}{}, done: make(chan struct{})}
	}
	r := g.next
	for _, k := range keys {
		r.keys[k] = struct{}{}
	}
	if !g.running {
		g.start(ctx, false)
	}
	g.mu.Unlock()

	select {
	case <-r.done:
		return r.vals, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// start marks a round running and reads for the callers in g.next, including
// those that join while it lingers; g.mu is held.
func (g *Group[K, V]) start(ctx context.Context, queued bool) {
	g.running = true
	// Detached from the caller who happened to start it, but keeping its values
	// (request id for logs).
	rctx := context.WithoutCancel(ctx)
	go func() {
		if queued && g.linger > 0 {
			time.Sleep(g.linger)
		}
		g.mu.Lock()
		r := g.next
		g.next = nil
		g.mu.Unlock()
		keys := make([]K, 0, len(r.keys))
		for k := range r.keys {
			keys = append(keys, k)
		}
		readCtx, cancel := context.WithTimeout(rctx, readTimeout)
		r.vals, r.err = g.read(readCtx, keys)
		cancel()
		g.mu.Lock()
		g.running = false
		if g.next != nil {
			g.start(rctx, true)
		}
		g.mu.Unlock()
		close(r.done)
	}()
}
