package authz

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// benchSet is a workspace of 200 credentials, each with its owner's rule, and
// 200 grants, compiled once.
func benchSet(b *testing.B) (*policySet, []string) {
	const ws = "ws"
	users := []string{"owner", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"}
	roles := make([]Role, len(users))
	for i := range roles {
		roles[i] = RoleMember
	}
	roles[0] = RoleOwner
	a, _ := workspaceWith(b, ws, users, roles)
	ctx := context.Background()
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
