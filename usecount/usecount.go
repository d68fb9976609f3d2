// Package usecount counts credential uses. useCredential adds to counts held in
// memory; a flusher writes them in batches, one update of the workspace's
// counters document per workspace per batch, instead of one write per use.
// On the database of one writer it coalesces the uses by each named consumer
// the same way (consumers.go).
//
// Nothing is lost: a batch that fails to write goes back to the pending counts
// for the next flush, and Close flushes. Reads add this instance's unwritten
// counts to the stored ones without waiting for a flush in progress: each batch
// has a sequence number that its update records in the document (per instance),
// so a reader adds exactly the batches the document it read does not hold yet.
// Other instances see a use after this one's next flush (at most Interval
// later); lastUsedAt is exact to the millisecond of the use.
package usecount

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2"

	"credkeep/storage"
)

// Interval is the time between two flushes. A flush is one small update per
// workspace with uses, so it can be short; a longer one bought no throughput
// (docs/performance.md).
const Interval = 500 * time.Millisecond

// Store is where the counts are kept (storage.Store).
type Store interface {
	AddUses(ctx context.Context, workspaceID, instance string, batch int64, counts map[string]storage.Uses) error
	StoredUses(ctx context.Context, workspaceIDs []string, instance string) (map[string]storage.WorkspaceUses, error)
	ForgetInstance(ctx context.Context, workspaceIDs []string, instance string) error
	// The consumers' counts (consumers.go).
	UpsertUsage(ctx context.Context, u storage.Usage, rename bool, at time.Time) error
	AddConsumerUses(ctx context.Context, usageID string, n int64, last time.Time) (attached bool, err error)
	UsagesOf(ctx context.Context, credentialID string) ([]storage.Usage, error)
	OneInstance() bool
}

// Counter counts the uses of one server instance. It is safe for concurrent use.
type Counter struct {
	store    Store
	log      *slog.Logger
	instance string // names this instance's batch markers in the counters documents

	flushing sync.Mutex // one flush at a time, so batches reach a workspace in order

	mu      sync.Mutex
	pending map[string]count // by credential id, in no batch yet
	batches []*batch         // being written, or written while a read was running
	next    int64            // the next batch's number
	tick    uint64           // orders batch completions and read starts
	reads   map[uint64]int   // running reads, by the tick at which they began
	written map[string]bool  // workspaces whose documents carry this instance's marker

	// The consumers' counts (consumers.go), on the database of one writer.
	oneWriter bool
	consumers map[string]count // by usage id, not written yet
	attached  *lru.Cache[string, attachedAs]
	forgets   uint64 // moves with every consumer forgotten from attached

	started bool
	stop    chan struct{}
	stopped chan struct{}
}

type count struct {
	workspaceID string
	n           int64
	last        time.Time
}

type batch struct {
	seq    int64
	counts map[string]count // what it writes; a workspace whose write failed is taken out
	doneAt uint64           // tick at which its writes ended; 0 while they run
}

// New returns a Counter writing to store; Start runs its flusher.
func New(store Store, log *slog.Logger) *Counter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	attached, _ := lru.New[string, attachedAs](knownConsumers) // errors only for a size < 1
	id := make([]byte, 8)
	_, _ = rand.Read(id) // never fails (crypto/rand)
	return &Counter{
		store: store, log: log, instance: hex.EncodeToString(id),
		pending: map[string]count{}, next: 1, reads: map[uint64]int{}, written: map[string]bool{},
		oneWriter: store.OneInstance(), consumers: map[string]count{}, attached: attached,
		stop: make(chan struct{}), stopped: make(chan struct{}),
	}
}

// Start runs the flusher until Close.
func (c *Counter) Start() *Counter {
	c.started = true
	go c.run()
	return c
}

// Close stops the flusher and writes what is pending. It must be called once,
// before the store closes.
func (c *Counter) Close(ctx context.Context) error {
	if c.started {
		close(c.stop)
		<-c.stopped
	}
	err := c.Flush(ctx)
	c.mu.Lock()
	wss := slices.Collect(maps.Keys(c.written))
	c.mu.Unlock()
	if ferr := c.store.ForgetInstance(ctx, wss, c.instance); ferr != nil {
		c.log.Warn("use-count batch markers left behind", "error", ferr)
	}
	return err
}

func (c *Counter) run() {
	defer close(c.stopped)
	t := time.NewTicker(Interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := c.Flush(ctx); err != nil {
				c.log.Warn("use counts not written yet; kept for the next flush", "error", err)
			}
			cancel()
		}
	}
}

