package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"credkeep/storage/writelock"
)

// hotCollections are written all the time under load: on the embedded
// database their writes queue behind one writer lock (writelock.Locker).
var hotCollections = map[string]bool{colAudit: true, colAuditHeads: true, colUses: true, colRateLimits: true,
	colDeliveries: true, colWebhooks: true, colLeases: true}

// collection is a MongoDB collection whose writes take the locks the database
// needs (writelock.Locker): an update or delete of documents named by _id locks
// those documents, an update of documents not named by _id locks them all, and
// every write to a hot collection takes the writer lock. Reads pass through.
// Every write of storage goes through it, so no write site can forget a lock.
type collection struct {
	*mongo.Collection
	locks *writelock.Locker // nil: the database applies single-document updates atomically
	hot   bool
}

func (s *Store) col(name string) collection {
	return collection{Collection: s.db.Collection(name), locks: s.locks, hot: hotCollections[name]}
}

// lock takes the locks of a write to the documents filter selects; update
// reports whether it reads and writes back (FerretDB's lost-update case).
func (c collection) lock(filter any, update bool) func() {
	if !update {
		return c.lockDocs(nil, true, false) // a delete or insert loses no update
	}
	ids, known := docIDs(filter)
	return c.lockDocs(ids, known, true)
}

// lockDocs takes the locks of a write to the documents ids (every document
// when the write's documents are not known by _id).
func (c collection) lockDocs(ids []string, known, update bool) func() {
	if c.locks == nil {
		return func() {}
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = c.Name() + "/" + id
	}
	return c.locks.Lock(keys, update && !known, c.hot)
}

// docIDs returns the _id values filter selects: an equality or an $in of them.
// known is false when the filter does not name its documents by _id.
func docIDs(filter any) (ids []string, known bool) {
	var v any
	switch f := filter.(type) {
	case bson.M:
		v, known = f["_id"]
	case bson.D:
		for _, e := range f {
			if e.Key == "_id" {
				v, known = e.Value, true
			}
		}
	}
	if !known {
		return nil, false
	}
	if in, ok := v.(bson.M); ok {
		list, ok := in["$in"]
		if !ok || len(in) != 1 {
			return nil, false
		}
		switch l := list.(type) {
		case []string:
			return l, true
		case bson.A:
			for _, x := range l {
				ids = append(ids, idString(x))
			}
			return ids, true
		}
		return nil, false
	}
	return []string{idString(v)}, true
}

// idString is an _id as a lock key; credkeep's ids are strings.
func idString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func (c collection) InsertOne(ctx context.Context, doc any, opts ...*options.InsertOneOptions) (*mongo.InsertOneResult, error) {
	defer c.lock(nil, false)()
	return c.Collection.InsertOne(ctx, doc, opts...)
}

func (c collection) InsertMany(ctx context.Context, docs []any, opts ...*options.InsertManyOptions) (*mongo.InsertManyResult, error) {
	defer c.lock(nil, false)()
	return c.Collection.InsertMany(ctx, docs, opts...)
}

func (c collection) UpdateOne(ctx context.Context, filter, update any, opts ...*options.UpdateOptions) (*mongo.UpdateResult, error) {
	defer c.lock(filter, true)()
	return c.Collection.UpdateOne(ctx, filter, update, opts...)
}

func (c collection) UpdateMany(ctx context.Context, filter, update any, opts ...*options.UpdateOptions) (*mongo.UpdateResult, error) {
	defer c.lock(filter, true)()
	return c.Collection.UpdateMany(ctx, filter, update, opts...)
}

func (c collection) ReplaceOne(ctx context.Context, filter, doc any, opts ...*options.ReplaceOptions) (*mongo.UpdateResult, error) {
	defer c.lock(filter, true)()
	return c.Collection.ReplaceOne(ctx, filter, doc, opts...)
}

func (c collection) FindOneAndUpdate(ctx context.Context, filter, update any, opts ...*options.FindOneAndUpdateOptions) *mongo.SingleResult {
	defer c.lock(filter, true)()
	return c.Collection.FindOneAndUpdate(ctx, filter, update, opts...)
}

func (c collection) FindOneAndDelete(ctx context.Context, filter any, opts ...*options.FindOneAndDeleteOptions) *mongo.SingleResult {
	defer c.lock(filter, false)()
	return c.Collection.FindOneAndDelete(ctx, filter, opts...)
}

func (c collection) DeleteOne(ctx context.Context, filter any, opts ...*options.DeleteOptions) (*mongo.DeleteResult, error) {
	defer c.lock(filter, false)()
	return c.Collection.DeleteOne(ctx, filter, opts...)
}

func (c collection) DeleteMany(ctx context.Context, filter any, opts ...*options.DeleteOptions) (*mongo.DeleteResult, error) {
	defer c.lock(filter, false)()
	return c.Collection.DeleteMany(ctx, filter, opts...)
}

