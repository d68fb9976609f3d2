package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"credkeep/coherence"
	"credkeep/internal/redact"
	"credkeep/storage"
)

// The contract suites: one per store interface of the domain packages, each
// asserting what that package relies on, whatever the database (they run on
// the embedded one and, when MONGODB_URI is set, on MongoDB; storage's
// TestContracts). A suite takes the store as production wires it
// (coherence.Store over storage.Store) and a fresh database.

// Contracts are the suites by the interface they cover.
var Contracts = map[string]func(t *testing.T, s *coherence.Store){
	"usecount.Store":     UseCountStore,
	"apitoken.Store":     APITokenStore,
	"ratelimit.Store":    RateLimitStore,
	"persisted.Store":    PersistedStore,
	"audit.Store":        AuditStore,
	"workspace.Store":    WorkspaceStore,
	"credential.Store":   CredentialStore,
	"connection.Store":   LeaseStore,
	"authz.PolicyStore":  PolicyStore,
	"authn.UserRecorder": UserStore,
}

// UseCountStore: counts add up per credential, each instance's batch marker is
// its own, and ForgetInstance removes only that instance's marker.
func UseCountStore(t *testing.T, s *coherence.Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	later := at.Add(time.Minute)
	must(t, s.AddUses(ctx, "ws", "a", 1, map[string]storage.Uses{"c1": {UseCount: 2, LastUsedAt: &later}}))
	must(t, s.AddUses(ctx, "ws", "a", 2, map[string]storage.Uses{"c1": {UseCount: 3, LastUsedAt: &at}, "c2": {UseCount: 1, LastUsedAt: &at}}))
	must(t, s.AddUses(ctx, "ws", "b", 7, map[string]storage.Uses{"c1": {UseCount: 1, LastUsedAt: &at}}))
	got, err := s.StoredUses(ctx, []string{"ws", "absent"}, "a")
	must(t, err)
	if _, ok := got["absent"]; ok {
		t.Error("a workspace without counters is in the answer")
	}
	ws := got["ws"]
	if n := ws.Credentials["c1"].UseCount; n != 6 {
		t.Errorf("c1 counts %d uses, want 6", n)
	}
	if last := ws.Credentials["c1"].LastUsedAt; last == nil || !last.Equal(later) {
		t.Errorf("c1 last used %v, want the latest %v", last, later)
	}
	if n := ws.Credentials["c2"].UseCount; n != 1 {
		t.Errorf("c2 counts %d uses, want 1", n)
	}
	if ws.Batch != 2 {
		t.Errorf("instance a's last batch is %d, want 2", ws.Batch)
	}
	must(t, s.ForgetInstance(ctx, []string{"ws"}, "a"))
	got, err = s.StoredUses(ctx, []string{"ws"}, "a")
	must(t, err)
	if got["ws"].Batch != 0 {
		t.Errorf("instance a's marker is %d after ForgetInstance", got["ws"].Batch)
	}
	got, err = s.StoredUses(ctx, []string{"ws"}, "b")
	must(t, err)
	if got["ws"].Batch != 7 {
		t.Errorf("instance b's marker is %d after a's was forgotten, want 7", got["ws"].Batch)
	}
}

// APITokenStore: tokens are found by hash and by (user, public id), listed
// newest first per user, and deleted only by their own user.
func APITokenStore(t *testing.T, s *coherence.Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for i, tok := range []storage.APIToken{
		{Hash: "h1", ID: "t1", UserID: "alice", Name: "one", CreatedAt: at},
		{Hash: "h2", ID: "t2", UserID: "alice", Name: "two", CreatedAt: at.Add(time.Second)},
		{Hash: "h3", ID: "t3", UserID: "bob", Name: "three", CreatedAt: at},
	} {
		if err := s.InsertAPIToken(ctx, tok); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	if err := s.InsertAPIToken(ctx, storage.APIToken{Hash: "h1", ID: "t9", UserID: "eve"}); err == nil {
		t.Error("a second token with the same hash was stored")
	}
	if got, err := s.APITokenByHash(ctx, "h2"); err != nil || got.ID != "t2" {
		t.Errorf("by hash: %+v, %v", got, err)
	}
	if _, err := s.APITokenOf(ctx, "bob", "t1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("bob reads alice's token: %v, want ErrNotFound", err)
	}
	list, err := s.APITokensOf(ctx, "alice")
	must(t, err)
	if ids := tokenIDs(list); ids != "t2,t1" {
		t.Errorf("alice's tokens %s, want newest first t2,t1", ids)
	}
	if _, err := s.DeleteAPIToken(ctx, "bob", "t1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("bob deletes alice's token: %v, want ErrNotFound", err)
	}
	deleted, err := s.DeleteAPIToken(ctx, "alice", "t1")
	must(t, err)
	if deleted.Hash != "h1" {
		t.Errorf("deleted token %+v, want the one of hash h1", deleted)
	}
	if _, err := s.APITokenByHash(ctx, "h1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a deleted token is found by hash: %v", err)
	}
}

