package authz

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"credkeep/apitoken/tokenformat"
	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// benchSet is a workspace of 200 credentials, each with its owner's rule, and
// 200 grants, compiled once.
func benchSet(b *testing.B) (*policySet, []string) {
	_, store := storagetest.Store(b)
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

// BenchmarkJWTVerify verifies an HS256 user token (iss and aud checked).
// BenchmarkJWTVerify: a token's first verification (signature and claims) and
// a remembered one (the SHA-256 lookup and the expiry check).
func BenchmarkJWTVerify(b *testing.B) {
	tok := sign(b, jwt.SigningMethodHS256, []byte(testSecret.Reveal()), claims(nil), "")
	for _, first := range []bool{true, false} {
		name := map[bool]string{true: "first", false: "remembered"}[first]
		b.Run(name, func(b *testing.B) {
			v := hsVerifier(b)
			for i := 0; i < b.N; i++ {
				if first {
					v.verified.Purge()
				}
				if _, err := v.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAPITokenCheck is what an API token costs before its (cached) record:
// the checksum and the SHA-256 that is its _id.
func BenchmarkAPITokenCheck(b *testing.B) {
	tok, err := tokenformat.Generate()
	if err != nil {
		b.Fatal(err)
	}
	s := tok.Reveal()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !tokenformat.Valid(s) || tokenformat.Hash(s) == "" {
			b.Fatal("invalid")
		}
	}
}
