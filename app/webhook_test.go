package app_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	svix "github.com/svix/svix-webhooks/go"
)

const (
	createWebhook = `mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { signingSecret webhook { id name url events active lastSeq } } }`
	updateWebhook = `mutation($in: UpdateWebhookInput!) { updateWebhook(input: $in) { id name url events active description } }`
	webhookLog    = `query($ws: ID!) { workspace(id: $ws) { webhooks { id active lastSeq deliveries(first: 100) { totalCount edges { cursor node { id seq action attempt status responseCode durationMs at nextAttemptAt } } } } } }`
)

// received is one POST a receiver got, verified or not.
type received struct {
	id, signature string
	body          []byte
	payload       struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			ID          string `json:"id"`
			WorkspaceID string `json:"workspaceId"`
			Seq         int    `json:"seq"`
			Action      string `json:"action"`
			Outcome     string `json:"outcome"`
			TargetName  string `json:"targetName"`
			Actor       struct {
				Kind string `json:"kind"`
				User *struct {
					ID string `json:"id"`
				} `json:"user"`
			} `json:"actor"`
			Details []struct{ Key, Value string } `json:"details"`
			Hash    string                        `json:"hash"`
		} `json:"data"`
	}
	verified error
}

// receiver is an HTTP endpoint on loopback that records what it is sent and
// answers with status(n) for the nth request (200 when nil).
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	secret string
	status func(n int, r received) int
	delay  time.Duration
	notify chan struct{}
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{t: t, notify: make(chan struct{}, 10000)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		g := received{id: r.Header.Get("webhook-id"), signature: r.Header.Get("webhook-signature"), body: b}
		_ = json.Unmarshal(b, &g.payload)
		rc.mu.Lock()
		secret, status, n := rc.secret, rc.status, len(rc.got)
		rc.mu.Unlock()
		// Verified by an independent implementation: Svix's, which reads the
		// Standard Webhooks headers.
		if wh, err := svix.NewWebhook(secret); err != nil {
			g.verified = err
		} else {
			g.verified = wh.VerifyIgnoringTimestamp(b, r.Header)
		}
		time.Sleep(rc.delay)
		code := http.StatusOK
		if status != nil {
			code = status(n, g)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, g)
		rc.mu.Unlock()
		w.WriteHeader(code)
		rc.notify <- struct{}{}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// wait waits until it has had n requests.
func (rc *receiver) wait(n int, within time.Duration) []received {
	rc.t.Helper()
	deadline := time.After(within)
	for {
		if got := rc.requests(); len(got) >= n {
			return got
		}
		select {
		case <-rc.notify:
		case <-deadline:
			rc.t.Fatalf("receiver got %d requests within %v, want %d", len(rc.requests()), within, n)
		}
	}
}

type webhookJSON struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Active  bool     `json:"active"`
	LastSeq int      `json:"lastSeq"`
}

func (e *env) createWebhook(token, ws string, rc *receiver, events ...string) webhookJSON {
	e.t.Helper()
	var out struct {
		SigningSecret string
		Webhook       webhookJSON
	}
	mustOK(e.t, e.gql(token, createWebhook, map[string]any{"in": map[string]any{
		"workspaceId": ws, "name": "events", "url": rc.srv.URL + "/hooks?team=1", "events": events}})).field(e.t, "createWebhook", &out)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(out.SigningSecret, "whsec_"))
	if !strings.HasPrefix(out.SigningSecret, "whsec_") || err != nil || len(key) != 32 {
		e.t.Fatalf("signing secret %q: want whsec_ and the base64 of 32 bytes", out.SigningSecret)
	}
	rc.mu.Lock()
	rc.secret = out.SigningSecret
	rc.mu.Unlock()
	e.mu.Lock()
	e.tokens = append(e.tokens, out.SigningSecret) // shown once, here; never in a log
	e.mu.Unlock()
	return out.Webhook
}

type deliveryJSON struct {
	ID            string  `json:"id"`
	Seq           int     `json:"seq"`
	Action        string  `json:"action"`
	Attempt       int     `json:"attempt"`
	Status        string  `json:"status"`
	ResponseCode  *int    `json:"responseCode"`
	DurationMs    *int    `json:"durationMs"`
	NextAttemptAt *string `json:"nextAttemptAt"`
}