func tokenIDs(ts []storage.APIToken) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ","
		}
		s += t.ID
	}
	return s
}

// RateLimitStore: concurrent adds to one window all count; windows and tokens
// are separate counts.
func RateLimitStore(t *testing.T, s *coherence.Store) {
	ctx := context.Background()
	w := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.AddRequests(ctx, "h", w, 3); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n, err := s.AddRequests(ctx, "h", w, 0); err != nil || n != 60 {
		t.Errorf("window total %d (%v), want 60", n, err)
	}
	if n, err := s.AddRequests(ctx, "h", w.Add(time.Hour), 1); err != nil || n != 1 {
		t.Errorf("next window total %d (%v), want 1", n, err)
	}
	if n, err := s.AddRequests(ctx, "other", w, 2); err != nil || n != 2 {
		t.Errorf("another token's total %d (%v), want 2", n, err)
	}
}

// PersistedStore: a saved query is found by hash, saving is idempotent, and
// beyond max the least recently used one goes.
func PersistedStore(t *testing.T, s *coherence.Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	if _, err := s.PersistedQuery(ctx, "q0"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("an unknown hash: %v, want ErrNotFound", err)
	}
	must(t, s.SavePersistedQuery(ctx, "q1", "{ a }", 2, at))
	must(t, s.SavePersistedQuery(ctx, "q1", "{ changed }", 2, at))
	must(t, s.SavePersistedQuery(ctx, "q2", "{ b }", 2, at.Add(time.Second)))
	must(t, s.TouchPersistedQuery(ctx, "q1", at.Add(2*time.Second)))
	must(t, s.SavePersistedQuery(ctx, "q3", "{ c }", 2, at.Add(3*time.Second)))
	if q, err := s.PersistedQuery(ctx, "q1"); err != nil || q != "{ a }" {
		t.Errorf("q1 is %q (%v), want the text first saved", q, err)
	}
	if _, err := s.PersistedQuery(ctx, "q2"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("q2, least recently used, is still stored: %v", err)
	}
	if _, err := s.PersistedQuery(ctx, "q3"); err != nil {
		t.Errorf("q3: %v", err)
	}
}

// AuditStore: entries are numbered per log without gaps or duplicates, read
// back in order, and heads only move forward.
func AuditStore(t *testing.T, s *coherence.Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	entry := func(seq int64) storage.AuditEntry {
		return storage.AuditEntry{Log: "ws", Seq: seq, Action: "TEST", At: at, Hash: fmt.Sprint("hash", seq)}
	}
	must(t, s.InsertAuditEntries(ctx, []storage.AuditEntry{entry(1), entry(2), entry(3)}))
	if err := s.InsertAuditEntries(ctx, []storage.AuditEntry{entry(3)}); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("a second entry 3: %v, want ErrConflict", err)
	}
	if e, err := s.AuditEntry(ctx, "ws", 2); err != nil || e.Hash != "hash2" {
		t.Errorf("entry 2: %+v, %v", e, err)
	}
	if _, err := s.AuditEntry(ctx, "ws", 4); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("entry 4: %v, want ErrNotFound", err)
	}
	var seqs []int64
	must(t, s.ForEachAuditEntry(ctx, "ws", func(e storage.AuditEntry) error { seqs = append(seqs, e.Seq); return nil }))
	if fmt.Sprint(seqs) != "[1 2 3]" {
		t.Errorf("entries in order %v, want [1 2 3]", seqs)
	}
	must(t, s.AdvanceAuditHeads(ctx, []storage.AuditHeadMove{{Log: "ws", To: storage.AuditHead{Seq: 3, Hash: "hash3"}}}))
	must(t, s.AdvanceAuditHeads(ctx, []storage.AuditHeadMove{{Log: "ws", To: storage.AuditHead{Seq: 2, Hash: "hash2"}}}))
	if h, err := s.AuditHead(ctx, "ws"); err != nil || h.Seq != 3 || h.Hash != "hash3" {
		t.Errorf("head %+v (%v), want it left at 3 by a move back", h, err)
	}
	auditQueries(t, s, at)
}

