package storage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
)

// usesCollections keeps the use counters in the database: a document per
// workspace in colUses (the layout is described in uses.go).
type usesCollections struct{ s *Store }

// maxUsesAttempts bounds the retries of one batch when other instances keep
// writing the same document.
const maxUsesAttempts = 50

// rewrite reads a workspace's counters, lets change edit them, and writes
// them back as the next revision. When change reports no change, nothing is
// written.
func (u usesCollections) rewrite(ctx context.Context, workspaceID string, change func(d *usesDoc, all map[string]Uses) bool) error {
	col := u.s.col(colUses)
	if col.locks != nil {
		// FerretDB v1, one instance: the document's lock makes the read and
		// the write one step, and the write names the document by _id alone,
		// the only filter FerretDB v1 answers from its index (with any other
		// field it reads every document of the collection).
		defer col.lockDocs([]string{workspaceID}, true, true)()
		_, err := rewriteUsesOnce(ctx, col.Collection, workspaceID, false, change)
		return err
	}
	for attempt := range maxUsesAttempts {
		if attempt > 0 {
			// Another write came first: a short random pause, so that two
			// instances do not collide again in step.
			time.Sleep(time.Duration(rand.IntN(1000*attempt)) * time.Microsecond)
		}
		if done, err := rewriteUsesOnce(ctx, col.Collection, workspaceID, true, change); done || err != nil {
			return err
		}
	}
	return fmt.Errorf("write use counts: %w: the counters of the workspace kept changing", ErrConflict)
}

// rewriteUsesOnce is one read and write of rewrite; with guarded set, the
// write applies only to the revision read, and done is false when another
// write came first.
func rewriteUsesOnce(ctx context.Context, col *mongo.Collection, workspaceID string, guarded bool,
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

func (u usesCollections) stored(ctx context.Context, workspaceIDs []string, _ string) ([]usesDoc, error) {
	var docs []usesDoc
	if err := u.s.all(ctx, colUses, byIDs(workspaceIDs), &docs, "read use counters"); err != nil {
		return nil, err
	}
	return docs, nil
}

func (u usesCollections) forgetInstance(ctx context.Context, workspaceIDs []string, instance string) error {
	_, err := u.s.col(colUses).UpdateMany(ctx, byIDs(workspaceIDs), bson.M{"$unset": bson.M{"f." + instance: ""}, "$inc": bson.M{"r": int64(1)}})
	if err != nil {
		return fmt.Errorf("forget use-count batches: %w", err)
	}
	return nil
}

func (u usesCollections) drop(ctx context.Context, workspaceID string) error {
	if _, err := u.s.col(colUses).DeleteOne(ctx, bson.M{"_id": workspaceID}); err != nil {
		return fmt.Errorf("delete use counters: %w", err)
	}
	return nil
}
