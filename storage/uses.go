package storage

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Use counters are written in batches by package usecount: one counters
// document per workspace (credential_uses, _id = workspace id), with the counts
// of its credentials as fields (c.<credential id>.n and .last) and, per writing
// instance, the sequence number of the last batch it added (f.<instance>), so
// that a reader on that instance knows which of its batches the document holds.
// Every update is an _id lookup, which the embedded database answers from an
// index (embedded/sqliteid.go), so a batch costs the same whatever the database's size.
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
	ID string `bson:"_id"`
	C  map[string]struct {
		N    int64      `bson:"n"`
		Last *time.Time `bson:"last"`
	} `bson:"c"`
	F map[string]int64 `bson:"f"`
}

// AddUses adds counts (by credential id) to a workspace's counters, as batch
// number batch of instance, in one update.
func (s *Store) AddUses(ctx context.Context, workspaceID, instance string, batch int64, counts map[string]Uses) error {
	inc, latest := bson.M{}, bson.M{"f." + instance: batch}
	for id, c := range counts {
		inc["c."+id+".n"] = c.UseCount
		if c.LastUsedAt != nil {
			latest["c."+id+".last"] = *c.LastUsedAt
		}
	}
	_, err := s.col(colUses).UpdateOne(ctx, bson.M{"_id": workspaceID}, bson.M{"$inc": inc, "$max": latest}, options.Update().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("write use counts: %w", err)
	}
	return nil
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
		w := WorkspaceUses{Credentials: make(map[string]Uses, len(d.C)), Batch: d.F[instance]}
		for id, c := range d.C {
			u := Uses{UseCount: c.N}
			if c.Last != nil {
				last := c.Last.UTC()
				u.LastUsedAt = &last
			}
			w.Credentials[id] = u
		}
		out[d.ID] = w
	}
	return out, nil
}

// ForgetInstance removes instance's batch markers from workspaces' counters
// (when it stops: a marker is only of use to the instance that wrote it).
func (s *Store) ForgetInstance(ctx context.Context, workspaceIDs []string, instance string) error {
	if len(workspaceIDs) == 0 {
		return nil
	}
	_, err := s.col(colUses).UpdateMany(ctx, byIDs(workspaceIDs), bson.M{"$unset": bson.M{"f." + instance: ""}})
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
	_, _ = s.col(colUses).UpdateOne(ctx, bson.M{"_id": workspaceID}, bson.M{"$unset": bson.M{"c." + id: ""}})
}