// auditQueries: a log's entries are read back as written, filtered, paged
// from either end, and counted, and never another log's.
func auditQueries(t *testing.T, s *coherence.Store, at time.Time) {
	ctx := context.Background()
	more := []storage.AuditEntry{
		{Log: "ws", Seq: 4, Action: "USED", Outcome: "SUCCESS", TargetID: "c1", ActorUserID: "alice", At: at.Add(time.Hour),
			Details: []storage.AuditDetail{{Key: "field", Value: "apiKey"}}, Hash: "hash4"},
		{Log: "ws", Seq: 5, Action: "USED", Outcome: "DENIED", TargetID: "c2", ActorTokenID: "tok", At: at.Add(2 * time.Hour), Hash: "hash5"},
		{Log: "ws", Seq: 6, Action: "CREATED", Outcome: "SUCCESS", TargetID: "c1", ActorUserID: "bob", At: at.Add(3 * time.Hour), Hash: "hash6"},
		{Log: "ws2", Seq: 1, Action: "USED", Outcome: "SUCCESS", TargetID: "c1", ActorUserID: "alice", At: at.Add(time.Hour), Hash: "other"},
	}
	must(t, s.InsertAuditEntries(ctx, more))
	if e, err := s.AuditEntry(ctx, "ws", 4); err != nil || !e.At.Equal(at.Add(time.Hour)) || e.ActorUserID != "alice" ||
		fmt.Sprint(e.Details) != "[{field apiKey}]" || e.ID != storage.AuditEntryID("ws", 4) {
		t.Errorf("entry 4 read back as %+v, %v", e, err)
	}
	hour := func(h int) *time.Time { v := at.Add(time.Duration(h) * time.Hour); return &v }
	for _, c := range []struct {
		name  string
		q     storage.AuditQuery
		seqs  string
		total int64
	}{
		{"newest first", storage.AuditQuery{}, "[6 5 4 3 2 1]", 6},
		{"a page", storage.AuditQuery{Limit: 2}, "[6 5]", 6},
		{"the next page", storage.AuditQuery{BeforeSeq: 5, Limit: 2}, "[4 3]", 6},
		{"from the oldest end", storage.AuditQuery{AfterSeq: 4, Oldest: true}, "[5 6]", 6},
		{"by action", storage.AuditQuery{Action: "USED"}, "[5 4]", 2},
		{"by target", storage.AuditQuery{TargetID: "c1"}, "[6 4]", 2},
		{"by user", storage.AuditQuery{ActorID: "alice"}, "[4]", 1},
		{"by token", storage.AuditQuery{TokenID: "tok"}, "[5]", 1},
		{"by outcome", storage.AuditQuery{Outcome: "DENIED"}, "[5]", 1},
		{"by time", storage.AuditQuery{Since: hour(1), Until: hour(2)}, "[5 4]", 2},
		{"filtered and paged", storage.AuditQuery{TargetID: "c1", BeforeSeq: 6}, "[4]", 2},
		{"nothing matches", storage.AuditQuery{Action: "NONE"}, "[]", 0},
	} {
		c.q.Log = "ws"
		got, total, err := s.AuditEntries(ctx, c.q)
		seqs := make([]int64, len(got))
		for i, e := range got {
			seqs[i] = e.Seq
			if e.Log != "ws" {
				t.Errorf("%s: an entry of log %q", c.name, e.Log)
			}
		}
		if err != nil || fmt.Sprint(seqs) != c.seqs || total != c.total {
			t.Errorf("%s: %v of %d (%v), want %s of %d", c.name, seqs, total, err, c.seqs, c.total)
		}
	}
}