// Record counts one use of a credential at a time.
func (c *Counter) Record(workspaceID, credentialID string, at time.Time) {
	c.mu.Lock()
	add(c.pending, credentialID, count{workspaceID: workspaceID, n: 1, last: at})
	c.mu.Unlock()
}

func add(m map[string]count, id string, n count) {
	cur := m[id]
	cur.workspaceID = n.workspaceID
	cur.n += n.n
	if n.last.After(cur.last) {
		cur.last = n.last
	}
	m[id] = cur
}

// Flush writes the pending counts now, one update per workspace, and the
// consumers' (consumers.go), one update per usage. Counts whose update fails
// are kept for the next flush (an update that failed after it was applied
// then counts twice: counts err on the side of not losing uses).
func (c *Counter) Flush(ctx context.Context) error {
	c.flushing.Lock()
	defer c.flushing.Unlock()
	err := c.flushCredentials(ctx)
	if cerr := c.flushConsumers(ctx); err == nil {
		err = cerr
	}
	return err
}

// flushCredentials writes the credentials' counts. Callers hold flushing.
func (c *Counter) flushCredentials(ctx context.Context) error {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return nil
	}
	b := &batch{seq: c.next, counts: c.pending}
	c.next++
	c.pending = map[string]count{}
	c.batches = append(c.batches, b)
	byWorkspace := map[string]map[string]storage.Uses{}
	for id, n := range b.counts {
		last := n.last
		if byWorkspace[n.workspaceID] == nil {
			byWorkspace[n.workspaceID] = map[string]storage.Uses{}
		}
		byWorkspace[n.workspaceID][id] = storage.Uses{UseCount: n.n, LastUsedAt: &last}
	}
	c.mu.Unlock()

	var firstErr error
	for ws, counts := range byWorkspace {
		err := c.store.AddUses(ctx, ws, c.instance, b.seq, counts)
		c.mu.Lock()
		if err == nil {
			c.written[ws] = true
		} else {
			if firstErr == nil {
				firstErr = err
			}
			// Out of the batch and back to pending in one step, so that a
			// reader counts them once.
			for id := range counts {
				add(c.pending, id, b.counts[id])
				delete(b.counts, id)
			}
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	c.tick++
	b.doneAt = c.tick
	c.collect()
	c.mu.Unlock()
	return firstErr
}

// collect drops the batches no running read can need: those whose writes ended
// before every running read began (such a read finds them in the documents).
// Callers hold mu.
func (c *Counter) collect() {
	oldest := c.tick + 1
	for t := range c.reads {
		oldest = min(oldest, t)
	}
	c.batches = slices.DeleteFunc(c.batches, func(b *batch) bool { return b.doneAt != 0 && b.doneAt < oldest })
}

// CredentialUses returns the use counters of credentials: the stored counts
// plus this instance's unwritten ones. A credential never used reads as zero.
func (c *Counter) CredentialUses(ctx context.Context, refs []storage.CredentialRef) (map[storage.CredentialRef]storage.Uses, error) {
	c.mu.Lock()
	c.tick++
	began := c.tick
	c.reads[began]++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.reads[began]--; c.reads[began] == 0 {
			delete(c.reads, began)
		}
		c.collect()
		c.mu.Unlock()
	}()

	var wss []string
	for _, r := range refs {
		if !slices.Contains(wss, r.WorkspaceID) {
			wss = append(wss, r.WorkspaceID)
		}
	}
	stored, err := c.store.StoredUses(ctx, wss, c.instance)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[storage.CredentialRef]storage.Uses, len(refs))
	for _, r := range refs {
		doc := stored[r.WorkspaceID]
		u := doc.Credentials[r.ID]
		for _, b := range c.batches {
			if n, ok := b.counts[r.ID]; ok && b.seq > doc.Batch && n.workspaceID == r.WorkspaceID {
				u = plus(u, n)
			}
		}
		if n, ok := c.pending[r.ID]; ok && n.workspaceID == r.WorkspaceID {
			u = plus(u, n)
		}
		out[r] = u
	}
	return out, nil
}

func plus(u storage.Uses, n count) storage.Uses {
	u.UseCount += n.n
	if n.n > 0 && (u.LastUsedAt == nil || n.last.After(*u.LastUsedAt)) {
		last := n.last
		u.LastUsedAt = &last
	}
	return u
}