// BulkWrite locks the documents of every model (all of them if one model does
// not name its document by _id).
func (c collection) BulkWrite(ctx context.Context, models []mongo.WriteModel, opts ...*options.BulkWriteOptions) (*mongo.BulkWriteResult, error) {
	var ids []string
	known := true
	for _, m := range models {
		var filter any
		switch m := m.(type) {
		case *mongo.UpdateOneModel:
			filter = m.Filter
		case *mongo.ReplaceOneModel:
			filter = m.Filter
		case *mongo.InsertOneModel, *mongo.DeleteOneModel, *mongo.DeleteManyModel:
			continue
		}
		these, ok := docIDs(filter)
		known = known && ok
		ids = append(ids, these...)
	}
	defer c.lockDocs(ids, known, true)()
	return c.bulkWrite(ctx, models, opts...)
}

// maxStatements bounds the statements of one bulk write on the embedded
// database. FerretDB v1 keeps the query of each update that matched a
// document open until the whole command ends, each on a connection of its
// SQLite pool (100), and takes one more connection for every write: one bulk
// write of about a hundred matching updates waits forever for a connection it
// holds itself, and every other request of the database behind it.
const maxStatements = 16

// bulkWrite runs models, on the embedded database in commands of at most
// maxStatements. The results add up; write errors keep the index of their
// model in models; an ordered write stops at the first command with an error.
func (c collection) bulkWrite(ctx context.Context, models []mongo.WriteModel, opts ...*options.BulkWriteOptions) (*mongo.BulkWriteResult, error) {
	if c.locks == nil || len(models) <= maxStatements {
		return c.Collection.BulkWrite(ctx, models, opts...)
	}
	o := options.MergeBulkWriteOptions(opts...)
	ordered := o.Ordered == nil || *o.Ordered
	total := &mongo.BulkWriteResult{UpsertedIDs: map[int64]any{}}
	var failed *mongo.BulkWriteException
	for start := 0; start < len(models); start += maxStatements {
		part := models[start:min(start+maxStatements, len(models))]
		res, err := c.Collection.BulkWrite(ctx, part, o)
		if res != nil {
			total.InsertedCount += res.InsertedCount
			total.MatchedCount += res.MatchedCount
			total.ModifiedCount += res.ModifiedCount
			total.DeletedCount += res.DeletedCount
			total.UpsertedCount += res.UpsertedCount
			for i, id := range res.UpsertedIDs {
				total.UpsertedIDs[i+int64(start)] = id
			}
		}
		var we mongo.BulkWriteException
		switch {
		case err == nil:
			continue
		case !errors.As(err, &we):
			return total, err
		}
		if failed == nil {
			failed = &mongo.BulkWriteException{WriteConcernError: we.WriteConcernError, Labels: we.Labels}
		}
		for _, e := range we.WriteErrors {
			e.Index += start
			failed.WriteErrors = append(failed.WriteErrors, e)
		}
		if ordered {
			break
		}
	}
	if failed != nil {
		return total, *failed
	}
	return total, nil
}

// fieldSwap replaces the value of one field of one document, if it still holds old.
type fieldSwap struct {
	id       string
	field    string
	old, new primitive.Binary
}

// swapFields applies swaps, each only if its field still holds its old value,
// and returns how many it applied. With MongoDB the condition is part of
// each update's filter; FerretDB v1 looks a document up by _id only when the
// filter holds nothing else (otherwise it scans the collection for each
// update), so there the documents' locks are held while their values are
// read (from raw, which does not decrypt) and compared, and the updates are
// by _id alone.
func (c collection) swapFields(ctx context.Context, raw *mongo.Collection, swaps []fieldSwap) (int, error) {
	if len(swaps) == 0 {
		return 0, nil
	}
	models := make([]mongo.WriteModel, 0, len(swaps))
	if c.locks == nil {
		for _, sw := range swaps {
			models = append(models, mongo.NewUpdateOneModel().
				SetFilter(bson.D{{Key: "_id", Value: sw.id}, {Key: sw.field, Value: sw.old}}).
				SetUpdate(bson.M{"$set": bson.M{sw.field: sw.new}}))
		}
		res, err := c.Collection.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
		if err != nil {
			return 0, err
		}
		return int(res.ModifiedCount), nil
	}
	ids := make([]string, len(swaps))
	for i, sw := range swaps {
		ids[i] = sw.id
	}
	defer c.lockDocs(ids, true, true)()
	for _, sw := range swaps {
		var cur bson.Raw
		err := raw.FindOne(ctx, bson.M{"_id": sw.id}, options.FindOne().SetProjection(bson.M{sw.field: 1})).Decode(&cur)
		if errors.Is(err, mongo.ErrNoDocuments) {
			continue // deleted meanwhile
		}
		if err != nil {
			return 0, err
		}
		if _, data, ok := cur.Lookup(sw.field).BinaryOK(); !ok || !bytes.Equal(data, sw.old.Data) {
			continue // written meanwhile
		}
		models = append(models, mongo.NewUpdateOneModel().
			SetFilter(bson.M{"_id": sw.id}).
			SetUpdate(bson.M{"$set": bson.M{sw.field: sw.new}}))
	}
	if len(models) == 0 {
		return 0, nil
	}
	if _, err := c.bulkWrite(ctx, models, options.BulkWrite().SetOrdered(false)); err != nil {
		return 0, err
	}
	return len(models), nil
}
