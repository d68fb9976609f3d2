package coherence

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"

	"credkeep/internal/redact"
	"credkeep/internal/undo"
	"credkeep/storage"
)

// How an instance knows that what it cached is still current, at the cost of
// one small read per batch of requests:
//
//   - Every write that a cache depends on moves a version in the workspace's
//     document (policyVersion, dataVersion) and then the global data epoch;
//     a token revocation moves the tokens epoch before and after its delete.
//     Store does that after the writes of storage it wraps, so storage only
//     stores.
//   - Each request reads the epochs fresh: a read that began after the request
//     did, shared by every request that arrived while the previous read ran
//     (Group). If "data" has not moved since this instance read a workspace's
//     state, that state is current; otherwise the states the round needs are
//     read again, in one query.
//
// So a revocation, a rotated secret or a deleted credential is seen on the
// next request on every instance, and on a quiet database a request costs a
// share of one _id read.

// CacheMaxAge bounds how long an instance serves a cached document even when
// its version says it is current: the backstop for a version bump lost with a
// crash between a write and its bump.
const CacheMaxAge = 30 * time.Second

// tokenCacheMaxAge bounds an API token's cached entry: if the database fails
// after a revocation deleted the token and before the second epoch bump, an
// instance that reloaded the token in between accepts it at most this long
// (the bump is also retried in the background).
const tokenCacheMaxAge = 5 * time.Second

// usersCacheTTL: a user record holds only what the latest JWT said (email,
// name), shown next to credentials and audit entries, never used for a
// decision; on other instances a change shows within the TTL.
const usersCacheTTL = 30 * time.Second

// stateReadLinger is how long a state read that follows another one waits for
// more requests to share it. Under load every request needs a read that began
// after it arrived; without the wait those reads were a large share of the
// server's CPU on credential(id) (docs/performance.md). It adds at most this
// much to a request, and only under load.
var stateReadLinger = 500 * time.Microsecond

// staleMeanwhile says, in a retried step's name, what a bump that has not
// landed yet costs.
const staleMeanwhile = " (until it lands, other instances serve cached data until it ages out)"

// epochsKey is the key of a fresh read that wants only the epochs.
const epochsKey = ""

// WorkspaceState is what in-process caches check before they serve anything of
// a workspace: the versions that every change of its policies (grants,
// membership) and of its credentials moves on, and whether it is still live.
type WorkspaceState struct {
	PolicyVersion int64
	// DataVersion moves after every change of one of the workspace's
	// credentials (not after a use: use counters are not cached data).
	DataVersion int64
	DeletingAt  *time.Time
	// Live is false for a workspace that does not exist or is being deleted.
	Live bool
}

// Store is storage with the caches that depend on its versions: workspace
// states and documents, API tokens by hash, users. Its writes move the
// versions and epochs those caches check; every other method is storage's.
type Store struct {
	*storage.Store
	now func() time.Time
	log *slog.Logger
	// states shares fresh reads of the epochs and of workspace states between
	// concurrent requests; known holds the states read at the current epoch.
	states *Group[string, snapshot]
	known  *lru.Cache[string, knownState]
	tokens *lru.Cache[string, cachedToken]
	users  *expirable.LRU[string, storage.User]
	// onData is told of every credential write and workspace creation of this instance (OnDataChange).
	onData []func(DataChange)
}

// DataChange is one credential write of this instance and the data version it
// made, so that a cache of the workspace's credentials can read that one
// credential again instead of all of them; or (Created) a workspace this
// instance created, whose list of credentials is empty.
type DataChange struct {
	WorkspaceID  string
	CredentialID string
	// Version is the workspace's data version the write moved it to; 0 when
	// the move failed (it is retried in the background, and the version it
	// lands on is not known here): the cache must forget the workspace.
	Version int64
	// Created: the workspace was just created by this instance (CredentialID
	// empty), so it has no credential at Version.
	Created bool
}

// OnDataChange registers fn to be told of every credential write this instance
// makes, after the write and its version move, and of every workspace it
// creates. Register before serving.
func (c *Store) OnDataChange(fn func(DataChange)) { c.onData = append(c.onData, fn) }

type snapshot struct {
	epochs    storage.Epochs
	state     WorkspaceState
	workspace *storage.Workspace // nil when it does not exist
}

type knownState struct {
	state     WorkspaceState
	workspace *storage.Workspace
	epoch     int64 // the data epoch read before the state
	readAt    time.Time
}

type cachedToken struct {
	token    storage.APIToken
	epoch    int64
	loadedAt time.Time
}

// Wrap returns s with its caches. now is the clock of cache ages.
func Wrap(s *storage.Store, now func() time.Time, log *slog.Logger) *Store {
	c := &Store{Store: s, now: now, log: log}
	c.states = New(c.readRound).WithLinger(stateReadLinger)
	c.known, _ = lru.New[string, knownState](100_000) // errors only for a size < 1
	c.tokens, _ = lru.New[string, cachedToken](10_000)
	c.users = expirable.NewLRU[string, storage.User](10_000, nil, usersCacheTTL)
	return c
}