// WorkspaceStore: members are unique per workspace, the owner guard never
// empties, and a workspace being deleted is no longer listed.
func WorkspaceStore(t *testing.T, s *coherence.Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	must(t, s.InsertWorkspace(ctx, storage.Workspace{ID: "ws", Name: "Team", Owners: []string{"alice"}, CreatedAt: at}))
	must(t, s.InsertMember(ctx, storage.Member{WorkspaceID: "ws", UserID: "alice", Role: "OWNER", AddedAt: at}))
	must(t, s.InsertMember(ctx, storage.Member{WorkspaceID: "ws", UserID: "bob", Role: "MEMBER", AddedAt: at}))
	if err := s.InsertMember(ctx, storage.Member{WorkspaceID: "ws", UserID: "bob", Role: "ADMIN", AddedAt: at}); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("bob added twice: %v, want ErrConflict", err)
	}
	if m, err := s.SetMemberRole(ctx, "ws", "bob", "ADMIN", at); err != nil || m.Role != "ADMIN" {
		t.Errorf("set role: %+v, %v", m, err)
	}
	if err := s.RemoveOwner(ctx, "ws", "alice"); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("removing the last owner: %v, want ErrConflict", err)
	}
	members, err := s.MembersOf(ctx, "ws")
	must(t, err)
	if len(members) != 2 {
		t.Errorf("%d members, want 2", len(members))
	}
	must(t, s.DeleteMember(ctx, "ws", "bob"))
	if _, err := s.Member(ctx, "ws", "bob"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a deleted member: %v, want ErrNotFound", err)
	}
	if ws, err := s.WorkspacesByID(ctx, []string{"ws"}); err != nil || len(ws) != 1 || ws[0].Name != "Team" {
		t.Errorf("workspaces %+v (%v)", ws, err)
	}
	must(t, s.MarkWorkspaceDeleting(ctx, "ws", at))
	if ws, err := s.WorkspacesByID(ctx, []string{"ws"}); err != nil || len(ws) != 0 {
		t.Errorf("a workspace being deleted is listed: %+v (%v)", ws, err)
	}
	if _, live, err := s.PolicyVersion(ctx, "ws"); err != nil || live {
		t.Errorf("a workspace being deleted reads as live (%v)", err)
	}
}

// CredentialStore: names are unique per workspace, updates are guarded by
// version, secrets come back only through Unseal, and nothing crosses
// workspaces.
func CredentialStore(t *testing.T, s *coherence.Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, ws := range []string{"ws", "other"} {
		must(t, s.CreateDataKey(ctx, ws))
		must(t, s.InsertWorkspace(ctx, storage.Workspace{ID: ws, Name: ws, CreatedAt: at}))
	}
	c := storage.Credential{ID: "c1", WorkspaceID: "ws", Type: "api_key", Name: "Key", NameKey: "key", Version: 1, CreatedAt: at, UpdatedAt: at}
	must(t, s.InsertCredential(ctx, c, map[string]redact.Secret{"apiKey": redact.New("first-secret")}))
	dup := c
	dup.ID = "c2"
	if err := s.InsertCredential(ctx, dup, nil); !errors.Is(err, storage.ErrNameTaken) {
		t.Errorf("a second credential named key: %v, want ErrNameTaken", err)
	}
	dup.WorkspaceID = "other"
	must(t, s.InsertCredential(ctx, dup, nil)) // the same name in another workspace

	c.Name = "Key 2"
	c.NameKey = "key 2"
	updated, err := s.UpdateCredential(ctx, c, map[string]redact.Secret{"apiKey": redact.New("second-secret")}, 1)
	must(t, err)
	if updated.Version != 2 || updated.Name != "Key 2" {
		t.Errorf("after update: version %d name %q", updated.Version, updated.Name)
	}
	if _, err := s.UpdateCredential(ctx, c, nil, 1); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("an update from version 1 after version 2: %v, want ErrConflict", err)
	}
	_, sealed, err := s.SealedCredential(ctx, "c1")
	must(t, err)
	secrets, err := s.Unseal(ctx, sealed)
	must(t, err)
	if v := secrets["apiKey"]; v.Reveal() != "second-secret" {
		t.Errorf("unsealed secret is not the one last written (%d bytes)", len(v.Reveal()))
	}
	creds, _, err := s.SealedCredentialsOf(ctx, "other")
	must(t, err)
	if len(creds) != 1 || creds[0].ID != "c2" {
		t.Errorf("credentials of other: %+v, want only c2", creds)
	}
	if err := s.DeleteCredential(ctx, "other", "c1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("deleting c1 as another workspace's: %v, want ErrNotFound", err)
	}
	must(t, s.DeleteCredential(ctx, "ws", "c1"))
	if _, err := s.Credential(ctx, "c1"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a deleted credential: %v, want ErrNotFound", err)
	}
}

