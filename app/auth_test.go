package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"credkeep/authn"
)

const viewerQuery = `{ viewer { user { id email name } isAdmin } }`

func TestViewerAndUserRecord(t *testing.T) {
	e := newEnv(t)
	var v struct {
		User struct {
			ID, Email, Name string
		}
		IsAdmin bool
	}
	mustOK(t, e.gql(e.token("alice", admin), viewerQuery, nil)).field(t, "viewer", &v)
	if v.User.ID != "alice" || v.User.Email != "alice@example.com" || v.User.Name != "Alice" || !v.IsAdmin {
		t.Errorf("viewer = %+v", v)
	}
	mustOK(t, e.gql(e.token("bob"), viewerQuery, nil)).field(t, "viewer", &v)
	if v.User.ID != "bob" || v.IsAdmin {
		t.Errorf("viewer = %+v", v)
	}

	// The user record was created from the claims, and refreshed when they change.
	users, err := e.store.UsersByID(context.Background(), []string{"alice", "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if users["alice"].Email != "alice@example.com" || users["bob"].Name != "Bob" {
		t.Fatalf("users = %+v", users)
	}
	renamed := e.token("bob", func(o *authn.MintOptions) { o.Email = "robert@example.com" })
	mustOK(t, e.gql(renamed, viewerQuery, nil))
	users, err = e.store.UsersByID(context.Background(), []string{"bob"})
	if err != nil {
		t.Fatal(err)
	}
	if users["bob"].Email != "robert@example.com" {
		t.Errorf("user record not refreshed: %+v", users["bob"])
	}
}

func TestAuthenticationFailures(t *testing.T) {
	e := newEnv(t)
	valid := e.token("alice")
	expired := e.token("alice", func(o *authn.MintOptions) { o.Now = time.Now().Add(-3 * time.Hour) })
	wrongAud := e.token("alice", func(o *authn.MintOptions) { o.Audience = "someone-else" })
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]

	cases := []struct {
		name   string
		header string
		status int
	}{
		{"no credentials", "", http.StatusOK},
		{"malformed JWT", "Bearer not.a.jwt", http.StatusUnauthorized},
		{"garbage", "Bearer garbage", http.StatusUnauthorized},
		{"expired JWT", "Bearer " + expired, http.StatusUnauthorized},
		{"wrong audience", "Bearer " + wrongAud, http.StatusUnauthorized},
		{"tampered payload", "Bearer " + tampered, http.StatusUnauthorized},
		{"basic auth", "Basic YWxpY2U6cHc=", http.StatusUnauthorized},
		{"empty bearer", "Bearer ", http.StatusUnauthorized},
		{"10,000 dots", "Bearer " + strings.Repeat(".", 10_000), http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/graphql", strings.NewReader(`{"query":"{ viewer { isAdmin } }"}`))
			req.Header.Set("Content-Type", "application/json")
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			r := do(t, req)
			if r.Status != tc.status {
				t.Errorf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			wantCode(t, r, "UNAUTHENTICATED")
			if r.Data["viewer"] != nil && string(r.Data["viewer"]) != "null" {
				t.Errorf("data leaked: %s", r.Body)
			}
			if strings.Contains(r.Body, "signature") || strings.Contains(r.Body, "goroutine") {
				t.Errorf("error reveals internals: %s", r.Body)
			}
		})
	}
}

func TestExpiryUsesTheClock(t *testing.T) {
	e := newEnv(t)
	tok := e.token("alice") // valid for an hour from now
	mustOK(t, e.gql(tok, viewerQuery, nil))
	e.clock.Advance(2 * time.Hour)
	r := e.gql(tok, viewerQuery, nil)
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("an expired token must be refused, got %d: %s", r.Status, r.Body)
	}
	wantCode(t, r, "UNAUTHENTICATED")
}

func TestIntrospectionOnlyForAdmins(t *testing.T) {
	e := newEnv(t)
	const q = `{ __schema { queryType { name } } }`
	mustOK(t, e.gql(e.token("root", admin), q, nil))
	wantCode(t, e.gql(e.token("alice"), q, nil), "FORBIDDEN")
	// Hidden inside a fragment.
	wantCode(t, e.gql(e.token("alice"), `query { ...F } fragment F on Query { __type(name: "User") { name } }`, nil), "FORBIDDEN")
	// __typename is not introspection.
	mustOK(t, e.gql(e.token("alice"), `{ __typename }`, nil))

	dev := &env{t: t, db: e.db, clock: e.clock, dev: true, logs: e.logs}
	srv := dev.instance().srv
	mustOK(t, dev.gqlOn(srv, dev.token("alice"), q, nil))
}
