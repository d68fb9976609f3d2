package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

const (
	colAudit      = "audit"
	colAuditHeads = "audit_heads"
)

// PlatformLog is the log key of entries that belong to no workspace: tokens not
// restricted to a workspace, and the final record of each deleted workspace.
const PlatformLog = "_platform"

// AuditDetail is one key/value of an audit entry.
type AuditDetail struct {
	Key   string `bson:"k"`
	Value string `bson:"v"`
}

// AuditEntry is a stored audit record. Its _id is "<log>:<seq, 12 digits>", so
// the unique _id (and the unique log+seq index) make every seq of a log used once.
type AuditEntry struct {
	ID             string        `bson:"_id"`
	Log            string        `bson:"workspaceId"` // workspace id, or PlatformLog
	Seq            int64         `bson:"seq"`
	At             time.Time     `bson:"at"`
	Action         string        `bson:"action"`
	Outcome        string        `bson:"outcome"`
	ActorKind      string        `bson:"actorKind"`
	ActorUserID    string        `bson:"actorUserId,omitempty"`
	ActorTokenID   string        `bson:"actorTokenId,omitempty"`
	ActorTokenName string        `bson:"actorTokenName,omitempty"`
	TargetType     string        `bson:"targetType,omitempty"`
	TargetID       string        `bson:"targetId,omitempty"`
	TargetName     string        `bson:"targetName,omitempty"`
	IP             string        `bson:"ip,omitempty"`
	UserAgent      string        `bson:"userAgent,omitempty"`
	Details        []AuditDetail `bson:"details"`
	Hash           string        `bson:"hash"`
}

// AuditEntryID is the _id of a log's entry number seq.
func AuditEntryID(log string, seq int64) string { return fmt.Sprintf("%s:%012d", log, seq) }

// AuditHead is the last entry of a log: where the next one chains from.
type AuditHead struct {
	Seq  int64  `bson:"seq"`
	Hash string `bson:"hash"`
}

// AuditHead returns a log's head ({0, ""} for an empty log).
func (s *Store) AuditHead(ctx context.Context, log string) (AuditHead, error) {
	var h AuditHead
	err := one(s.col(colAuditHeads).FindOne(ctx, bson.M{"_id": log}), &h, "read audit head")
	if errors.Is(err, ErrNotFound) {
		return AuditHead{}, nil
	}
	return h, err
}

// AuditHeadMove moves one log's head from From to To.
type AuditHeadMove struct {
	Log      string
	From, To AuditHead
}

// AdvanceAuditHeads moves several logs' heads in one bulk write; a head already
// at or past its target (another writer moved it) is left alone.
func (s *Store) AdvanceAuditHeads(ctx context.Context, moves []AuditHeadMove) error {
	if len(moves) == 0 {
		return nil
	}
	col := s.col(colAuditHeads)
	if col.locks != nil {
		return s.advanceAuditHeadsLocked(ctx, col, moves)
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

// advanceAuditHeadsLocked is AdvanceAuditHeads on the embedded database.
// FerretDB v1 answers a filter from its _id index only when the filter holds
// nothing else: with the guard, every move read every head of the collection
// (100 logs: 10,000 documents decoded per flush). So the heads' locks make
// the read and the writes one step: the heads are read once, and those still
// behind their targets are moved by _id alone.
func (s *Store) advanceAuditHeadsLocked(ctx context.Context, col collection, moves []AuditHeadMove) error {
	ids := make([]string, len(moves))
	for i, m := range moves {
		ids[i] = m.Log
	}
	defer col.lockDocs(ids, true, true)()
	var current []struct {
		Log string `bson:"_id"`
		Seq int64  `bson:"seq"`
	}
	if err := s.all(ctx, colAuditHeads, byIDs(ids), &current, "read audit heads"); err != nil {
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

// InsertAuditEntries stores consecutive entries of one log in one ordered
// insert. On an error some leading entries may have been stored: the caller
// reads them back to know which (see audit.Log).
func (s *Store) InsertAuditEntries(ctx context.Context, es []AuditEntry) error {
	docs := make([]any, len(es))
	for i, e := range es {
		if e.Details == nil {
			e.Details = []AuditDetail{}
		}
		e.ID = AuditEntryID(e.Log, e.Seq)
		docs[i] = e
	}
	_, err := s.col(colAudit).InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
	if err != nil {
		if isDuplicateKey(err) {
			return fmt.Errorf("write audit entries: %w", ErrConflict)
		}
		return fmt.Errorf("write audit entries: %w", err)
	}
	return nil
}

// AuditEntry returns a log's entry number seq, or ErrNotFound.
func (s *Store) AuditEntry(ctx context.Context, log string, seq int64) (AuditEntry, error) {
	var e AuditEntry
	err := one(s.col(colAudit).FindOne(ctx, bson.M{"_id": AuditEntryID(log, seq)}), &e, "read audit entry")
	return e, err
}

// AuditQuery selects entries of one log.
type AuditQuery struct {
	Log       string
	Action    string
	TargetID  string
	ActorID   string
	TokenID   string // entries whose actor is this API token (public id)
	Outcome   string
	Since     *time.Time
	Until     *time.Time
	BeforeSeq int64 // entries older than this (0: from the newest)
	AfterSeq  int64 // entries newer than this (0: no bound)
	Oldest    bool  // read from the oldest end (backward paging); results stay in read order
	Limit     int64
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

// AuditEntries returns a page of a log's entries, newest first (oldest first
// with Oldest), and how many match in all.
func (s *Store) AuditEntries(ctx context.Context, q AuditQuery) ([]AuditEntry, int64, error) {
	f := q.filter()
	total, err := s.col(colAudit).CountDocuments(ctx, f)
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
	if err := s.all(ctx, colAudit, f, &out, "find audit entries",
		options.Find().SetSort(bson.D{{Key: "seq", Value: order}}).SetLimit(q.Limit)); err != nil {
		return nil, 0, err
	}
	return out, total, nil
}

// ForEachAuditEntry calls fn with a log's entries in seq order (verification).
func (s *Store) ForEachAuditEntry(ctx context.Context, log string, fn func(AuditEntry) error) error {
	cur, err := s.col(colAudit).Find(ctx, bson.M{"workspaceId": log}, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var e AuditEntry
		if err := cur.Decode(&e); err != nil {
			return fmt.Errorf("read audit entry: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return cur.Err()
}
