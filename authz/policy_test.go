package authz

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// TestLevelsAgreeWithEnforce builds random workspaces of members, grants and
// owner rules, and checks that the one-pass level of every user on every
// credential is exactly what Casbin's Enforce decides.
func TestLevelsAgreeWithEnforce(t *testing.T) {
	_, store := storagetest.Store(t)
	a, err := NewAuthorizer(store.Rules(), store)
	if err != nil {
		t.Fatal(err)
	}
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