func (e *env) deliveries(token, ws string) (webhookJSON, []deliveryJSON, int) {
	e.t.Helper()
	var out struct {
		Webhooks []struct {
			webhookJSON
			Deliveries struct {
				TotalCount int
				Edges      []struct{ Node deliveryJSON }
			}
		}
	}
	mustOK(e.t, e.gql(token, webhookLog, map[string]any{"ws": ws})).field(e.t, "workspace", &out)
	if len(out.Webhooks) != 1 {
		e.t.Fatalf("webhooks: %+v", out.Webhooks)
	}
	var ds []deliveryJSON
	for _, ed := range out.Webhooks[0].Deliveries.Edges {
		ds = append(ds, ed.Node)
	}
	return out.Webhooks[0].webhookJSON, ds, out.Webhooks[0].Deliveries.TotalCount
}

func webhookEnv(t *testing.T) *env {
	return newEnvWith(t, func(e *env) {
		e.allowPrivate = true // the receiver is on loopback
		e.webhooksEvery = 20 * time.Millisecond
		e.webhookLease = time.Second
	})
}

// TestWebhookDelivers: the events a webhook asked for, and only those, in seq
// order, signed (verified by Svix's implementation), with the audit entry and
// never a secret; the delivery log shows each.
func TestWebhookDelivers(t *testing.T) {
	e := webhookEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	rc := newReceiver(t)
	hook := e.createWebhook(alice, ws, rc, "WORKSPACE_UPDATED", "CREDENTIAL_CREATED", "CREDENTIAL_USED")
	if !hook.Active || hook.LastSeq < 2 || len(hook.Events) != 3 {
		t.Fatalf("webhook: %+v", hook)
	}
	e.addMember(alice, ws, "bob", "MEMBER") // not among its events
	e.renames(alice, ws, 0, 10)
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	mustOK(t, e.gql(alice, shareCredential, map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "USER", "userId": "bob", "level": "USE"}}))
	e.forget(secrets[0])
	bot, _ := e.apiToken(alice, map[string]any{"name": "bot", "scopes": []string{"CREDENTIALS_USE"}})
	mustOK(t, e.gql(bot, `mutation($id: ID!) { useCredential(id: $id) { credential { id } } }`, map[string]any{"id": cred}))
	got := rc.wait(12, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	got = rc.requests()
	if len(got) != 12 {
		t.Fatalf("got %d deliveries, want 12 (10 renames, a create, a use; no share)", len(got))
	}
	prev := hook.LastSeq
	for i, g := range got {
		p := g.payload
		if g.verified != nil {
			t.Fatalf("delivery %d: signature not verified: %v", i, g.verified)
		}
		if p.Data.Seq <= prev {
			t.Fatalf("delivery %d: seq %d after %d: not in order", i, p.Data.Seq, prev)
		}
		prev = p.Data.Seq
		if p.Type != p.Data.Action || p.Data.WorkspaceID != ws || p.Data.Hash == "" || p.Data.ID != fmt.Sprintf("%s:%012d", ws, p.Data.Seq) {
			t.Fatalf("delivery %d: %s", i, g.body)
		}
		if want := fmt.Sprintf("msg_%s_%012d", hook.ID, p.Data.Seq); g.id != want {
			t.Fatalf("webhook-id %q, want %q", g.id, want)
		}
		if _, err := time.Parse(time.RFC3339, p.Timestamp); err != nil {
			t.Fatalf("timestamp %q", p.Timestamp)
		}
		for _, s := range secrets {
			if strings.Contains(string(g.body), s) {
				t.Fatalf("delivery %d holds a secret: %s", i, g.body)
			}
		}
		if strings.Contains(string(g.body), rc.secret) {
			t.Fatalf("delivery %d holds the signing secret", i)
		}
	}
	if got[0].payload.Data.Action != "WORKSPACE_UPDATED" || got[0].payload.Data.TargetName != "acme 0" ||
		got[0].payload.Data.Actor.Kind != "USER" || got[0].payload.Data.Actor.User.ID != "alice" {
		t.Fatalf("first delivery: %s", got[0].body)
	}
	if got[10].payload.Type != "CREDENTIAL_CREATED" || got[11].payload.Type != "CREDENTIAL_USED" {
		t.Fatalf("last deliveries: %s / %s", got[10].body, got[11].body)
	}
	// A tampered body does not verify: the check can fail.
	wh, _ := svix.NewWebhook(rc.secret)
	h := http.Header{"Webhook-Id": {got[0].id}, "Webhook-Timestamp": {fmt.Sprint(time.Now().Unix())}, "Webhook-Signature": {got[0].signature}}
	if err := wh.VerifyIgnoringTimestamp(append(got[0].body, ' '), h); err == nil {
		t.Fatal("a changed body verified")
	}

	hook2, ds, total := e.deliveries(alice, ws)
	if total != 12 || len(ds) != 12 || ds[0].Seq != got[11].payload.Data.Seq || ds[11].Seq != got[0].payload.Data.Seq {
		t.Fatalf("delivery log (%d): %+v", total, ds)
	}
	for _, d := range ds {
		if d.Status != "DELIVERED" || d.Attempt != 1 || d.ResponseCode == nil || *d.ResponseCode != 200 || d.DurationMs == nil || d.NextAttemptAt != nil {
			t.Fatalf("delivery %+v", d)
		}
	}
	if hook2.LastSeq < got[11].payload.Data.Seq {
		t.Fatalf("cursor %d, want at least %d", hook2.LastSeq, got[11].payload.Data.Seq)
	}

	// Only its managers may send one again: a member is refused, a stranger
	// learns nothing, and neither reaches the receiver.
	redeliver := `mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id seq attempt status responseCode } }`
	wantCode(t, e.gql(e.token("bob"), redeliver, map[string]any{"id": ds[5].ID}), "FORBIDDEN")
	wantCode(t, e.gql(e.token("mallory"), redeliver, map[string]any{"id": ds[5].ID}), "NOT_FOUND")
	if n := len(rc.requests()); n != 12 {
		t.Fatalf("refused redeliveries reached the receiver: %d requests", n)
	}

	// Redelivered: the same webhook-id, a second attempt on record.
	var redone deliveryJSON
	mustOK(t, e.gql(alice, `mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id seq attempt status responseCode } }`,
		map[string]any{"id": ds[5].ID})).field(t, "redeliverWebhook", &redone)
	again := rc.wait(13, 5*time.Second)[12]
	if redone.Attempt != 2 || redone.Status != "DELIVERED" || again.id != ds[5].ID || again.payload.Data.Seq != ds[5].Seq || again.verified != nil {
		t.Fatalf("redelivered %+v as %q seq %d (%v)", redone, again.id, again.payload.Data.Seq, again.verified)
	}
}

