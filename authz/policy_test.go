package authz

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"credkeep/authn"
	"credkeep/coherence"
	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// TestLevelsAgreeWithEnforce builds random workspaces of members, grants and
// owner rules, and checks that the one-pass level of every user on every
// credential is exactly what Casbin's Enforce decides.
func TestLevelsAgreeWithEnforce(t *testing.T) {
	a, store := testAuthorizer(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	roles := []Role{RoleOwner, RoleAdmin, RoleMember, ""}
	levels := []Level{LevelUse, LevelView, LevelManage}
	now := time.Now()
	checked, seen := 0, map[Level]int{}
	for round := 0; round < 5; round++ {
		ws := fmt.Sprintf("ws-%d", round)
		if err := store.InsertWorkspace(ctx, storage.Workspace{ID: ws, Name: ws}); err != nil {
			t.Fatal(err)
		}
		users := []string{"u0", "u1", "u2", "u3", "u4", "u,5 # \"x\""}
		for _, u := range users {
			if r := roles[rng.IntN(len(roles))]; r != "" {
				if err := store.InsertMember(ctx, storage.Member{WorkspaceID: ws, UserID: u, Role: string(r)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		var creds []string
		for c := 0; c < 12; c++ {
			cred := fmt.Sprintf("c%d", c)
			creds = append(creds, cred)
			if err := a.GrantOwner(ctx, ws, cred, users[rng.IntN(len(users))], now); err != nil {
				t.Fatal(err)
			}
			for g := rng.IntN(4); g > 0; g-- {
				grant := Grant{ID: fmt.Sprintf("g-%d-%d-%d", round, c, g), Kind: GranteeUser, UserID: users[rng.IntN(len(users))],
					Level: levels[rng.IntN(3)], GrantedBy: "u0", GrantedAt: now}
				if rng.IntN(4) == 0 {
					grant.Kind, grant.UserID = GranteeWorkspace, ""
				}
				if err := a.PutGrant(ctx, ws, cred, grant); err != nil {
					t.Fatal(err)
				}
			}
		}
		set, err := a.policySet(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range append(users, "stranger") {
			levelOf, err := a.LevelsIn(ctx, &authn.Principal{UserID: u}, ws)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range creds {
				got, err := set.level(u, ws, c)
				if err != nil {
					t.Fatal(err)
				}
				want, err := set.enforceLevel(u, ws, c)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("%s %s %s: one-pass %s, Enforce %s", ws, u, c, got, want)
				}
				if batch := levelOf(c); batch != want {
					t.Errorf("%s %s %s: LevelsIn %s, Enforce %s", ws, u, c, batch, want)
				}
				seen[want]++
				checked++
			}
		}
	}
	t.Logf("%d decisions compared: %v", checked, seen)
	for _, l := range []Level{LevelNone, LevelUse, LevelView, LevelManage} {
		if seen[l] == 0 {
			t.Errorf("no decision was %s: the test does not cover every level", l)
		}
	}
}

// TestIncrementalSetsMatchReloads: an instance that applies its own rule
// changes to the policies it holds (instead of recompiling them from the
// database) decides exactly as a fresh instance that compiles them.
func TestIncrementalSetsMatchReloads(t *testing.T) {
	const ws = "ws"
	users := []string{"u0", "u1", "u2", "u3"}
	a, store := workspaceWith(t, ws, users, []Role{RoleOwner, RoleMember, RoleMember, RoleAdmin})
	ctx := context.Background()
	var err error
	rng := rand.New(rand.NewPCG(3, 4))
	now := time.Now()
	var creds []string
	grants := map[string][]string{}
	const ops = 60
	for op := 0; op < ops; op++ {
		if _, err := a.policySet(ctx, ws); err != nil { // a request in between: the set is held
			t.Fatal(err)
		}
		switch k := rng.IntN(10); {
		case k < 4 || len(creds) == 0:
			c := fmt.Sprintf("c%d", op)
			creds = append(creds, c)
			err = a.GrantOwner(ctx, ws, c, users[rng.IntN(len(users))], now)
		case k < 7:
			c := creds[rng.IntN(len(creds))]
			g := Grant{ID: fmt.Sprintf("g%d", op), Kind: GranteeUser, UserID: users[rng.IntN(len(users))],
				Level: []Level{LevelUse, LevelView, LevelManage}[rng.IntN(3)], GrantedBy: "u0", GrantedAt: now}
			grants[c] = append(grants[c], g.ID)
			err = a.PutGrant(ctx, ws, c, g)
		case k < 9:
			c := creds[rng.IntN(len(creds))]
			if len(grants[c]) > 0 {
				_, err = a.RemoveGrant(ctx, ws, c, grants[c][0])
				grants[c] = grants[c][1:]
			}
		default:
			i := rng.IntN(len(creds))
			err = a.DropCredential(ctx, ws, creds[i])
			creds = append(creds[:i], creds[i+1:]...)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := a.builds.Load(); n > 3 {
		t.Errorf("%d policy sets compiled from the database over %d changes: changes are not applied in place", n, ops)
	}
	b, err := NewAuthorizer(store.Rules(), store)
	if err != nil {
		t.Fatal(err)
	}
	held, err := a.policySet(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := b.policySet(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		for _, c := range append(creds, "gone") {
			got, err := held.level(u, ws, c)
			if err != nil {
				t.Fatal(err)
			}
			want, err := fresh.level(u, ws, c)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s on %s: held %s, compiled %s", u, c, got, want)
			}
		}
	}
}

// TestConcurrentCreationsApplyInPlace: credentials created at the same time in
// one workspace (each adds its owner's rule) do not make the instance compile
// the workspace's policies from the database again and again, and the set it
// ends with decides as a fresh compilation does.
func TestConcurrentCreationsApplyInPlace(t *testing.T) {
	const ws = "ws"
	faults := storagetest.Start(t).WithFaults(t)
	store := coherence.Wrap(faults.Open(t), time.Now, slog.New(slog.DiscardHandler))
	a, err := NewAuthorizer(store.Rules(), store)
	if err != nil {
		t.Fatal(err)
	}
	addWorkspace(t, store, ws, []string{"u0", "u1"}, []Role{RoleMember, RoleMember})
	ctx := context.Background()
	if _, err := a.policySet(ctx, ws); err != nil {
		t.Fatal(err)
	}
	// Each version move is known to the database 10 ms before its writer
	// learns it, and writes elsewhere keep moving the data epoch, which makes
	// readers read the workspace's version again: requests read the new
	// version in that window.
	faults.SlowReply("findAndModify", "workspaces", 10*time.Millisecond)
	elsewhere, stopElsewhere := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(elsewhere)
		for {
			select {
			case <-stopElsewhere:
				return
			default:
				_ = store.BumpEpoch(ctx, storage.EpochData)
			}
		}
	}()
	const workers, each = 16, 4
	const n = workers * each
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				i := w*each + k
				// A request of its own: check access, then create.
				rctx := WithRequestCache(ctx)
				if _, err := a.policySet(rctx, ws); err != nil {
					errs <- err
					return
				}
				errs <- a.GrantOwner(rctx, ws, fmt.Sprintf("c%02d", i), []string{"u0", "u1"}[i%2], time.Now())
			}
		}()
	}
	wg.Wait()
	close(stopElsewhere)
	<-elsewhere
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	held, err := a.policySet(WithRequestCache(ctx), ws)
	if err != nil {
		t.Fatal(err)
	}
	// The first compilation only: a request that reads a version this
	// instance is writing waits for the write and its set. (One per change or
	// more was the quadratic case, 22 of 64; without the wait, the window
	// between a bump and the caching of its set makes about one per change.)
	b := a.builds.Load()
	if b != 1 {
		t.Errorf("%d compilations from the database for %d concurrent creations", b, n)
	}
	t.Logf("%d compilations for %d concurrent creations", b, n)
	fresh, err := (func() (*policySet, error) {
		b, err := NewAuthorizer(store.Rules(), store)
		if err != nil {
			return nil, err
		}
		return b.policySet(ctx, ws)
	})()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		c := fmt.Sprintf("c%02d", i)
		for _, u := range []string{"u0", "u1"} {
			got, _ := held.level(u, ws, c)
			want, _ := fresh.level(u, ws, c)
			if got != want {
				t.Errorf("%s on %s: held %s, fresh %s", u, c, got, want)
			}
		}
	}
}

// workspaceWith is an authorizer on a fresh database with workspace ws, whose
// members are users in roles.
func workspaceWith(t testing.TB, ws string, users []string, roles []Role) (*Authorizer, *coherence.Store) {
	t.Helper()
	a, store := testAuthorizer(t)
	addWorkspace(t, store, ws, users, roles)
	return a, store
}

// addWorkspace stores a workspace and its members.
func addWorkspace(t testing.TB, store *coherence.Store, ws string, users []string, roles []Role) {
	t.Helper()
	ctx := context.Background()
	if err := store.InsertWorkspace(ctx, storage.Workspace{ID: ws, Name: ws}); err != nil {
		t.Fatal(err)
	}
	for i, u := range users {
		if err := store.InsertMember(ctx, storage.Member{WorkspaceID: ws, UserID: u, Role: string(roles[i])}); err != nil {
			t.Fatal(err)
		}
	}
}

// testAuthorizer is an authorizer on a fresh database.
func testAuthorizer(t testing.TB) (*Authorizer, *coherence.Store) {
	t.Helper()
	_, raw := storagetest.Store(t)
	store := coherence.Wrap(raw, time.Now, slog.New(slog.DiscardHandler))
	a, err := NewAuthorizer(store.Rules(), store)
	if err != nil {
		t.Fatal(err)
	}
	return a, store
}

// TestWarmCompilesEveryWorkspaceFromOneRead: an authorizer starting on
// existing rules (a restart) that is warmed answers for every workspace
// without compiling any from the database again, and decides as a fresh
// compilation of each does: each workspace gets its own rules, no other's.
func TestWarmCompilesEveryWorkspaceFromOneRead(t *testing.T) {
	a, store := workspaceWith(t, "ws1", []string{"u0", "u1"}, []Role{RoleOwner, RoleMember})
	addWorkspace(t, store, "ws2", []string{"u0", "u2"}, []Role{RoleOwner, RoleMember})
	ctx := context.Background()
	now := time.Now()
	for _, err := range []error{
		a.GrantOwner(ctx, "ws1", "c1", "u1", now),
		a.GrantOwner(ctx, "ws2", "c2", "u0", now),
		a.PutGrant(ctx, "ws2", "c2", Grant{ID: "g1", Kind: GranteeUser, UserID: "u2", Level: LevelView, GrantedBy: "u0", GrantedAt: now}),
		a.PutGrant(ctx, "ws1", "c1", Grant{ID: "g2", Kind: GranteeUser, UserID: "u2", Level: LevelManage, GrantedBy: "u0", GrantedAt: now}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	restarted, err := NewAuthorizer(store.Rules(), store)
	if err != nil {
		t.Fatal(err)
	}
	if err := restarted.Warm(ctx, []string{"ws1", "ws2", "no-such-workspace"}); err != nil {
		t.Fatal(err)
	}
	fresh, err := NewAuthorizer(store.Rules(), store)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Level{"ws1/u1/c1": LevelManage, "ws2/u2/c2": LevelView, "ws1/u2/c1": LevelNone, "ws2/u1/c2": LevelNone}
	for _, ws := range []string{"ws1", "ws2"} {
		warmed, err := restarted.policySet(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		compiled, err := fresh.policySet(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"u0", "u1", "u2"} {
			for _, c := range []string{"c1", "c2"} {
				got, err := warmed.level(u, ws, c)
				if err != nil {
					t.Fatal(err)
				}
				if l, err := compiled.level(u, ws, c); err != nil || got != l {
					t.Errorf("%s on %s/%s: warmed %s, compiled %s (%v)", u, ws, c, got, l, err)
				}
				if w, ok := want[ws+"/"+u+"/"+c]; ok && got != w {
					t.Errorf("%s on %s/%s: %s, want %s", u, ws, c, got, w)
				}
			}
		}
	}
	if n := restarted.builds.Load(); n != 0 {
		t.Errorf("a warmed authorizer compiled %d workspaces from the database, want 0", n)
	}
}
