package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"credkeep/app"
	"credkeep/authn"
	"credkeep/storage"
	"credkeep/storage/storagetest"
	"credkeep/usecount"
)

func get(t testing.TB, url string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func TestHealthAndReadiness(t *testing.T) {
	db := storagetest.Start(t)
	if db.Embedded == nil {
		t.Skip("stopping the database needs the embedded one")
	}
	ctx := context.Background()
	store, err := storage.Open(ctx, storage.Options{Embedded: db.Embedded, DBName: db.Name, MasterKey: db.MasterKey, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close(context.Background()) })
	h, err := app.NewHandler(ctx, app.Options{Store: store, Uses: usecount.New(store, nil), JWT: authn.JWTConfig{Secret: jwtSecret}})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, h)
	tok, err := authn.MintHS256(jwtSecret, authn.MintOptions{Subject: "alice", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	if r := get(t, srv+"/healthz"); r.Status != http.StatusOK {
		t.Fatalf("healthz: %d", r.Status)
	}
	if r := get(t, srv+"/readyz"); r.Status != http.StatusOK || !strings.Contains(r.Body, "ready") {
		t.Fatalf("readyz: %d %s", r.Status, r.Body)
	}

	db.Embedded.Stop()
	var down response
	if d := fastest(3, func() { down = get(t, srv+"/readyz") }); d > 3*time.Second {
		t.Errorf("readyz took %v with the database down", d)
	}
	if down.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database down: %d %s", down.Status, down.Body)
	}
	if r := get(t, srv+"/healthz"); r.Status != http.StatusOK {
		t.Fatalf("healthz must stay alive: %d", r.Status)
	}

	// A request that needs the database fails with INTERNAL and a request id,
	// and says nothing about the cause.
	req, _ := http.NewRequest(http.MethodPost, srv+"/graphql", strings.NewReader(`{"query":"{ workspaces { id } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok.Reveal())
	r := do(t, req)
	wantCode(t, r, "INTERNAL")
	reqID := r.Header.Get("X-Request-Id")
	if reqID == "" || !strings.Contains(r.Errors[0].Message, reqID) || !strings.HasPrefix(r.Errors[0].Message, "internal error") {
		t.Errorf("INTERNAL must carry the request id %q: %s", reqID, r.Body)
	}
	for _, leak := range []string{"server selection", "ferretdb", "sock", "mongo"} {
		if strings.Contains(strings.ToLower(r.Body), leak) {
			t.Errorf("error reveals %q: %s", leak, r.Body)
		}
	}
}

func newServer(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptestServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