// TestWebhookRetriesInOrderThenDeactivates: a failing endpoint gets the same
// event again with backoff (injected clock) and nothing after it meanwhile;
// after 24 hours of failures the webhook is turned off, on record; turned on
// again it resumes with that event.
func TestWebhookRetriesInOrderThenDeactivates(t *testing.T) {
	e := webhookEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	rc := newReceiver(t)
	var mu sync.Mutex
	failing := true
	rc.status = func(int, received) int {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	}
	e.createWebhook(alice, ws, rc, "WORKSPACE_UPDATED")
	e.renames(alice, ws, 0, 3)
	first := rc.wait(1, 5*time.Second)[0].payload.Data.Seq
	time.Sleep(300 * time.Millisecond)
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("%d attempts before the backoff passed, want 1", n)
	}
	_, ds, _ := e.deliveries(alice, ws)
	if len(ds) != 1 || ds[0].Status != "PENDING" || ds[0].Attempt != 1 || *ds[0].ResponseCode != 503 || ds[0].NextAttemptAt == nil {
		t.Fatalf("after a failure: %+v", ds)
	}
	// Retried after 5 s, 30 s, ... always the first event (order holds).
	for i, step := range []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute} {
		e.clock.Advance(step)
		got := rc.wait(2+i, 5*time.Second)
		if g := got[len(got)-1]; g.payload.Data.Seq != first || g.id != got[0].id {
			t.Fatalf("attempt %d: seq %d id %s, want the first event again", 2+i, g.payload.Data.Seq, g.id)
		}
	}
	// A day of failures.
	for range 40 {
		e.clock.Advance(time.Hour)
		time.Sleep(60 * time.Millisecond)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		hook, ds, _ := e.deliveries(e.token("alice"), ws)
		if !hook.Active {
			if ds[0].Status != "FAILED" || ds[0].Seq != first || ds[0].NextAttemptAt != nil {
				t.Fatalf("after deactivation: %+v", ds[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook still active after 40 h of failures: %+v", ds)
		}
		e.clock.Advance(time.Hour)
		time.Sleep(100 * time.Millisecond)
	}
	alice = e.token("alice") // the clock moved past the first token's expiry
	var entry struct {
		AuditLog struct {
			Edges []struct {
				Node struct {
					Action string
					Actor  struct{ Kind string }
				}
			}
		}
	}
	mustOK(t, e.gql(alice, `query($ws: ID!) { workspace(id: $ws) { auditLog(first: 1, filter: {action: WEBHOOK_DEACTIVATED}) { edges { node { action actor { kind } } } } } }`,
		map[string]any{"ws": ws})).field(t, "workspace", &entry)
	if len(entry.AuditLog.Edges) != 1 || entry.AuditLog.Edges[0].Node.Actor.Kind != "SYSTEM" {
		t.Fatalf("deactivation on record: %+v", entry)
	}
	attempts := len(rc.requests())
	if attempts < 8 || attempts > 30 {
		t.Fatalf("%d attempts in 24 h: the backoff schedule is off", attempts)
	}

	// Fixed and turned on again: the failed event first, then the rest, in order.
	mu.Lock()
	failing = false
	mu.Unlock()
	hookID, _, _ := e.deliveries(alice, ws)
	mustOK(t, e.gql(alice, updateWebhook, map[string]any{"in": map[string]any{"id": hookID.ID, "active": true}}))
	got := rc.wait(attempts+3, 5*time.Second)[attempts:]
	for i, g := range got {
		if g.payload.Data.Seq != first+i {
			t.Fatalf("after re-activation, delivery %d has seq %d, want %d", i, g.payload.Data.Seq, first+i)
		}
	}
}

// TestWebhookResumesOnAnotherInstance: the delivering instance stops dead
// mid-stream; another takes the lease when it runs out and goes on from the
// cursor: nothing skipped, in order, and what is sent twice has the same
// webhook-id.
func TestWebhookResumesOnAnotherInstance(t *testing.T) {
	e := webhookEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	rc := newReceiver(t)
	rc.delay = 5 * time.Millisecond
	hook := e.createWebhook(alice, ws, rc, "WORKSPACE_UPDATED")
	// Paused while the events are written, then resumed: a backlog.
	mustOK(t, e.gql(alice, updateWebhook, map[string]any{"in": map[string]any{"id": hook.ID, "active": false}}))
	e.renames(alice, ws, 0, 150)
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("a paused webhook got %d deliveries", n)
	}
	mustOK(t, e.gql(alice, updateWebhook, map[string]any{"in": map[string]any{"id": hook.ID, "active": true}}))
	rc.wait(40, 10*time.Second)
	// The first instance (the only deliverer so far) stops: no lease given
	// back, no cursor written.
	e.first.stop()
	stoppedAt := len(rc.requests())
	e.clock.Advance(2 * time.Second) // its lease runs out
	e.instance()
	distinct := func() int {
		seen := map[int]bool{}
		for _, g := range rc.requests() {
			seen[g.payload.Data.Seq] = true
		}
		return len(seen)
	}
	for deadline := time.Now().Add(30 * time.Second); distinct() < 150 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	got := rc.requests()
	seen := map[int]string{}
	prev := hook.LastSeq + 1 // its own pause's entry is not among its events
	for i, g := range got {
		seq := g.payload.Data.Seq
		if id, dup := seen[seq]; dup {
			if id != g.id {
				t.Fatalf("seq %d sent again with another webhook-id: %s, %s", seq, id, g.id)
			}
		} else if seq != prev+1 {
			t.Fatalf("delivery %d: seq %d after %d (skipped or out of order)", i, seq, prev)
		}
		if seq > prev {
			prev = seq
		}
		seen[seq] = g.id
	}
	if len(seen) != 150 {
		t.Fatalf("%d distinct events delivered, want 150", len(seen))
	}
	t.Logf("stopped after %d deliveries; %d sent in all (%d again)", stoppedAt, len(got), len(got)-150)
}

// TestWebhookAccessAndAddresses: only OWNER and ADMIN (tokens:
// WORKSPACES_ADMIN) manage webhooks; a URL must be https, without a password,
// and not a private address.
func TestWebhookAccessAndAddresses(t *testing.T) {
	e := newEnv(t) // private targets not allowed
	alice, carol, mallory := e.token("alice"), e.token("carol"), e.token("mallory")
	ws := e.createWorkspace(alice, "acme")
	e.addMember(alice, ws, "carol", "MEMBER")
	auditor, _ := e.apiToken(alice, map[string]any{"name": "audit", "scopes": []string{"AUDIT_READ"}})
	in := func(url string) map[string]any {
		return map[string]any{"in": map[string]any{"workspaceId": ws, "name": "h", "url": url, "events": []string{"CREDENTIAL_USED"}}}
	}
	wantCode(t, e.gql(carol, createWebhook, in("https://hooks.example.com/x")), "FORBIDDEN")
	wantCode(t, e.gql(mallory, createWebhook, in("https://hooks.example.com/x")), "NOT_FOUND")
	wantCode(t, e.gql(auditor, createWebhook, in("https://hooks.example.com/x")), "FORBIDDEN")
	for _, bad := range []string{"http://hooks.example.com/x", "https://user:pw@hooks.example.com/x", "https://127.0.0.1/x",
		"https://[::1]/x", "https://169.254.169.254/latest", "https://10.0.0.1/", "ftp://hooks.example.com", "hooks.example.com/x", "https://hooks.example.com/#frag"} {
		r := e.gql(alice, createWebhook, in(bad))
		wantCode(t, r, "BAD_USER_INPUT")
		if len(r.Errors) == 0 || r.Errors[0].Extensions["field"] != "url" {
			t.Errorf("%s: %+v", bad, r.Errors)
		}
	}
	r := e.gql(alice, createWebhook, map[string]any{"in": map[string]any{"workspaceId": ws, "name": "", "url": "https://hooks.example.com/x", "events": []string{}}})
	if len(r.Errors) != 2 {
		t.Fatalf("every input error at once: %+v", r.Errors)
	}
	mustOK(t, e.gql(alice, createWebhook, in("https://hooks.example.com/x")))
	var view struct {
		Webhooks  []webhookJSON
		ViewerCan struct{ ManageWebhooks bool }
	}
	r = e.gql(carol, `query($ws: ID!) { workspace(id: $ws) { webhooks { id } viewerCan { manageWebhooks } } }`, map[string]any{"ws": ws})
	if len(r.Errors) != 1 || r.code() != "FORBIDDEN" {
		t.Fatalf("member reading webhooks: %+v", r.Errors)
	}
	r.field(t, "workspace", &view)
	if view.Webhooks != nil || view.ViewerCan.ManageWebhooks {
		t.Fatalf("member sees %+v", view)
	}
	mustOK(t, e.gql(alice, `query($ws: ID!) { workspace(id: $ws) { webhooks { id } viewerCan { manageWebhooks } } }`, map[string]any{"ws": ws})).field(t, "workspace", &view)
	if len(view.Webhooks) != 1 || !view.ViewerCan.ManageWebhooks {
		t.Fatalf("owner sees %+v", view)
	}
	wantCode(t, e.gql(carol, updateWebhook, map[string]any{"in": map[string]any{"id": view.Webhooks[0].ID, "url": "https://carol.example.net/"}}), "FORBIDDEN")
	wantCode(t, e.gql(auditor, updateWebhook, map[string]any{"in": map[string]any{"id": view.Webhooks[0].ID, "url": "https://audit.example.net/"}}), "FORBIDDEN")
	wantCode(t, e.gql(mallory, updateWebhook, map[string]any{"in": map[string]any{"id": view.Webhooks[0].ID, "active": false}}), "NOT_FOUND")
	wantCode(t, e.gql(carol, `mutation($id: ID!) { deleteWebhook(id: $id) { deleted } }`, map[string]any{"id": view.Webhooks[0].ID}), "FORBIDDEN")
	wantCode(t, e.gql(mallory, `mutation($id: ID!) { deleteWebhook(id: $id) { deleted } }`, map[string]any{"id": view.Webhooks[0].ID}), "NOT_FOUND")
	mustOK(t, e.gql(alice, `mutation($id: ID!) { deleteWebhook(id: $id) { deleted } }`, map[string]any{"id": view.Webhooks[0].ID}))
}

// TestWebhookDeliveryRefusesPrivateAddresses: a name that resolves to a
// loopback address passes at creation (it is a name) and is refused when a
// delivery connects: nothing reaches the listener, the delivery waits.
func TestWebhookDeliveryRefusesPrivateAddresses(t *testing.T) {
	e := newEnvWith(t, func(e *env) { e.webhooksEvery = 20 * time.Millisecond }) // private targets not allowed
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	rc := newReceiver(t)
	port := rc.srv.Listener.Addr().(*net.TCPAddr).Port
	mustOK(t, e.gql(alice, createWebhook, map[string]any{"in": map[string]any{
		"workspaceId": ws, "name": "inside", "url": fmt.Sprintf("https://localhost:%d/x?token=receiver-token-7781", port), "events": []string{"WORKSPACE_UPDATED"}}}))
	e.renames(alice, ws, 0, 1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, ds, _ := e.deliveries(alice, ws)
		if len(ds) == 1 && ds[0].Attempt >= 1 {
			if ds[0].Status != "PENDING" || ds[0].ResponseCode != nil || ds[0].NextAttemptAt == nil {
				t.Fatalf("a refused delivery: %+v", ds[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no attempt on record: %+v", ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("the loopback listener got %d requests", n)
	}
	// The failure is logged, without the URL's query (the receiver's own token).
	logs := e.logs.String()
	if !strings.Contains(logs, "webhook delivery failed") || strings.Contains(logs, "receiver-token-7781") {
		t.Fatalf("the log of a failed delivery: %v", strings.Contains(logs, "receiver-token-7781"))
	}
}

// TestWebhookSecretSurvivesKeyRotation: the signing secret is sealed under the
// workspace's data key; after rotateWorkspaceKey (the old key deleted)
// deliveries are still signed with the same secret.
func TestWebhookSecretSurvivesKeyRotation(t *testing.T) {
	e := webhookEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	rc := newReceiver(t)
	hook := e.createWebhook(alice, ws, rc, "WORKSPACE_UPDATED", "WORKSPACE_KEY_ROTATED")
	// Paused, so that its deliverer reads the secret after the rotation.
	mustOK(t, e.gql(alice, updateWebhook, map[string]any{"in": map[string]any{"id": hook.ID, "active": false}}))
	time.Sleep(100 * time.Millisecond)
	mustOK(t, e.gql(alice, `mutation($ws: ID!) { rotateWorkspaceKey(workspaceId: $ws) { keyRotatedAt } }`, map[string]any{"ws": ws}))
	e.renames(alice, ws, 0, 1)
	mustOK(t, e.gql(alice, updateWebhook, map[string]any{"in": map[string]any{"id": hook.ID, "active": true}}))
	got := rc.wait(2, 10*time.Second)
	for _, g := range got {
		if g.verified != nil {
			t.Fatalf("%s after the rotation: %v", g.payload.Type, g.verified)
		}
	}
	if got[0].payload.Type != "WORKSPACE_KEY_ROTATED" || got[1].payload.Type != "WORKSPACE_UPDATED" {
		t.Fatalf("got %s, %s", got[0].payload.Type, got[1].payload.Type)
	}
}
