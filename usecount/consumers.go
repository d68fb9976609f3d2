package usecount

import (
	"context"
	"time"

	"credkeep/storage"
)

// Uses by a consumer. A use that names its consumer counts on the consumer's
// usage as well (storage.Usage: a count and the time of the last use).
// Written on every use, that is an upsert of the usage's document: on the
// database of one writer, a FerretDB update behind its writer lock, which
// bounded such uses to ~640 a second (app.BenchmarkUseCredential).
//
// There the counts are coalesced like the credential's: a consumer's first use
// in this process is written at once (it attaches the consumer, or renames
// it), the next ones are added up in memory and written by the flush, one
// update of each usage, which never creates one: a consumer detached since
// stays detached. A detach through this process drops the counts it has not
// written (they were uses before the detach), so that a use after it attaches
// the consumer anew, from zero. A read of a credential's usages holds the
// flush lock, so it adds exactly the counts no flush has written. As with the
// credential's counts, a crash loses at most the last Interval's.
//
// Elsewhere another instance may detach a consumer that this one takes for
// attached, so every use is written at once, as before.

// knownConsumers bounds the consumers this process remembers as attached.
const knownConsumers = 10_000

// attachedAs is a consumer this process knows to be attached, and its name
// as stored when the process knows it.
type attachedAs struct {
	name  string
	named bool
}

// CountConsumerUse counts a use at at by u's consumer (attaching it if it is
// not attached); rename sets its name when it is attached already
// (storage.Store.UpsertUsage).
func (c *Counter) CountConsumerUse(ctx context.Context, u storage.Usage, rename bool, at time.Time) error {
	if !c.oneWriter {
		return c.store.UpsertUsage(ctx, u, rename, at)
	}
	id := storage.UsageID(u.CredentialID, u.ConsumerKind, u.ConsumerID)
	c.mu.Lock()
	if k, ok := c.attached.Get(id); ok && (!rename || u.ConsumerName == "" || (k.named && k.name == u.ConsumerName)) {
		add(c.consumers, id, count{n: 1, last: at})
		c.mu.Unlock()
		return nil
	}
	forgets := c.forgets
	c.mu.Unlock()
	if err := c.store.UpsertUsage(ctx, u, rename, at); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forgets == forgets { // not detached (nor renamed) since the write
		k := attachedAs{}
		if rename && u.ConsumerName != "" {
			k = attachedAs{name: u.ConsumerName, named: true}
		}
		c.attached.Add(id, k)
	}
	return nil
}

// ConsumerRenamed is told that a consumer was attached or renamed other than
// by a use: the name this process knew may be stale.
func (c *Counter) ConsumerRenamed(usageID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgets++
	c.attached.Remove(usageID)
}

// ConsumerDetached is told that a consumer was detached: its unwritten counts
// go, after a flush that is writing them has ended.
func (c *Counter) ConsumerDetached(usageID string) {
	c.flushing.Lock()
	defer c.flushing.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgets++
	c.attached.Remove(usageID)
	delete(c.consumers, usageID)
}

// ConsumerUsages returns a credential's usages (storage.Store.UsagesOf) with
// the counts this process has not written added.
func (c *Counter) ConsumerUsages(ctx context.Context, credentialID string) ([]storage.Usage, error) {
	if !c.oneWriter {
		return c.store.UsagesOf(ctx, credentialID)
	}
	c.flushing.Lock()
	defer c.flushing.Unlock()
	us, err := c.store.UsagesOf(ctx, credentialID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, u := range us {
		if n, ok := c.consumers[u.ID]; ok {
			uses := plus(storage.Uses{UseCount: u.UseCount, LastUsedAt: u.LastUsedAt}, n)
			us[i].UseCount, us[i].LastUsedAt = uses.UseCount, uses.LastUsedAt
		}
	}
	return us, nil
}

// flushConsumers writes the consumers' counts, one update of each usage;
// counts whose update failed are kept for the next flush. Callers hold
// flushing.
func (c *Counter) flushConsumers(ctx context.Context) error {
	c.mu.Lock()
	counts := c.consumers
	c.consumers = map[string]count{}
	c.mu.Unlock()
	var firstErr error
	for id, n := range counts {
		attached, err := c.store.AddConsumerUses(ctx, id, n.n, n.last)
		c.mu.Lock()
		switch {
		case err != nil:
			if firstErr == nil {
				firstErr = err
			}
			add(c.consumers, id, n)
		case !attached: // detached by another Store on the database (tests), or its credential deleted
			c.forgets++
			c.attached.Remove(id)
		}
		c.mu.Unlock()
	}
	return firstErr
}