// WorkspaceState returns the workspace's state as of a read that began after
// this call. Within one request (WithRequestMemo) the first answer is reused,
// until this request itself moves a version.
func (c *Store) WorkspaceState(ctx context.Context, workspaceID string) (WorkspaceState, error) {
	m := memoFrom(ctx)
	if st, ok := m.get(workspaceID); ok {
		return st, nil
	}
	snap, err := c.fresh(ctx, workspaceID)
	if err != nil {
		return WorkspaceState{}, err
	}
	m.put(workspaceID, snap.state)
	return snap.state, nil
}

// PolicyVersion returns a live workspace's policy version; ok is false when the
// workspace does not exist or is being deleted.
func (c *Store) PolicyVersion(ctx context.Context, workspaceID string) (int64, bool, error) {
	st, err := c.WorkspaceState(ctx, workspaceID)
	return st.PolicyVersion, st.Live, err
}

// WorkspacesByID returns the live (not being deleted) workspaces among ids,
// sorted by name, as of a read that began after the call (from the shared
// fresh read, cached while the data epoch stands still).
func (c *Store) WorkspacesByID(ctx context.Context, ids []string) ([]storage.Workspace, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	snaps, err := c.freshAll(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []storage.Workspace
	for _, id := range ids {
		if w := snaps[id].workspace; w != nil && w.DeletingAt == nil {
			out = append(out, *w)
		}
	}
	slices.SortFunc(out, func(a, b storage.Workspace) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// fresh returns id's snapshot (epochsKey: the epochs alone) as of a read that
// began after the call (freshAll).
func (c *Store) fresh(ctx context.Context, id string) (snapshot, error) {
	snaps, err := c.freshAll(ctx, []string{id})
	return snaps[id], err
}

// freshAll returns the snapshots of ids as of a read that began after the
// call. Where the epochs are in memory (the embedded database) states known
// at the current epoch are answered at once: sharing a read of memory would
// cost a round's goroutine, its linger and the wait for it. Only when a state
// is to be read from the database do they go through the shared round.
func (c *Store) freshAll(ctx context.Context, ids []string) (map[string]snapshot, error) {
	if c.EpochsInMemory() {
		_, out, missing, err := c.fromKnown(ctx, ids)
		if err != nil || len(missing) == 0 {
			return out, err
		}
	}
	return c.states.GetAll(ctx, ids...)
}

// fromKnown reads the epochs, then answers each of ids from what this
// instance knows, if that is current at those epochs and young enough
// (epochsKey is always known); missing are the ids it does not know so.
func (c *Store) fromKnown(ctx context.Context, ids []string) (ep storage.Epochs, out map[string]snapshot, missing []string, err error) {
	if ep, err = c.ReadEpochs(ctx); err != nil {
		return ep, nil, nil, err
	}
	now := c.now()
	out = make(map[string]snapshot, len(ids))
	for _, id := range ids {
		if id == epochsKey {
			out[id] = snapshot{epochs: ep}
		} else if k, ok := c.known.Get(id); ok && k.epoch == ep.Data && now.Sub(k.readAt) < CacheMaxAge {
			out[id] = snapshot{epochs: ep, state: k.state, workspace: k.workspace}
		} else {
			missing = append(missing, id)
		}
	}
	return ep, out, missing, nil
}

// readRound is one shared read: the epochs first, then the states that are not
// known at this data epoch.
func (c *Store) readRound(ctx context.Context, ids []string) (map[string]snapshot, error) {
	ep, out, missing, err := c.fromKnown(ctx, ids)
	if err != nil {
		return nil, err
	}
	if len(missing) == 0 {
		return out, nil
	}
	now := c.now() // before the read: a state's age counts from then
	docs, err := c.ReadWorkspaces(ctx, missing)
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
		c.known.Add(id, knownState{state: st, workspace: w, epoch: ep.Data, readAt: now})
	}
	return out, nil
}

// BumpPolicyVersion moves the workspace's policy version on and returns the
// new version (0 when the workspace is gone).
func (c *Store) BumpPolicyVersion(ctx context.Context, workspaceID string) (int64, error) {
	v, err := c.bump(ctx, workspaceID, storage.PolicyVersion)
	if err != nil {
		// The caller reports the error; the epoch still has to move in case the
		// version did (an extra move only costs a re-read of workspace states).
		undo.Retry(ctx, c.log, "bump the data epoch"+staleMeanwhile, func(ctx context.Context) error { return c.BumpEpoch(ctx, storage.EpochData) })
	}
	return v, err
}

// bump moves a version of the workspace on, then the data epoch.
func (c *Store) bump(ctx context.Context, workspaceID, field string) (int64, error) {
	c.forget(ctx, workspaceID)
	v, err := c.BumpWorkspaceVersion(ctx, workspaceID, field)
	if err != nil {
		return 0, err
	}
	return v, c.BumpEpoch(ctx, storage.EpochData)
}

func (c *Store) forget(ctx context.Context, workspaceID string) {
	memoFrom(ctx).forget(workspaceID)
	c.known.Remove(workspaceID)
}

// dataChanged moves the workspace's data version on after a write of one of
// its credentials. The write is durable by then, so a failed bump does not
// fail it: the bump is retried in the background until it lands (caches bound
// what they serve by age as well; see CacheMaxAge).
func (c *Store) dataChanged(ctx context.Context, workspaceID, credentialID string) {
	v, err := c.bump(ctx, workspaceID, storage.DataVersion)
	if err != nil {
		v = 0
		undo.Retry(ctx, c.log, "bump the data version of workspace "+workspaceID+staleMeanwhile, func(ctx context.Context) error {
			_, err := c.bump(ctx, workspaceID, storage.DataVersion)
			return err
		})
	}
	for _, fn := range c.onData {
		fn(DataChange{WorkspaceID: workspaceID, CredentialID: credentialID, Version: v})
	}
}

// workspaceChanged moves the data epoch on after a write of a workspace's own
// document; when that fails, it keeps trying in the background and reports
// the failure.
func (c *Store) workspaceChanged(ctx context.Context, workspaceID string) error {
	c.forget(ctx, workspaceID)
	err := c.BumpEpoch(ctx, storage.EpochData)
	if err != nil {
		undo.Retry(ctx, c.log, "bump the data epoch"+staleMeanwhile, func(ctx context.Context) error { return c.BumpEpoch(ctx, storage.EpochData) })
	}
	return err
}

// InsertWorkspace stores a new workspace and tells OnDataChange's functions
// that it has no credential yet.
func (c *Store) InsertWorkspace(ctx context.Context, w storage.Workspace) error {
	if err := c.Store.InsertWorkspace(ctx, w); err != nil {
		return err
	}
	for _, fn := range c.onData {
		fn(DataChange{WorkspaceID: w.ID, Version: w.DataVersion, Created: true})
	}
	return nil
}

// InsertCredential stores a new credential, then moves its workspace's data version.
func (c *Store) InsertCredential(ctx context.Context, cr storage.Credential, secrets map[string]redact.Secret) error {
	if err := c.Store.InsertCredential(ctx, cr, secrets); err != nil {
		return err
	}
	c.dataChanged(ctx, cr.WorkspaceID, cr.ID)
	return nil
}

// UpdateCredential updates a credential, then moves its workspace's data version.
func (c *Store) UpdateCredential(ctx context.Context, cr storage.Credential, secrets map[string]redact.Secret, expectedVersion int64) (storage.Credential, error) {
	updated, err := c.Store.UpdateCredential(ctx, cr, secrets, expectedVersion)
	if err == nil {
		c.dataChanged(ctx, cr.WorkspaceID, cr.ID)
	}
	return updated, err
}

// DeleteCredential deletes a credential, then moves its workspace's data version.
func (c *Store) DeleteCredential(ctx context.Context, workspaceID, id string) error {
	if err := c.Store.DeleteCredential(ctx, workspaceID, id); err != nil {
		return err
	}
	c.dataChanged(ctx, workspaceID, id)
	return nil
}

// SetCredentialOAuthTokens stores tokens, then moves the workspace's data version.
func (c *Store) SetCredentialOAuthTokens(ctx context.Context, workspaceID, id string, t storage.OAuthTokens, now time.Time) error {
	if err := c.Store.SetCredentialOAuthTokens(ctx, workspaceID, id, t, now); err != nil {
		return err
	}
	c.dataChanged(ctx, workspaceID, id)
	return nil
}

// SetCredentialCheck records a check, then moves the workspace's data version.
func (c *Store) SetCredentialCheck(ctx context.Context, workspaceID, id string, tested *time.Time, lastError string) error {
	if err := c.Store.SetCredentialCheck(ctx, workspaceID, id, tested, lastError); err != nil {
		return err
	}
	c.dataChanged(ctx, workspaceID, id)
	return nil
}

// RenameWorkspace renames a workspace; instances serve workspaces from their
// cache while the data epoch stands still, so it moves.
func (c *Store) RenameWorkspace(ctx context.Context, id, name string, now time.Time) (storage.Workspace, error) {
	w, err := c.Store.RenameWorkspace(ctx, id, name, now)
	if err != nil {
		return storage.Workspace{}, err
	}
	return w, c.workspaceChanged(ctx, id)
}

// ReencryptWorkspace re-encrypts a workspace's values under a new key, then
// moves its data version: cached credentials hold their secrets as
// ciphertext, and the old key they were sealed under is about to go.
func (c *Store) ReencryptWorkspace(ctx context.Context, workspaceID, key string, batch int) (int, error) {
	n, err := c.Store.ReencryptWorkspace(ctx, workspaceID, key, batch)
	if n > 0 {
		if _, berr := c.bump(ctx, workspaceID, storage.DataVersion); berr != nil && err == nil {
			err = berr
		}
	}
	return n, err
}

// FinishKeyRotation closes a rotation, then moves the data epoch (keyRotatedAt changed).
func (c *Store) FinishKeyRotation(ctx context.Context, workspaceID string, rot storage.KeyRotation, now time.Time) (bool, error) {
	ok, err := c.Store.FinishKeyRotation(ctx, workspaceID, rot, now)
	if err != nil {
		return false, err
	}
	return ok, c.workspaceChanged(ctx, workspaceID)
}

// MarkWorkspaceDeleting hides a workspace, then moves the data epoch.
func (c *Store) MarkWorkspaceDeleting(ctx context.Context, id string, now time.Time) error {
	if err := c.Store.MarkWorkspaceDeleting(ctx, id, now); err != nil {
		return err
	}
	return c.workspaceChanged(ctx, id)
}

// DeleteWorkspaceDocuments removes a workspace's documents, its API tokens
// included, between two moves of the tokens epoch.
func (c *Store) DeleteWorkspaceDocuments(ctx context.Context, id string) error {
	if err := c.BumpEpoch(ctx, storage.EpochTokens); err != nil {
		return err
	}
	defer c.tokensRevoked(ctx)
	return c.Store.DeleteWorkspaceDocuments(ctx, id)
}

// DeleteAPIToken deletes a token between two moves of the tokens epoch: the
// first makes every instance read the token again from then on, the second
// catches an instance that read it between the first and the delete.
func (c *Store) DeleteAPIToken(ctx context.Context, userID, publicID string) (storage.APIToken, error) {
	if err := c.BumpEpoch(ctx, storage.EpochTokens); err != nil {
		return storage.APIToken{}, err
	}
	defer c.tokensRevoked(ctx)
	return c.Store.DeleteAPIToken(ctx, userID, publicID)
}

// tokensRevoked is the bump after a revocation, whose delete is durable by
// then: a failure does not fail the revocation, the bump is retried.
func (c *Store) tokensRevoked(ctx context.Context) {
	if c.BumpEpoch(ctx, storage.EpochTokens) == nil {
		return
	}
	c.tokens.Purge() // this instance at least forgets at once
	undo.Retry(ctx, c.log, "bump the token epoch after a revocation (until then other instances may accept the token until it ages out)", func(ctx context.Context) error { return c.BumpEpoch(ctx, storage.EpochTokens) })
}

// APITokenByHash returns the token with this hash, or storage.ErrNotFound, as
// of a read of the tokens epoch that began after the call.
func (c *Store) APITokenByHash(ctx context.Context, hash string) (storage.APIToken, error) {
	snap, err := c.fresh(ctx, epochsKey)
	if err != nil {
		return storage.APIToken{}, err
	}
	epoch := snap.epochs.Tokens
	if e, ok := c.tokens.Get(hash); ok && e.epoch == epoch && c.now().Sub(e.loadedAt) < tokenCacheMaxAge {
		return e.token, nil
	}
	loadedAt := c.now()
	t, err := c.Store.APITokenByHash(ctx, hash)
	if err != nil {
		return storage.APIToken{}, err
	}
	c.tokens.Add(hash, cachedToken{token: t, epoch: epoch, loadedAt: loadedAt})
	return t, nil
}

// UpsertUser writes a user's claims and forgets this instance's copy.
func (c *Store) UpsertUser(ctx context.Context, id, email, name string, now time.Time) error {
	defer c.users.Remove(id)
	return c.Store.UpsertUser(ctx, id, email, name, now)
}

// EnsureUser creates a user record unless one exists, and forgets this instance's copy.
func (c *Store) EnsureUser(ctx context.Context, id string, now time.Time) error {
	defer c.users.Remove(id)
	return c.Store.EnsureUser(ctx, id, now)
}

// UsersByID loads users, from this instance's copies when it has them
// (usersCacheTTL); ids that do not exist are absent from the map.
func (c *Store) UsersByID(ctx context.Context, ids []string) (map[string]storage.User, error) {
	out := make(map[string]storage.User, len(ids))
	var missing []string
	for _, id := range ids {
		if u, ok := c.users.Get(id); ok {
			out[id] = u
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	users, err := c.Store.UsersByID(ctx, missing)
	if err != nil {
		return nil, err
	}
	for id, u := range users {
		out[id] = u
		c.users.Add(id, u)
	}
	return out, nil
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
