package storage

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Use counters are written in batches by package usecount: one counters
// document per workspace (credential_uses, _id = workspace id) holding the
// counts of its credentials, and, per writing instance, the sequence number of
// the last batch it added (f.<instance>), so that a reader on that instance
// knows which of its batches the document holds.
//
// The counts are one binary field (b, usesblob.go), not a field per
// credential: FerretDB decodes and re-encodes a whole document, field by
// field, on every update, so a document of a field per credential cost ~0.1 ms
// per credential per update (27 ms for a workspace of 250, under the
// embedded database's one writer). A binary field costs little more to decode
// than to copy. Because an update no longer adds server-side ($inc), a batch is
// a read and a write of the next revision (r): under the document's lock on
// FerretDB, guarded by the revision read elsewhere (two instances adding at
// once retry), so no count is lost. Documents of the earlier layout (a field
// per credential under c) are read as well and rewritten in the new one by
// their next batch.
//
// On the embedded database the counters are in the storage file instead
// (usesfile.go), in the same binary layout: there a batch was a FerretDB read
// and rewrite of the document, ~2 ms of CPU per workspace per flush.
const colUses = "credential_uses"

// Uses are a credential's use counters.
type Uses struct {
	UseCount   int64
	LastUsedAt *time.Time
}

// CredentialRef names a credential together with its workspace.
type CredentialRef struct{ WorkspaceID, ID string }

// WorkspaceUses is one workspace's counters document: the counts by credential
// id, and the last batch of the asking instance that it holds (0: none).
type WorkspaceUses struct {
	Credentials map[string]Uses
	Batch       int64
}

type usesDoc struct {
	ID string           `bson:"_id"`
	R  int64            `bson:"r"`
	B  []byte           `bson:"b"`
	F  map[string]int64 `bson:"f"`
	// C is the earlier layout's counts, a field per credential.
	C map[string]struct {
		N    int64      `bson:"n"`
		Last *time.Time `bson:"last"`
	} `bson:"c,omitempty"`
}

// counts decodes a document's counts, of either layout.
func (d usesDoc) counts() (map[string]Uses, error) {
	out, err := decodeUses(d.B)
	if err != nil {
		return nil, fmt.Errorf("use counters of %s: %w", d.ID, err)
	}
	for id, c := range d.C {
		u := Uses{UseCount: c.N}
		if c.Last != nil {
			last := c.Last.UTC()
			u.LastUsedAt = &last
		}
		addUses(out, id, u)
	}
	return out, nil
}

func addUses(m map[string]Uses, id string, u Uses) {
	cur := m[id]
	cur.UseCount += u.UseCount
	if u.LastUsedAt != nil && (cur.LastUsedAt == nil || u.LastUsedAt.After(*cur.LastUsedAt)) {
		last := u.LastUsedAt.UTC().Truncate(time.Millisecond)
		cur.LastUsedAt = &last
	}
	m[id] = cur
}

// usesStore keeps the use counters: in a collection of the database
// (usesCollections), or, on the embedded database, in the storage file
// (usesfile.go), where a batch costs a few rows instead of a FerretDB document
// read and rewritten.
type usesStore interface {
	// rewrite reads a workspace's counters, lets change edit them, and
	// writes them back, as one step; when change reports no change, nothing
	// is written.
	rewrite(ctx context.Context, workspaceID string, change func(d *usesDoc, all map[string]Uses) bool) error
	// stored reads the counters of workspaces, each with at least instance's
	// batch marker.
	stored(ctx context.Context, workspaceIDs []string, instance string) ([]usesDoc, error)
	forgetInstance(ctx context.Context, workspaceIDs []string, instance string) error
	drop(ctx context.Context, workspaceID string) error
}

// AddUses adds counts (by credential id) to a workspace's counters, as batch
// number batch of instance: a read and one write, as one step.
func (s *Store) AddUses(ctx context.Context, workspaceID, instance string, batch int64, counts map[string]Uses) error {
	return s.uses.rewrite(ctx, workspaceID, func(d *usesDoc, all map[string]Uses) bool {
		for id, c := range counts {
			addUses(all, id, c)
		}
		if d.F[instance] < batch {
			if d.F == nil {
				d.F = map[string]int64{}
			}
			d.F[instance] = batch
		}
		return true
	})
}

// StoredUses returns the counters documents of workspaces, with instance's last
// batch in each. A workspace without one is left out.
func (s *Store) StoredUses(ctx context.Context, workspaceIDs []string, instance string) (map[string]WorkspaceUses, error) {
	docs, err := s.uses.stored(ctx, workspaceIDs, instance)
	if err != nil {
		return nil, err
	}
	out := make(map[string]WorkspaceUses, len(docs))
	for _, d := range docs {
		counts, err := d.counts()
		if err != nil {
			return nil, err
		}
		out[d.ID] = WorkspaceUses{Credentials: counts, Batch: d.F[instance]}
	}
	return out, nil
}

// ForgetInstance removes instance's batch markers from workspaces' counters
// (when it stops: a marker is only of use to the instance that wrote it).
func (s *Store) ForgetInstance(ctx context.Context, workspaceIDs []string, instance string) error {
	if len(workspaceIDs) == 0 {
		return nil
	}
	return s.uses.forgetInstance(ctx, workspaceIDs, instance)
}

// UpsertUsage attaches a consumer if needed and counts one use of it. Its name
// is set on insert, and replaced only when rename is true.
func (s *Store) UpsertUsage(ctx context.Context, u Usage, rename bool, at time.Time) error {
	u.ID = UsageID(u.CredentialID, u.ConsumerKind, u.ConsumerID)
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

// AddConsumerUses adds n uses, the last at last, to an attached consumer's
// usage (usecount's coalesced counts); attached is false when there is no such
// usage (it was detached), and then nothing is written.
func (s *Store) AddConsumerUses(ctx context.Context, usageID string, n int64, last time.Time) (attached bool, err error) {
	res, err := s.col(colUsages).UpdateOne(ctx, bson.M{"_id": usageID},
		bson.M{"$inc": bson.M{"useCount": n}, "$max": bson.M{"lastUsedAt": last}})
	if err != nil {
		return false, fmt.Errorf("count consumer uses: %w", err)
	}
	return res.MatchedCount > 0, nil
}

// forgetUses drops a deleted credential's counters (best effort: left behind,
// they are only a few bytes nobody reads).
func (s *Store) forgetUses(ctx context.Context, workspaceID, id string) {
	_ = s.uses.rewrite(ctx, workspaceID, func(_ *usesDoc, all map[string]Uses) bool {
		_, ok := all[id]
		delete(all, id)
		return ok
	})
}
