package storage

import (
	"context"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
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

// countedEncryption is a Store's ClientEncryption, its calls counted as
// running: like the collection wrapper's locks, no call site can forget it.
type countedEncryption struct {
	ce      *mongo.ClientEncryption
	running *busy
}

func (c countedEncryption) Encrypt(ctx context.Context, v bson.RawValue, opts ...*options.EncryptOptions) (primitive.Binary, error) {
	defer c.running.hold()()
	return c.ce.Encrypt(ctx, v, opts...)
}

func (c countedEncryption) Decrypt(ctx context.Context, v primitive.Binary) (bson.RawValue, error) {
	defer c.running.hold()()
	return c.ce.Decrypt(ctx, v)
}

func (c countedEncryption) CreateDataKey(ctx context.Context, provider string, opts ...*options.DataKeyOptions) (primitive.Binary, error) {
	defer c.running.hold()()
	return c.ce.CreateDataKey(ctx, provider, opts...)
}

func (c countedEncryption) RewrapManyDataKey(ctx context.Context, filter any, opts ...*options.RewrapManyDataKeyOptions) (*mongo.RewrapManyDataKeyResult, error) {
	defer c.running.hold()()
	return c.ce.RewrapManyDataKey(ctx, filter, opts...)
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