// LeaseStore: one holder at a time until the lease expires; only the holder
// releases it.
func LeaseStore(t *testing.T, s *coherence.Store) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	if ok, err := s.AcquireLease(ctx, "refresh:c1", "a", now.Add(time.Minute), now); err != nil || !ok {
		t.Fatalf("first acquire: %v, %v", ok, err)
	}
	if ok, err := s.AcquireLease(ctx, "refresh:c1", "b", now.Add(time.Minute), now); err != nil || ok {
		t.Errorf("b took a held lease: %v, %v", ok, err)
	}
	must(t, s.ReleaseLease(ctx, "refresh:c1", "b")) // not b's: nothing happens
	if ok, _ := s.AcquireLease(ctx, "refresh:c1", "b", now.Add(time.Minute), now); ok {
		t.Error("b's release freed a's lease")
	}
	later := now.Add(2 * time.Minute)
	if ok, err := s.AcquireLease(ctx, "refresh:c1", "b", later.Add(time.Minute), later); err != nil || !ok {
		t.Errorf("b could not take an expired lease: %v, %v", ok, err)
	}
	must(t, s.ReleaseLease(ctx, "refresh:c1", "b"))
	if ok, err := s.AcquireLease(ctx, "refresh:c1", "a", later.Add(time.Minute), later); err != nil || !ok {
		t.Errorf("a could not take a released lease: %v, %v", ok, err)
	}
}

// PolicyStore: policy versions move one at a time, and only for a live workspace.
func PolicyStore(t *testing.T, s *coherence.Store) {
	ctx := context.Background()
	must(t, s.InsertWorkspace(ctx, storage.Workspace{ID: "ws", Name: "ws", CreatedAt: time.Now()}))
	for want := int64(1); want <= 3; want++ {
		if v, err := s.BumpPolicyVersion(ctx, "ws"); err != nil || v != want {
			t.Errorf("bump %d: version %d (%v)", want, v, err)
		}
	}
	if v, live, err := s.PolicyVersion(ctx, "ws"); err != nil || !live || v != 3 {
		t.Errorf("policy version %d live %v (%v), want 3, live", v, live, err)
	}
	if v, err := s.BumpPolicyVersion(ctx, "absent"); err != nil || v != 0 {
		t.Errorf("bump of an absent workspace: %d (%v), want 0", v, err)
	}
}

// UserStore: a user's latest claims win, and EnsureUser never overwrites them.
func UserStore(t *testing.T, s *coherence.Store) {
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	must(t, s.EnsureUser(ctx, "alice", at))
	must(t, s.UpsertUser(ctx, "alice", "alice@example.com", "Alice", at))
	must(t, s.UpsertUser(ctx, "alice", "alice@example.org", "Alice B", at.Add(time.Second)))
	must(t, s.EnsureUser(ctx, "alice", at.Add(2*time.Second)))
	users, err := s.UsersByID(ctx, []string{"alice", "nobody"})
	must(t, err)
	if u := users["alice"]; u.Email != "alice@example.org" || u.Name != "Alice B" {
		t.Errorf("alice is %+v, want the latest claims", u)
	}
	if _, ok := users["nobody"]; ok {
		t.Error("an unknown user is in the answer")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
