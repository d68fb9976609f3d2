package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// The documents package coherence reads to know whether an instance's cached
// copies are current: the versions in each workspace's document
// (policyVersion, dataVersion) and one global epochs document ("data" moves
// after any workspace change, "tokens" after a token revocation). Storage only
// reads and moves them; when they move is coherence's business.
const (
	colEpochs    = "epochs"
	globalEpochs = "global"
)

// Epochs is the global epochs document.
type Epochs struct {
	Data   int64 `bson:"data"`
	Tokens int64 `bson:"tokens"`
}

// Epoch names of Epochs.
const (
	EpochData   = "data"
	EpochTokens = "tokens"
)

// Workspace version fields.
const (
	PolicyVersion = "policyVersion"
	DataVersion   = "dataVersion"
)

// ReadEpochs reads the global epochs (zero before the first bump).
func (s *Store) ReadEpochs(ctx context.Context) (Epochs, error) {
	if s.epochs != nil {
		return Epochs{Data: s.epochs.data.Load(), Tokens: s.epochs.tokens.Load()}, nil
	}
	var ep Epochs
	err := s.col(colEpochs).FindOne(ctx, bson.M{"_id": globalEpochs}).Decode(&ep)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return Epochs{}, fmt.Errorf("read epochs: %w", err)
	}
	return ep, nil
}

// EpochsInMemory reports that ReadEpochs reads memory, not the database (the
// embedded database): a reader has nothing to gain from sharing the read.
func (s *Store) EpochsInMemory() bool { return s.epochs != nil }

// BumpEpoch moves an epoch (EpochData, EpochTokens) on.
func (s *Store) BumpEpoch(ctx context.Context, epoch string) error {
	if s.epochs != nil {
		return s.epochs.bump(epoch)
	}
	_, err := s.col(colEpochs).UpdateOne(ctx, bson.M{"_id": globalEpochs},
		bson.M{"$inc": bson.M{epoch: 1}}, options.Update().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("bump %s epoch: %w", epoch, err)
	}
	return nil
}

// BumpWorkspaceVersion moves a version (PolicyVersion, DataVersion) of a
// workspace on and returns its new value (0 when the workspace is gone).
func (s *Store) BumpWorkspaceVersion(ctx context.Context, workspaceID, field string) (int64, error) {
	var w bson.M
	err := s.col(colWorkspaces).FindOneAndUpdate(ctx, bson.M{"_id": workspaceID}, bson.M{"$inc": bson.M{field: 1}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&w)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("bump %s: %w", field, err)
	}
	v, _ := w[field].(int64)
	if v32, ok := w[field].(int32); ok {
		v = int64(v32)
	}
	return v, nil
}

// ReadWorkspaces reads several workspaces (live or being deleted) in one
// query; absent ones are left out.
func (s *Store) ReadWorkspaces(ctx context.Context, ids []string) (map[string]*Workspace, error) {
	var docs []Workspace
	if err := s.all(ctx, colWorkspaces, byIDs(ids), &docs, "read workspaces"); err != nil {
		return nil, err
	}
	out := make(map[string]*Workspace, len(docs))
	for i := range docs {
		out[docs[i].ID] = &docs[i]
	}
	return out, nil
}

// memEpochs are an embedded database's epochs: in memory, shared by the
// Stores of this process on that database (sharedEpochs). They need no disk:
// the data directory is one process's (embedded.lockDir), so only this
// process's caches compare them, and those start empty. Every request that
// checks its caches reads them; through FerretDB v1 a read of the epochs
// document cost ~0.5 ms of CPU, shared by the requests of one linger.
type memEpochs struct{ data, tokens atomic.Int64 }

func (e *memEpochs) bump(epoch string) error {
	switch epoch {
	case EpochData:
		e.data.Add(1)
	case EpochTokens:
		e.tokens.Add(1)
	default:
		return fmt.Errorf("bump epoch: no epoch %q", epoch)
	}
	return nil
}

// sharedEpochs holds the epochs of each embedded database this process has
// opened, by its storage file's path.
var sharedEpochs sync.Map

func epochsOf(storageFile string) *memEpochs {
	e, _ := sharedEpochs.LoadOrStore(storageFile, &memEpochs{})
	return e.(*memEpochs)
}
