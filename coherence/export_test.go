package coherence

import (
	"context"
	"sync/atomic"
)

// CountSharedReads makes c count the shared rounds it reads from now on.
func CountSharedReads(c *Store) *atomic.Int64 {
	n := new(atomic.Int64)
	c.states = New(func(ctx context.Context, ids []string) (map[string]snapshot, error) {
		n.Add(1)
		return c.readRound(ctx, ids)
	}).WithLinger(stateReadLinger)
	return n
}
