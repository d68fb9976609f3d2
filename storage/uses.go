package storage

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// A credential's use counters are coalesced: useCredential adds to in-process
// counts, and a flusher writes them every useFlushInterval into one counters
// document per workspace (credential_uses, _id = workspace id, with the
// counts of its credentials as fields: c.<credential id>.n and .last), one
// update per workspace instead of one update of a large document per use.
// Every update is an _id lookup, which the embedded database answers from an
// index (sqliteid.go), so a flush costs the same whatever the database's size.
// Nothing is lost: counts that fail to write are kept for the next flush, and
// Close flushes. Reads
// (CredentialUses) add this instance's unwritten counts under a lock the
// flusher holds while it writes, so on the instance that counted a use it
// shows at once; other instances see it after the next flush (at most
// useFlushInterval later). lastUsedAt is exact to the flush interval.
//
// A flush is one small update per workspace with uses, so the interval can be
// short; a longer one bought no throughput (docs/performance.md).
const useFlushInterval = 500 * time.Millisecond

const colUses = "credential_uses"

// usesDoc is one workspace's counters document.
type usesDoc struct {
	ID string `bson:"_id"`
	C  map[string]struct {
		N    int64      `bson:"n"`
		Last *time.Time `bson:"last"`
	} `bson:"c"`
}

type useCounts struct {
	workspaceID string
	n           int64
	last        time.Time
}

type useCounter struct {
	// rw: flushes hold it exclusively, readers of counts shared, so a read never
	// sees a count both in the database and still pending.
	rw      sync.RWMutex
	mu      sync.Mutex
	creds   map[string]useCounts // by credential id
	stop    chan struct{}
	stopped chan struct{}
}

func newUseCounter() *useCounter {
	return &useCounter{creds: map[string]useCounts{}, stop: make(chan struct{}), stopped: make(chan struct{})}
}

func add(m map[string]useCounts, id, workspaceID string, n int64, at time.Time) {
	c := m[id]
	c.workspaceID = workspaceID
	c.n += n
	if at.After(c.last) {
		c.last = at
	}
	m[id] = c
}

// RecordUse counts one use of a credential, and of its consumer when u is not
// nil (the consumer's usage is created on its first use).
func (s *Store) RecordUse(ctx context.Context, workspaceID, credentialID string, u *Usage, rename bool, at time.Time) error {
	if u != nil {
		u.ID = UsageID(u.CredentialID, u.ConsumerKind, u.ConsumerID)
		if err := s.upsertUsage(ctx, u, rename, at); err != nil {
			return err
		}
	}
	s.uses.mu.Lock()
	add(s.uses.creds, credentialID, workspaceID, 1, at)
	s.uses.mu.Unlock()
	return nil
}

// upsertUsage attaches a consumer if needed and counts one use of it. Its name
// is set on insert, and replaced only when rename is true.
func (s *Store) upsertUsage(ctx context.Context, u *Usage, rename bool, at time.Time) error {
	defer s.serialize(colUsages + "/" + u.ID)()
	onInsert := bson.M{"credentialId": u.CredentialID, "workspaceId": u.WorkspaceID,
		"consumerKind": u.ConsumerKind, "consumerId": u.ConsumerID, "attachedAt": at}
	update := bson.M{
		"$inc":         bson.M{"useCount": 1},
		"$max":         bson.M{"lastUsedAt": at},
		"$setOnInsert": onInsert,
	}
	switch {
	case u.ConsumerName != "" && rename:
		update["$set"] = bson.M{"consumerName": u.ConsumerName}
	case u.ConsumerName != "":
		onInsert["consumerName"] = u.ConsumerName
	}
	if _, err := s.col(colUsages).UpdateOne(ctx, bson.M{"_id": u.ID}, update, options.Update().SetUpsert(true)); err != nil {
		return fmt.Errorf("count consumer use: %w", err)
	}
	return nil
}

// runUseFlusher writes counts until Close.
func (s *Store) runUseFlusher() {
	defer close(s.uses.stopped)
	t := time.NewTicker(useFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.uses.stop:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := s.FlushUses(ctx); err != nil {
				s.log.Error("use counts not written at shutdown", "error", err)
			}
			cancel()
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := s.FlushUses(ctx); err != nil {
				s.log.Warn("use counts not written yet; kept for the next flush", "error", err)
			}
			cancel()
		}
	}
}

// FlushUses writes this instance's pending use counts now.
func (s *Store) FlushUses(ctx context.Context) error {
	s.uses.rw.Lock()
	defer s.uses.rw.Unlock()
	s.uses.mu.Lock()
	creds := s.uses.creds
	s.uses.creds = map[string]useCounts{}
	s.uses.mu.Unlock()
	err := s.flushCounts(ctx, creds)
	// What is left was not written: keep it for the next flush. (An update that
	// failed half-way may then count some uses twice: counts err on the side of
	// not losing uses.)
	s.uses.mu.Lock()
	for id, c := range creds {
		add(s.uses.creds, id, c.workspaceID, c.n, c.last)
	}
	s.uses.mu.Unlock()
	return err
}

// flushCounts writes counts, one update of each workspace's counters document;
// what it wrote is removed from counts.
func (s *Store) flushCounts(ctx context.Context, counts map[string]useCounts) error {
	byWS := map[string][]string{}
	for id, c := range counts {
		byWS[c.workspaceID] = append(byWS[c.workspaceID], id)
	}
	var firstErr error
	for ws, ids := range byWS {
		inc, last := bson.M{}, bson.M{}
		for _, id := range ids {
			inc["c."+id+".n"] = counts[id].n
			last["c."+id+".last"] = counts[id].last
		}
		unlock, unlockWriter := s.serialize(colUses+"/"+ws), s.hotWrite()
		_, err := s.col(colUses).UpdateOne(ctx, bson.M{"_id": ws}, bson.M{"$inc": inc, "$max": last}, options.Update().SetUpsert(true))
		unlockWriter()
		unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("write use counts: %w", err)
			}
			continue
		}
		for _, id := range ids {
			delete(counts, id) // written: not to be kept
		}
	}
	return firstErr
}

// forgetUses drops a deleted credential's counters (best effort: left behind,
// they are only a few bytes nobody reads).
func (s *Store) forgetUses(ctx context.Context, workspaceID, id string) {
	defer s.serialize(colUses + "/" + workspaceID)()
	_, _ = s.col(colUses).UpdateOne(ctx, bson.M{"_id": workspaceID}, bson.M{"$unset": bson.M{"c." + id: ""}})
}

// pendingUses returns this instance's unwritten counts of credentials (callers hold uses.rw).
func (s *Store) pendingUses(ids []string) map[string]useCounts {
	s.uses.mu.Lock()
	defer s.uses.mu.Unlock()
	out := map[string]useCounts{}
	for _, id := range ids {
		if c, ok := s.uses.creds[id]; ok {
			out[id] = c
		}
	}
	return out
}

func (u Uses) plus(c useCounts) Uses {
	u.UseCount += c.n
	if c.n > 0 && (u.LastUsedAt == nil || c.last.After(*u.LastUsedAt)) {
		last := c.last
		u.LastUsedAt = &last
	}
	return u
}
