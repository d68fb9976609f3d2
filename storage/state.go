package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// WorkspaceState is what in-process caches check before they serve anything of
// a workspace: the versions that every change of its policies (grants,
// membership) and of its credentials moves on, and whether it is still live.
type WorkspaceState struct {
	PolicyVersion int64 `bson:"policyVersion"`
	// DataVersion moves after every change of one of the workspace's
	// credentials (not after a use: use counters are not cached data).
	DataVersion int64      `bson:"dataVersion"`
	DeletingAt  *time.Time `bson:"deletingAt"`
	// Live is false for a workspace that does not exist or is being deleted.
	Live bool `bson:"-"`
}

// How an instance knows that what it cached is still current, at the cost of
// one small read per batch of requests:
//
//   - Every write that a cache depends on bumps a version in the workspace's
//     document (policyVersion, dataVersion) and then the global epoch document
//     (one document: "data" for any workspace change, "tokens" for token
//     revocations).
//   - Each request reads the global epoch fresh: a read that began after the
//     request did, shared by every request that arrived while the previous read
//     ran (package fresh). If "data" has not moved since this instance read a
//     workspace's state, that state is current; otherwise the states the round
//     needs are read again, in one query.
//
// So a revocation, a rotated secret or a deleted credential is seen on the
// next request on every instance, and on a quiet database a request costs a
// share of one _id read instead of a scan of the credentials.
const (
	colEpochs    = "epochs"
	globalEpochs = "global"
	// epochsKey is the key of a fresh read that wants only the epochs.
	epochsKey = ""
)

// epochs is the global epoch document.
type epochs struct {
	Data   int64 `bson:"data"`
	Tokens int64 `bson:"tokens"`
}

// snapshot is one fresh read: the epochs, and the state of the workspace asked for.
type snapshot struct {
	epochs    epochs
	state     WorkspaceState
	workspace *Workspace // nil when it does not exist
}

// knownState is a workspace state tagged with the data epoch read before it.
type knownState struct {
	state     WorkspaceState
	workspace *Workspace
	epoch     int64
	readAt    time.Time
}

// WorkspaceState returns the workspace's state as of a read that began after
// this call. Within one request (WithRequestMemo) the first answer is reused,
// until this request itself bumps a version.
func (s *Store) WorkspaceState(ctx context.Context, workspaceID string) (WorkspaceState, error) {
	m := memoFrom(ctx)
	if st, ok := m.get(workspaceID); ok {
		return st, nil
	}
	snap, err := s.states.Get(ctx, workspaceID)
	if err != nil {
		return WorkspaceState{}, err
	}
	m.put(workspaceID, snap.state)
	return snap.state, nil
}

// readRound is one shared read: the epochs first, then the states that are not
// known at this data epoch.
func (s *Store) readRound(ctx context.Context, ids []string) (map[string]snapshot, error) {
	ep, err := s.readEpochs(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]snapshot, len(ids))
	var missing []string
	for _, id := range ids {
		if id == epochsKey {
			out[id] = snapshot{epochs: ep}
			continue
		}
		if k, ok := s.known.Get(id); ok && k.epoch == ep.Data && time.Since(k.readAt) < CacheMaxAge {
			out[id] = snapshot{epochs: ep, state: k.state, workspace: k.workspace}
			continue
		}
		missing = append(missing, id)
	}
	if len(missing) == 0 {
		return out, nil
	}
	docs, err := s.readWorkspaces(ctx, missing)
	if err != nil {
		return nil, err
	}
	for _, id := range missing {
		w, ok := docs[id]
		if !ok {
			// An absent workspace is not remembered: creating one bumps no epoch.
			out[id] = snapshot{epochs: ep}
			continue
		}
		st := WorkspaceState{PolicyVersion: w.PolicyVersion, DataVersion: w.DataVersion, DeletingAt: w.DeletingAt, Live: w.DeletingAt == nil}
		out[id] = snapshot{epochs: ep, state: st, workspace: w}
		s.known.Add(id, knownState{state: st, workspace: w, epoch: ep.Data, readAt: time.Now()})
	}
	return out, nil
}

func (s *Store) readEpochs(ctx context.Context) (epochs, error) {
	var ep epochs
	err := s.col(colEpochs).FindOne(ctx, bson.M{"_id": globalEpochs}).Decode(&ep)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return epochs{}, fmt.Errorf("read epochs: %w", err)
	}
	return ep, nil
}

