package storage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
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

// maxUsesAttempts bounds the retries of one batch when other instances keep
// writing the same document.
const maxUsesAttempts = 50

// AddUses adds counts (by credential id) to a workspace's counters, as batch
// number batch of instance: a read and one guarded write (retried when another
// instance wrote in between).
func (s *Store) AddUses(ctx context.Context, workspaceID, instance string, batch int64, counts map[string]Uses) error {
	return s.rewriteUses(ctx, workspaceID, func(d *usesDoc, all map[string]Uses) bool {
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

// rewriteUses reads a workspace's counters, lets change edit them, and writes
// them back as the next revision. When change reports no change, nothing is
// written.
func (s *Store) rewriteUses(ctx context.Context, workspaceID string, change func(d *usesDoc, all map[string]Uses) bool) error {
	col := s.col(colUses)
	if col.locks != nil {
		// FerretDB v1, one instance: the document's lock makes the read and
		// the write one step, and the write names the document by _id alone,
		// the only filter FerretDB v1 answers from its index (with any other
		// field it reads every document of the collection).
		defer col.lockDocs([]string{workspaceID}, true, true)()
		_, err := s.rewriteUsesOnce(ctx, col.Collection, workspaceID, false, change)
		return err
	}
	for attempt := range maxUsesAttempts {
		if attempt > 0 {
			// Another write came first: a short random pause, so that two
			// instances do not collide again in step.
			time.Sleep(time.Duration(rand.IntN(1000*attempt)) * time.Microsecond)
		}
		if done, err := s.rewriteUsesOnce(ctx, col.Collection, workspaceID, true, change); done || err != nil {
			return err
		}
	}
	return fmt.Errorf("write use counts: %w: the counters of the workspace kept changing", ErrConflict)
}

// rewriteUsesOnce is one read and write of rewriteUses; with guarded set, the
// write applies only to the revision read, and done is false when another
// write came first.
func (s *Store) rewriteUsesOnce(ctx context.Context, col *mongo.Collection, workspaceID string, guarded bool,
	change func(d *usesDoc, all map[string]Uses) bool) (done bool, err error) {
	var d usesDoc
	err = one(col.FindOne(ctx, bson.M{"_id": workspaceID}), &d, "read use counts")
	found := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	all, err := d.counts()
	if err != nil {
		return false, err
	}
	if !change(&d, all) {
		return true, nil
	}
	set := bson.M{"r": d.R + 1, "b": encodeUses(all)}
	if len(d.F) > 0 {
		set["f"] = d.F
	}
	if !found {
		set["_id"] = workspaceID
		_, err := col.InsertOne(ctx, set)
		if guarded && isDuplicateKey(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("write use counts: %w", err)
		}
		return true, nil
	}
	filter := bson.M{"_id": workspaceID}
	if guarded {
		filter["r"] = d.R
		if d.R == 0 {
			filter["r"] = bson.M{"$exists": false} // the earlier layout had no revision
		}
	}
	res, err := col.UpdateOne(ctx, filter, bson.M{"$set": set, "$unset": bson.M{"c": ""}})
	if err != nil {
		return false, fmt.Errorf("write use counts: %w", err)
	}
	return res.MatchedCount == 1, nil
}

// StoredUses returns the counters documents of workspaces, with instance's last
// batch in each. A workspace without one is left out.
func (s *Store) StoredUses(ctx context.Context, workspaceIDs []string, instance string) (map[string]WorkspaceUses, error) {
	var docs []usesDoc
	if err := s.all(ctx, colUses, byIDs(workspaceIDs), &docs, "read use counters"); err != nil {
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
	_, err := s.col(colUses).UpdateMany(ctx, byIDs(workspaceIDs), bson.M{"$unset": bson.M{"f." + instance: ""}, "$inc": bson.M{"r": int64(1)}})
	if err != nil {
		return fmt.Errorf("forget use-count batches: %w", err)
	}
	return nil
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

// forgetUses drops a deleted credential's counters (best effort: left behind,
// they are only a few bytes nobody reads).
func (s *Store) forgetUses(ctx context.Context, workspaceID, id string) {
	_ = s.rewriteUses(ctx, workspaceID, func(_ *usesDoc, all map[string]Uses) bool {
		_, ok := all[id]
		delete(all, id)
		return ok
	})
}
