package storage

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// auditCollections keeps the audit log in the database: an entry per document
// in colAudit, a head per log in colAuditHeads.
type auditCollections struct{ s *Store }

func (a auditCollections) head(ctx context.Context, log string) (AuditHead, error) {
	var h AuditHead
	err := one(a.s.col(colAuditHeads).FindOne(ctx, bson.M{"_id": log}), &h, "read audit head")
	if errors.Is(err, ErrNotFound) {
		return AuditHead{}, nil
	}
	return h, err
}

func (a auditCollections) advanceHeads(ctx context.Context, moves []AuditHeadMove) error {
	col := a.s.col(colAuditHeads)
	if col.locks != nil {
		return a.advanceHeadsLocked(ctx, col, moves)
	}
	models := make([]mongo.WriteModel, len(moves))
	for i, m := range moves {
		models[i] = mongo.NewUpdateOneModel().
			SetFilter(bson.M{"_id": m.Log, "$or": bson.A{bson.M{"seq": bson.M{"$lt": m.To.Seq}}, bson.M{"seq": bson.M{"$exists": false}}}}).
			SetUpdate(bson.M{"$set": bson.M{"seq": m.To.Seq, "hash": m.To.Hash}}).
			SetUpsert(true)
	}
	_, err := col.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	if err != nil && !isDuplicateKey(err) {
		return fmt.Errorf("advance audit heads: %w", err)
	}
	return nil
}

// advanceHeadsLocked is advanceHeads on FerretDB v1, which answers a filter
// from its _id index only when the filter holds nothing else: with the guard,
// every move read every head of the collection (100 logs: 10,000 documents
// decoded per flush). So the heads' locks make the read and the writes one
// step: the heads are read once, and those still behind their targets are
// moved by _id alone.
func (a auditCollections) advanceHeadsLocked(ctx context.Context, col collection, moves []AuditHeadMove) error {
	ids := make([]string, len(moves))
	for i, m := range moves {
		ids[i] = m.Log
	}
	defer col.lockDocs(ids, true, true)()
	var current []struct {
		Log string `bson:"_id"`
		Seq int64  `bson:"seq"`
	}
	if err := a.s.all(ctx, colAuditHeads, byIDs(ids), &current, "read audit heads"); err != nil {
		return fmt.Errorf("advance audit heads: %w", err)
	}
	at := make(map[string]int64, len(current))
	for _, h := range current {
		at[h.Log] = h.Seq
	}
	var models []mongo.WriteModel
	for _, m := range moves {
		if seq, ok := at[m.Log]; ok && seq >= m.To.Seq {
			continue
		}
		models = append(models, mongo.NewUpdateOneModel().
			SetFilter(bson.M{"_id": m.Log}).
			SetUpdate(bson.M{"$set": bson.M{"seq": m.To.Seq, "hash": m.To.Hash}}).
			SetUpsert(true))
	}
	if len(models) == 0 {
		return nil
	}
	if _, err := col.bulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
		return fmt.Errorf("advance audit heads: %w", err)
	}
	return nil
}

func (a auditCollections) insert(ctx context.Context, es []AuditEntry) error {
	docs := make([]any, len(es))
	for i, e := range es {
		docs[i] = e
	}
	_, err := a.s.col(colAudit).InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
	if err != nil {
		if isDuplicateKey(err) {
			return fmt.Errorf("write audit entries: %w", ErrConflict)
		}
		return fmt.Errorf("write audit entries: %w", err)
	}
	return nil
}

func (a auditCollections) entry(ctx context.Context, log string, seq int64) (AuditEntry, error) {
	var e AuditEntry
	err := one(a.s.col(colAudit).FindOne(ctx, bson.M{"_id": AuditEntryID(log, seq)}), &e, "read audit entry")
	return e, err
}

func (q AuditQuery) filter() bson.M {
	f := bson.M{"workspaceId": q.Log}
	if q.Action != "" {
		f["action"] = q.Action
	}
	if q.TargetID != "" {
		f["targetId"] = q.TargetID
	}
	if q.ActorID != "" {
		f["actorUserId"] = q.ActorID
	}
	if q.TokenID != "" {
		f["actorTokenId"] = q.TokenID
	}
	if q.Outcome != "" {
		f["outcome"] = q.Outcome
	}
	at := bson.M{}
	if q.Since != nil {
		at["$gte"] = *q.Since
	}
	if q.Until != nil {
		at["$lte"] = *q.Until
	}
	if len(at) > 0 {
		f["at"] = at
	}
	return f
}

func (a auditCollections) entries(ctx context.Context, q AuditQuery) ([]AuditEntry, int64, error) {
	f := q.filter()
	total, err := a.s.col(colAudit).CountDocuments(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("count audit entries: %w", err)
	}
	seq := bson.M{}
	if q.BeforeSeq > 0 {
		seq["$lt"] = q.BeforeSeq
	}
	if q.AfterSeq > 0 {
		seq["$gt"] = q.AfterSeq
	}
	if len(seq) > 0 {
		f["seq"] = seq
	}
	order := -1
	if q.Oldest {
		order = 1
	}
	var out []AuditEntry
	if err := a.s.all(ctx, colAudit, f, &out, "find audit entries",
		options.Find().SetSort(bson.D{{Key: "seq", Value: order}}).SetLimit(q.Limit)); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

func (a auditCollections) forEach(ctx context.Context, log string, fn func(AuditEntry) error) error {
	return eachOn(ctx, a.s.col(colAudit).Collection, bson.M{"workspaceId": log}, "read audit log", fn,
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
}
