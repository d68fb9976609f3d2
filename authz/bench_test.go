package authz

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"credkeep/coherence"
	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// benchSet is a workspace of 200 credentials, each with its owner's rule, and
// 200 grants, compiled once.
func benchSet(b *testing.B) (*policySet, []string) {
	_, raw := storagetest.Store(b)
	store := coherence.Wrap(raw, time.Now, slog.New(slog.DiscardHandler))
	a, err := NewAuthorizer(store.Rules(), store)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const ws = "ws"
	if err := store.InsertWorkspace(ctx, storage.Workspace{ID: ws, Name: ws}); err != nil {
		b.Fatal(err)
	}
	users := []string{"owner", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"}
	for i, u := range users {
		role := RoleMember
		if i == 0 {
			role = RoleOwner
		}
		if err := store.InsertMember(ctx, storage.Member{WorkspaceID: ws, UserID: u, Role: string(role)}); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now()
	creds := make([]string, 200)
	for i := range creds {
		creds[i] = fmt.Sprintf("cred-%03d", i)
		if err := a.GrantOwner(ctx, ws, creds[i], users[i%len(users)], now); err != nil {
			b.Fatal(err)
		}
		g := Grant{ID: fmt.Sprintf("g-%03d", i), Kind: GranteeUser, UserID: users[(i+3)%len(users)], Level: LevelView, GrantedBy: "owner", GrantedAt: now}
		if err := a.PutGrant(ctx, ws, creds[i], g); err != nil {
			b.Fatal(err)
		}
	}
	set, err := a.policySet(ctx, ws)
	if err != nil {
		b.Fatal(err)
	}
	return set, creds
}

// BenchmarkDecisionOne is the first decision of a request on one credential:
// the user's rules collected in one pass, then the credential's level.
func BenchmarkDecisionOne(b *testing.B) {
	set, creds := benchSet(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fresh := &policySet{version: set.version, enforcer: set.enforcer, members: set.members}
		if _, err := fresh.level("u3", "ws", creds[i%len(creds)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecisionPage200 decides a page of 200 credentials for one user.
func BenchmarkDecisionPage200(b *testing.B) {
	set, creds := benchSet(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fresh := &policySet{version: set.version, enforcer: set.enforcer, members: set.members}
		for _, c := range creds {
			if _, err := fresh.level("u3", "ws", c); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkEnforcePage200 is the same page decided with Casbin's Enforce, level by level.
func BenchmarkEnforcePage200(b *testing.B) {
	set, creds := benchSet(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, c := range creds {
			if _, err := set.enforceLevel("u3", "ws", c); err != nil {
				b.Fatal(err)
			}
		}
	}
}
