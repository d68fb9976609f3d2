package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

// TestWebhookDeliverySurvivesKill kills the delivering server (SIGKILL) in the
// middle of a backlog and starts it again: once the dead process's lease runs
// out, the new one goes on from the webhook's cursor. Every entry arrives,
// verified, in seq order; one sent twice has the same webhook-id.
func TestWebhookDeliverySurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the server")
	}
	type got struct {
		id  string
		seq int
		err error
	}
	var mu sync.Mutex
	var secret string
	var all []got
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var p struct {
			Data struct{ Seq int } `json:"data"`
		}
		_ = json.Unmarshal(b, &p)
		mu.Lock()
		wh, err := svix.NewWebhook(secret)
		if err == nil {
			err = wh.Verify(b, r.Header)
		}
		all = append(all, got{r.Header.Get("webhook-id"), p.Data.Seq, err})
		mu.Unlock()
		time.Sleep(3 * time.Millisecond)
		w.WriteHeader(http.StatusOK)
	}))
	defer rc.Close()
	received := func() []got {
		mu.Lock()
		defer mu.Unlock()
		return append([]got(nil), all...)
	}

	dataDir, err := os.MkdirTemp("", "ckhooks")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dataDir) })
	p := newServerProc(t, dataDir)
	p.env = append(p.env, "CREDKEEP_ALLOW_PRIVATE_TARGETS=true")
	p.start()
	d, ok := p.gql(`mutation { createWorkspace(input: {name: "hooks"}) { id } }`, nil)
	if !ok {
		t.Fatal("create workspace")
	}
	ws := d["createWorkspace"].(map[string]any)["id"].(string)
	d, ok = p.gql(`mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { signingSecret webhook { id lastSeq } } }`,
		map[string]any{"in": map[string]any{"workspaceId": ws, "name": "h", "url": rc.URL, "events": []string{"WORKSPACE_UPDATED"}}})
	if !ok {
		t.Fatal("create webhook")
	}
	created := d["createWebhook"].(map[string]any)
	mu.Lock()
	secret = created["signingSecret"].(string)
	mu.Unlock()
	hook := created["webhook"].(map[string]any)["id"].(string)
	setActive := func(on bool) {
		if _, ok := p.gql(`mutation($id: ID!, $on: Boolean!) { updateWebhook(input: {id: $id, active: $on}) { id } }`, map[string]any{"id": hook, "on": on}); !ok {
			t.Fatal("update webhook")
		}
	}
	// A backlog: written while paused.
	setActive(false)
	const n = 200
	first := 0
	for i := 0; i < n; i++ {
		d, ok := p.gql(`mutation($id: ID!, $name: String!) { renameWorkspace(id: $id, name: $name) { id } }`, map[string]any{"id": ws, "name": fmt.Sprint("hooks ", i)})
		if !ok || d == nil {
			t.Fatalf("rename %d", i)
		}
	}
	setActive(true)
	for len(received()) < 60 {
		time.Sleep(5 * time.Millisecond)
	}
	p.kill()
	killedAt := len(received())
	p.start()
	deadline := time.Now().Add(40 * time.Second)
	for {
		seen := map[int]bool{}
		for _, g := range received() {
			seen[g.seq] = true
		}
		if len(seen) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d distinct entries delivered within 40 s of the restart, want %d", len(seen), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	ids := map[int]string{}
	prev := 0
	for i, g := range received() {
		if g.err != nil {
			t.Fatalf("delivery %d (seq %d) does not verify: %v", i, g.seq, g.err)
		}
		if id, dup := ids[g.seq]; dup {
			if id != g.id {
				t.Fatalf("seq %d sent again as %s, first as %s", g.seq, g.id, id)
			}
			continue
		}
		if first == 0 {
			first = g.seq
		} else if g.seq != prev+1 {
			t.Fatalf("delivery %d: seq %d after %d (skipped or out of order)", i, g.seq, prev)
		}
		ids[g.seq], prev = g.id, g.seq
	}
	t.Logf("killed after %d deliveries; %d sent in all for %d entries", killedAt, len(received()), n)
}