// readWorkspaces reads several workspaces in one query; absent ones are left out.
func (s *Store) readWorkspaces(ctx context.Context, ids []string) (map[string]*Workspace, error) {
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

func newKnownStates() *lru.Cache[string, knownState] {
	c, _ := lru.New[string, knownState](100_000) // errors only for a size < 1
	return c
}

// PolicyVersion returns a live workspace's policy version; ok is false when the
// workspace does not exist or is being deleted.
func (s *Store) PolicyVersion(ctx context.Context, workspaceID string) (int64, bool, error) {
	st, err := s.WorkspaceState(ctx, workspaceID)
	return st.PolicyVersion, st.Live, err
}

// BumpPolicyVersion increments the workspace's policy version and returns the
// new version (0 when the workspace is gone).
func (s *Store) BumpPolicyVersion(ctx context.Context, workspaceID string) (int64, error) {
	var w struct {
		PolicyVersion int64 `bson:"policyVersion"`
	}
	err := s.bumpAnd(ctx, workspaceID, "policyVersion", &w)
	if err != nil {
		// The caller reports the error; the epoch still has to move in case the
		// version did (an extra move only costs a re-read of workspace states).
		s.retryLater(ctx, "bump the data epoch", func(ctx context.Context) error { return s.bumpEpoch(ctx, "data") })
	}
	return w.PolicyVersion, err
}

// bumpDataVersion moves the workspace's data version on after a credential
// write. The write is durable by then, so a failed bump does not fail it: the
// bump is retried in the background until it lands (caches bound what they
// serve by age as well; see CacheMaxAge).
func (s *Store) bumpDataVersion(ctx context.Context, workspaceID string) {
	if err := s.bump(ctx, workspaceID, "dataVersion"); err != nil {
		s.retryLater(ctx, "bump the data version of workspace "+workspaceID,
			func(ctx context.Context) error { return s.bump(ctx, workspaceID, "dataVersion") })
	}
}

// stateReadLinger is how long a state read that follows another one waits for
// more requests to share it. Under load every request needs a read that began
// after it arrived; without the wait those reads were 12% of the server's CPU
// on credential(id). It adds at most this much to a request, and only under load.
var stateReadLinger = 500 * time.Microsecond

// CacheMaxAge bounds how long an instance serves a cached document even when
// its version says it is current: the backstop for a version bump lost with a
// crash between a write and its bump.
const CacheMaxAge = 30 * time.Second

// bump moves a version of the workspace on, then the global data epoch.
func (s *Store) bump(ctx context.Context, workspaceID, field string) error {
	return s.bumpAnd(ctx, workspaceID, field, nil)
}

// bumpAnd is bump that decodes the workspace as it is after the bump into out
// (unless nil). It does not retry: its callers decide what to run again.
func (s *Store) bumpAnd(ctx context.Context, workspaceID, field string, out any) error {
	memoFrom(ctx).forget(workspaceID)
	s.known.Remove(workspaceID)
	var err error
	if out == nil {
		_, err = s.col(colWorkspaces).UpdateOne(ctx, bson.M{"_id": workspaceID}, bson.M{"$inc": bson.M{field: 1}})
	} else {
		err = s.col(colWorkspaces).FindOneAndUpdate(ctx, bson.M{"_id": workspaceID}, bson.M{"$inc": bson.M{field: 1}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(out)
		if errors.Is(err, mongo.ErrNoDocuments) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("bump %s: %w", field, err)
	}
	return s.bumpEpoch(ctx, "data")
}

// bumpEpochOrRetry bumps an epoch after the write it announces; when that
// fails, it keeps trying in the background (instances notice nothing until
// the epoch moves, or until their entries age out) and reports the failure.
func (s *Store) bumpEpochOrRetry(ctx context.Context, field string) error {
	err := s.bumpEpoch(ctx, field)
	if err != nil {
		s.retryLater(ctx, "bump the "+field+" epoch", func(ctx context.Context) error { return s.bumpEpoch(ctx, field) })
	}
	return err
}

// retryLater runs step again in the background, with growing pauses, until it
// succeeds or a minute has passed; then it logs what could not be done (other
// instances serve their cached copies until those age out).
func (s *Store) retryLater(ctx context.Context, what string, step func(context.Context) error) {
	go func() {
		ctx := context.WithoutCancel(ctx)
		var err error
		for wait := 50 * time.Millisecond; wait < time.Minute; wait *= 2 {
			time.Sleep(wait)
			if err = step(ctx); err == nil {
				return
			}
		}
		s.log.ErrorContext(ctx, "gave up: other instances serve cached data until it ages out", "step", what, "error", err)
	}()
}

func (s *Store) bumpEpoch(ctx context.Context, field string) error {
	_, err := s.col(colEpochs).UpdateOne(ctx, bson.M{"_id": globalEpochs},
		bson.M{"$inc": bson.M{field: 1}}, options.Update().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("bump %s epoch: %w", field, err)
	}
	return nil
}

// requestMemo remembers the workspace states one request has read.
type requestMemo struct {
	mu     sync.Mutex
	states map[string]WorkspaceState
}

type memoKey struct{}

// WithRequestMemo returns ctx with an empty memo of workspace states: every
// state a request reads is read once, fresh, then reused for the request.
func WithRequestMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &requestMemo{states: map[string]WorkspaceState{}})
}

func memoFrom(ctx context.Context) *requestMemo {
	m, _ := ctx.Value(memoKey{}).(*requestMemo)
	return m // nil: no memo, every call reads
}

func (m *requestMemo) get(id string) (WorkspaceState, bool) {
	if m == nil {
		return WorkspaceState{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.states[id]
	return st, ok
}

func (m *requestMemo) put(id string, st WorkspaceState) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.states[id] = st
}

func (m *requestMemo) forget(id string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.states, id)
}
