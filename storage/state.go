package storage

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// WorkspaceState is what in-process caches check before they serve anything of
// a workspace: the versions that every change of its policies (grants,
// membership) and of its credentials moves on, and whether it is still live.
type WorkspaceState struct {
	PolicyVersion int64 `bson:"policyVersion"`
	// DataVersion moves after every change of one of the workspace's
	// credentials (not after a use: use counters are coalesced, see Counters).
	DataVersion int64      `bson:"dataVersion"`
	DeletingAt  *time.Time `bson:"deletingAt"`
	// Live is false for a workspace that does not exist or is being deleted.
	Live bool `bson:"-"`
}

// WorkspaceState returns the workspace's state as of a read that began after
// this call (concurrent callers share reads; see package fresh), so a cache
// checked against it never serves what a write before the request changed.
// Within one request (WithRequestMemo) the first answer is reused, until this
// request itself bumps a version.
func (s *Store) WorkspaceState(ctx context.Context, workspaceID string) (WorkspaceState, error) {
	m := memoFrom(ctx)
	if st, ok := m.get(workspaceID); ok {
		return st, nil
	}
	st, err := s.states.Get(ctx, workspaceID)
	if err != nil {
		return WorkspaceState{}, err
	}
	m.put(workspaceID, st)
	return st, nil
}

// readWorkspaceStates reads the states of several workspaces in one query (a
// workspace that does not exist is absent: not Live).
func (s *Store) readWorkspaceStates(ctx context.Context, ids []string) (map[string]WorkspaceState, error) {
	filter := bson.M{"_id": bson.M{"$in": ids}}
	if len(ids) == 1 {
		filter = bson.M{"_id": ids[0]}
	}
	var docs []struct {
		ID             string `bson:"_id"`
		WorkspaceState `bson:",inline"`
	}
	if err := s.all(ctx, colWorkspaces, filter, &docs, "read workspace states",
		options.Find().SetProjection(bson.M{"policyVersion": 1, "dataVersion": 1, "deletingAt": 1})); err != nil {
		return nil, err
	}
	out := make(map[string]WorkspaceState, len(docs))
	for _, d := range docs {
		d.Live = d.DeletingAt == nil
		out[d.ID] = d.WorkspaceState
	}
	return out, nil
}

// PolicyVersion returns a live workspace's policy version; ok is false when the
// workspace does not exist or is being deleted.
func (s *Store) PolicyVersion(ctx context.Context, workspaceID string) (int64, bool, error) {
	st, err := s.WorkspaceState(ctx, workspaceID)
	return st.PolicyVersion, st.Live, err
}

// BumpPolicyVersion increments the workspace's policy version.
func (s *Store) BumpPolicyVersion(ctx context.Context, workspaceID string) error {
	return s.bump(ctx, workspaceID, "policyVersion")
}

// bumpDataVersion moves the workspace's data version on after a credential
// write. The write is durable by then, so a failed bump does not fail it: the
// bump is retried in the background until it lands (caches bound what they
// serve by age as well; see CacheMaxAge).
func (s *Store) bumpDataVersion(ctx context.Context, workspaceID string) {
	if err := s.bump(ctx, workspaceID, "dataVersion"); err == nil {
		return
	}
	go func() {
		ctx := context.WithoutCancel(ctx)
		for wait := 50 * time.Millisecond; wait < CacheMaxAge; wait *= 2 {
			time.Sleep(wait)
			if err := s.bump(ctx, workspaceID, "dataVersion"); err == nil {
				return
			} else if wait*2 >= CacheMaxAge {
				s.log.ErrorContext(ctx, "data version not bumped: other instances may serve cached credentials until they expire",
					"workspace", workspaceID, "error", err)
			}
		}
	}()
}

// CacheMaxAge bounds how long an instance serves a cached document even when
// its version says it is current: the backstop for a version bump lost with a
// crash between a write and its bump.
const CacheMaxAge = 30 * time.Second

func (s *Store) bump(ctx context.Context, workspaceID, field string) error {
	memoFrom(ctx).forget(workspaceID)
	defer s.serialize(colWorkspaces + "/" + workspaceID)()
	if _, err := s.col(colWorkspaces).UpdateOne(ctx, bson.M{"_id": workspaceID},
		bson.M{"$inc": bson.M{field: 1}}); err != nil {
		return fmt.Errorf("bump %s: %w", field, err)
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
