package storage

import (
	"context"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/event"
)

// busy counts what runs on a Store's clients: connections checked out of
// their pools (a command, and the decryption of its reply, run while one is)
// and explicit encryption calls. The driver frees libmongocrypt's state when
// a client disconnects, even under an operation still decrypting, which
// corrupts the C heap (a test run crashed in malloc: background work such as
// an audit-head flush can outlive the request that started it). Close waits
// until nothing runs before it disconnects.
type busy struct{ n atomic.Int64 }

// hold marks an explicit encryption call as running until the returned func.
func (b *busy) hold() func() {
	b.n.Add(1)
	return func() { b.n.Add(-1) }
}

// poolMonitor counts the connections checked out of a client's pool.
func (b *busy) poolMonitor() *event.PoolMonitor {
	return &event.PoolMonitor{Event: func(e *event.PoolEvent) {
		switch e.Type {
		case event.GetSucceeded:
			b.n.Add(1)
		case event.ConnectionReturned:
			b.n.Add(-1)
		}
	}}
}

// closeWait bounds how long Close waits for what runs: an operation has its
// own deadline, and a Store must close even if one hangs.
const closeWait = 10 * time.Second

// idle waits until nothing runs, ctx ends or closeWait passes, and reports
// whether nothing runs.
func (b *busy) idle(ctx context.Context) bool {
	deadline := time.Now().Add(closeWait)
	for b.n.Load() > 0 {
		if ctx.Err() != nil || time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
