package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	graphql "github.com/hasura/go-graphql-client"
)

const workspaceEvents = `subscription($ws: ID!, $after: Int) { workspaceEvents(workspaceId: $ws, afterSeq: $after) { seq action targetName actor { kind } } }`

type eventJSON struct {
	Seq        int    `json:"seq"`
	Action     string `json:"action"`
	TargetName string `json:"targetName"`
}

// wsSubscriber is a subscription through the hasura Go client over
// graphql-transport-ws, authenticated by its connection_init payload.
type wsSubscriber struct {
	t      testing.TB
	client *graphql.SubscriptionClient
	events chan eventJSON
	errs   chan error
	done   chan struct{}
}

func (e *env) subscribeWS(srvURL, token, ws string, after *int) *wsSubscriber {
	e.t.Helper()
	s := &wsSubscriber{t: e.t, events: make(chan eventJSON, 1000), errs: make(chan error, 10), done: make(chan struct{})}
	url := "ws" + strings.TrimPrefix(srvURL, "http") + "/graphql"
	s.client = graphql.NewSubscriptionClient(url).
		WithProtocol(graphql.GraphQLWS).
		WithConnectionParams(map[string]any{"Authorization": "Bearer " + token}).
		WithRetryTimeout(0).
		WithSyncMode(true). // messages in the order they came

		WithExitWhenNoSubscription(false).
		WithLog(func(...any) {}).
		OnError(func(_ *graphql.SubscriptionClient, err error) error {
			s.errs <- err
			return err
		})
	vars := map[string]any{"ws": ws}
	if after != nil {
		vars["after"] = *after
	}
	_, err := s.client.Exec(workspaceEvents, vars, func(msg []byte, err error) error {
		if err != nil {
			s.errs <- err
			return nil
		}
		var data struct {
			WorkspaceEvents eventJSON `json:"workspaceEvents"`
		}
		if err := json.Unmarshal(msg, &data); err != nil {
			s.errs <- err
			return nil
		}
		s.events <- data.WorkspaceEvents
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		_ = s.client.Run()
	}()
	e.t.Cleanup(s.close)
	return s
}

func (s *wsSubscriber) close() {
	_ = s.client.Close()
	<-s.done
}

// next waits for n events.
func (s *wsSubscriber) next(n int, within time.Duration) []eventJSON {
	s.t.Helper()
	var out []eventJSON
	deadline := time.After(within)
	for len(out) < n {
		select {
		case ev := <-s.events:
			out = append(out, ev)
		case err := <-s.errs:
			s.t.Fatalf("after %d events: %v", len(out), err)
		case <-deadline:
			s.t.Fatalf("got %d events within %v, want %d", len(out), within, n)
		}
	}
	return out
}

// quiet fails if an event arrives within d.
func (s *wsSubscriber) quiet(d time.Duration) {
	s.t.Helper()
	select {
	case ev := <-s.events:
		s.t.Fatalf("unexpected event %+v", ev)
	case <-time.After(d):
	}
}

func (e *env) lastSeq(token, ws string) int {
	e.t.Helper()
	var page struct {
		AuditLog struct {
			Edges []struct{ Node struct{ Seq int } }
		}
	}
	mustOK(e.t, e.gql(token, `query($ws: ID!) { workspace(id: $ws) { auditLog(first: 1) { edges { node { seq } } } } }`,
		map[string]any{"ws": ws})).field(e.t, "workspace", &page)
	return page.AuditLog.Edges[0].Node.Seq
}

func (e *env) renames(token, ws string, from, n int) {
	e.t.Helper()
	for i := from; i < from+n; i++ {
		mustOK(e.t, e.gql(token, renameWorkspace, map[string]any{"id": ws, "name": fmt.Sprintf("acme %d", i)}))
	}
}

func wantSeqs(t testing.TB, got []eventJSON, from int) {
	t.Helper()
	for i, ev := range got {
		if ev.Seq != from+i {
			t.Fatalf("event %d has seq %d, want %d (in order, none lost)", i, ev.Seq, from+i)
		}
	}
}

// TestEventsResumeLosesNothing: a subscriber sees entries as they are
// written; disconnected while 50 more are written, it resumes with afterSeq
// and gets exactly those 50, in order, then new ones.
func TestEventsResumeLosesNothing(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	// From the end as it is now: a subscription that is slow to start still
	// gets every entry written after (a sleep here was a flaky test).
	start := e.lastSeq(alice, ws)
	sub := e.subscribeWS(e.srv.URL, alice, ws, &start)
	e.renames(alice, ws, 0, 10)
	got := sub.next(10, 5*time.Second)
	wantSeqs(t, got, start+1)
	if got[0].Action != "WORKSPACE_UPDATED" || got[9].TargetName != "acme 9" {
		t.Fatalf("events: %+v", got)
	}
	sub.quiet(200 * time.Millisecond)
	sub.close()

	last := got[len(got)-1].Seq
	e.renames(alice, ws, 10, 50)
	resumed := e.subscribeWS(e.srv.URL, alice, ws, &last)
	back := resumed.next(50, 10*time.Second)
	wantSeqs(t, back, last+1)
	if back[49].TargetName != "acme 59" {
		t.Fatalf("last resumed event: %+v", back[49])
	}
	resumed.quiet(300 * time.Millisecond) // exactly those 50
	e.renames(alice, ws, 60, 1)
	wantSeqs(t, resumed.next(1, 2*time.Second), last+51)

	// From the first entry.
	zero := 0
	all := e.subscribeWS(e.srv.URL, alice, ws, &zero).next(last+51, 10*time.Second)
	wantSeqs(t, all, 1)
	if all[0].Action != "WORKSPACE_CREATED" {
		t.Fatalf("first entry: %+v", all[0])
	}
}

// TestEventsAcrossInstances: an entry written on one instance reaches a
// subscriber on another within a second.
func TestEventsAcrossInstances(t *testing.T) {
	e := newEnv(t)
	other := e.instance()
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	from := e.lastSeq(alice, ws)
	sub := e.subscribeWS(other.srv.URL, alice, ws, &from)
	for i := range 5 {
		start := time.Now()
		mustOK(t, e.gql(alice, renameWorkspace, map[string]any{"id": ws, "name": fmt.Sprint("n", i)}))
		ev := sub.next(1, 2*time.Second)[0]
		if took := time.Since(start); took > time.Second {
			t.Fatalf("entry %d arrived on the other instance after %v, want within 1s", ev.Seq, took)
		}
		if ev.TargetName != fmt.Sprint("n", i) {
			t.Fatalf("event %+v", ev)
		}
	}
}

// TestEventsEndWhenAccessEnds: a revoked token and a removed member lose
// their streams within a second; expired sessions too.
func TestEventsEndWhenAccessEnds(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.token("alice"), e.token("bob")
	ws := e.createWorkspace(alice, "acme")
	e.addMember(alice, ws, "bob", "ADMIN")
	secret, tokID := e.apiToken(alice, map[string]any{"name": "events", "scopes": []string{"AUDIT_READ"}, "workspaceId": ws})

	from := e.lastSeq(alice, ws)
	byToken := e.subscribeWS(e.srv.URL, secret, ws, &from)
	byBob := e.subscribeWS(e.srv.URL, bob, ws, &from)
	e.renames(alice, ws, 0, 1)
	byToken.next(1, 2*time.Second)
	byBob.next(1, 2*time.Second)

	start := time.Now()
	mustOK(t, e.gql(alice, `mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, map[string]any{"id": tokID}))
	mustOK(t, e.gql(alice, removeMember, map[string]any{"ws": ws, "user": "bob"}))
	// What each may still get: entries written while it had access (the
	// change's own entry is written just before the change).
	allowed := map[string]map[string]bool{"revoked token": {"TOKEN_REVOKED": true},
		"removed member": {"TOKEN_REVOKED": true, "MEMBER_REMOVED": true}}
	for name, s := range map[string]*wsSubscriber{"revoked token": byToken, "removed member": byBob} {
		select {
		case err := <-s.errs:
			if took := time.Since(start); took > time.Second {
				t.Errorf("%s: stream ended after %v, want within 1s", name, took)
			}
			if !strings.Contains(err.Error(), "UNAUTHENTICATED") && !strings.Contains(err.Error(), "NOT_FOUND") {
				t.Errorf("%s: ended with %v", name, err)
			}
		case <-time.After(1500 * time.Millisecond):
			t.Errorf("%s: stream still open after 1.5s", name)
		}
		for len(s.events) > 0 {
			if ev := <-s.events; !allowed[name][ev.Action] {
				t.Errorf("%s: got %+v after losing access", name, ev)
			}
		}
	}
	e.renames(alice, ws, 1, 1)
	byToken.quiet(200 * time.Millisecond)
	byBob.quiet(10 * time.Millisecond)
}

// TestEventsAccess: only OWNER, ADMIN and tokens with AUDIT_READ subscribe;
// a subscription must come as a stream; each caller holds a bounded number.
func TestEventsAccess(t *testing.T) {
	e := newEnvWith(t, func(e *env) { e.maxSubscriptions = 2 })
	alice, carol, mallory := e.token("alice"), e.token("carol"), e.token("mallory")
	ws := e.createWorkspace(alice, "acme")
	e.addMember(alice, ws, "carol", "MEMBER")
	useOnly, _ := e.apiToken(alice, map[string]any{"name": "use", "scopes": []string{"CREDENTIALS_USE"}})

	for name, c := range map[string]struct{ token, code string }{
		"member":                   {carol, "FORBIDDEN"},
		"stranger":                 {mallory, "NOT_FOUND"},
		"token without AUDIT_READ": {useOnly, "FORBIDDEN"},
		"anonymous":                {"", "UNAUTHENTICATED"},
	} {
		got := sseEvents(t, e.srv.URL, c.token, ws, 0, 1)
		if len(got.errors) == 0 || got.errors[0] != c.code {
			t.Errorf("%s: %+v, want %s", name, got, c.code)
		}
	}
	// Over plain POST: refused, not left hanging.
	wantCode(t, e.gql(alice, workspaceEvents, map[string]any{"ws": ws}), "BAD_USER_INPUT")

	// The limit: a third stream of the same caller is refused.
	e.subscribeWS(e.srv.URL, alice, ws, nil)
	e.subscribeWS(e.srv.URL, alice, ws, nil)
	time.Sleep(200 * time.Millisecond)
	third := sseEvents(t, e.srv.URL, alice, ws, 0, 1)
	if len(third.errors) == 0 || third.errors[0] != "RATE_LIMITED" {
		t.Fatalf("third stream: %+v", third)
	}
}

type sseResult struct {
	events []eventJSON
	errors []string // codes
}

// sseEvents reads a subscription over graphql-sse (distinct connections) until
// n events or an error arrive, directly over HTTP.
func sseEvents(t testing.TB, srvURL, token, ws string, after, n int) sseResult {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": workspaceEvents, "variables": map[string]any{"ws": ws, "after": after}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srvURL+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out sseResult
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && len(out.events) < n {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			if line == "event: complete" {
				break
			}
			continue
		}
		var msg struct {
			Data *struct {
				WorkspaceEvents eventJSON `json:"workspaceEvents"`
			} `json:"data"`
			Errors []gqlError `json:"errors"`
		}
		if err := json.Unmarshal([]byte(data), &msg); err != nil {
			t.Fatalf("SSE data %q: %v", data, err)
		}
		for _, e := range msg.Errors {
			code, _ := e.Extensions["code"].(string)
			out.errors = append(out.errors, code)
		}
		if len(msg.Errors) > 0 {
			break
		}
		if msg.Data != nil {
			out.events = append(out.events, msg.Data.WorkspaceEvents)
		}
	}
	return out
}

// TestEventsOverSSE: the same stream as Server-Sent Events, resumed.
func TestEventsOverSSE(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "acme")
	e.renames(alice, ws, 0, 20)
	got := sseEvents(t, e.srv.URL, alice, ws, 3, 18)
	if len(got.errors) > 0 || len(got.events) != 18 {
		t.Fatalf("%+v", got)
	}
	wantSeqs(t, got.events, 4)
	// Live: an entry written while the stream is open.
	var wg sync.WaitGroup
	wg.Add(1)
	var live sseResult
	last := e.lastSeq(alice, ws)
	go func() {
		defer wg.Done()
		live = sseEvents(t, e.srv.URL, alice, ws, last, 2)
	}()
	time.Sleep(200 * time.Millisecond)
	e.renames(alice, ws, 100, 2)
	wg.Wait()
	wantSeqs(t, live.events, last+1)
	if len(live.events) != 2 || live.events[1].TargetName != "acme 101" {
		t.Fatalf("live: %+v", live)
	}
}

// TestEventsWebSocketNeedsCredentials: a WebSocket with no credentials, in
// the init payload or the upgrade, is closed before connection_ack; a bad
// token in the payload too.
func TestEventsWebSocketNeedsCredentials(t *testing.T) {
	e := newEnv(t)
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/graphql"
	for name, payload := range map[string]string{"anonymous": `{}`, "bad token": `{"Authorization":"Bearer not-a-jwt"}`} {
		dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
		c, _, err := dialer.Dial(url, nil)
		if err != nil {
			t.Fatalf("%s: dial: %v", name, err)
		}
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"connection_init","payload":`+payload+`}`)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				break // closed: refused
			}
			if strings.Contains(string(msg), "connection_ack") {
				t.Fatalf("%s: acknowledged: %s", name, msg)
			}
		}
		_ = c.Close()
	}
}
