package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The event path (SPEC.md §12), in a workspace of its own: useCredential by
// token (each writes a CREDENTIAL_USED entry) alone, with 100 subscribers of
// the workspace's events over SSE, and with 10 webhooks subscribed to
// CREDENTIAL_USED (receivers in this process); then how fast one webhook
// works through a backlog.

const (
	eventCreds     = 200
	subscribers    = 100
	webhooksOnUse  = 10
	backlogToDrain = 5000
)

// receivers is an HTTP server that counts the deliveries of each path.
type receivers struct {
	srv   *http.Server
	base  string
	total atomic.Int64
}

func startReceivers() (*receivers, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receivers{base: "http://" + ln.Addr().String()}
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.total.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func eventScenarios(srv *server, d, warmup time.Duration, conns int, baseRPS float64) ([]Row, map[string]any, error) {
	d0, err := srv.call(`mutation { createWorkspace(input: {name: "events"}) { id } }`, nil, srv.jwt)
	if err != nil {
		return nil, nil, err
	}
	ws := d0["createWorkspace"].(map[string]any)["id"].(string)
	var creds []string
	for i := 0; i < eventCreds; i++ {
		c, err := srv.call(`mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"workspaceId": ws, "type": "custom", "name": fmt.Sprintf("key %03d", i),
			"fields": []map[string]any{{"key": "apiKey", "value": fmt.Sprintf("events-key-%03d", i)}}}}, srv.jwt)
		if err != nil {
			return nil, nil, err
		}
		creds = append(creds, c["createCredential"].(map[string]any)["id"].(string))
	}
	t, err := srv.call(`mutation($ws: ID!) { createApiToken(input: {name: "events", scopes: [CREDENTIALS_USE], workspaceId: $ws}) { secret } }`, map[string]any{"ws": ws}, srv.jwt)
	if err != nil {
		return nil, nil, err
	}
	token := t["createApiToken"].(map[string]any)["secret"].(string)
	use := func(i int) []byte {
		return gqlBody(`mutation($id: ID!) { useCredential(id: $id) { fields { key value } } }`, map[string]any{"id": creds[i%len(creds)]})
	}
	rc, err := startReceivers()
	if err != nil {
		return nil, nil, err
	}
	defer rc.srv.Close()
	// The backlog webhook: created now, paused until the end.
	h, err := srv.call(`mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { webhook { id } } }`, map[string]any{"in": map[string]any{
		"workspaceId": ws, "name": "backlog", "url": rc.base + "/backlog", "events": []string{"CREDENTIAL_USED"}}}, srv.jwt)
	if err != nil {
		return nil, nil, err
	}
	backlog := h["createWebhook"].(map[string]any)["webhook"].(map[string]any)["id"].(string)
	if err := setActive(srv, backlog, false); err != nil {
		return nil, nil, err
	}

	var lastUses float64 // successful uses of the last measure, warm-up included
	measure := func(name string) Row {
		fmt.Fprintf(os.Stderr, "%s ...\n", name)
		w := attack(name, srv.base+"/graphql", token, use, warmup, conns, 0)
		row := attack(name, srv.base+"/graphql", token, use, d, conns, srv.pid())
		row.Ratio = row.RPS / baseRPS
		lastUses = float64(w.Requests)*w.Success + float64(row.Requests)*row.Success
		return row
	}
	var rows []Row
	alone := measure("useCredential, events: none")
	rows = append(rows, alone)

	// 100 subscribers over SSE, each counting what it receives.
	ctx, cancel := context.WithCancel(context.Background())
	var got atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < subscribers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = subscribe(ctx, srv, ws, &got)
		}()
	}
	time.Sleep(time.Second)
	before := got.Load()
	subbed := measure(fmt.Sprintf("useCredential, %d subscribers", subscribers))
	rows = append(rows, subbed)
	// Every subscriber must get every entry written while it listened
	// (warm-up and measured load): wait until they have (they may lag behind
	// the writer), at most a minute; the share is what arrived.
	written := lastUses * float64(subscribers)
	loadEnd := time.Now()
	for float64(got.Load()-before) < written && time.Since(loadEnd) < time.Minute {
		time.Sleep(50 * time.Millisecond)
	}
	caughtUp := time.Since(loadEnd)
	receivedShare := float64(got.Load()-before) / written
	cancel()
	wg.Wait()

	// 10 webhooks on CREDENTIAL_USED.
	var hooks []string
	for i := 0; i < webhooksOnUse; i++ {
		h, err := srv.call(`mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { webhook { id } } }`, map[string]any{"in": map[string]any{
			"workspaceId": ws, "name": fmt.Sprintf("hook %d", i), "url": fmt.Sprintf("%s/hook/%d", rc.base, i), "events": []string{"CREDENTIAL_USED"}}}, srv.jwt)
		if err != nil {
			return nil, nil, err
		}
		hooks = append(hooks, h["createWebhook"].(map[string]any)["webhook"].(map[string]any)["id"].(string))
	}
	// Alternated with the same webhooks paused, twice: this machine's speed
	// drifts by more than the 10% being measured within a minute.
	pauseAll := func(on bool) error {
		for _, id := range hooks {
			if err := setActive(srv, id, on); err != nil {
				return err
			}
		}
		time.Sleep(time.Second) // their deliverers stop or start
		return nil
	}
	var hookedRPS, pausedRPS float64
	var deliveredDuring int64
	for round := 0; round < 2; round++ {
		start := rc.total.Load()
		hooked := measure(fmt.Sprintf("useCredential, %d webhooks", webhooksOnUse))
		deliveredDuring += rc.total.Load() - start
		hookedRPS += hooked.RPS / 2
		rows = append(rows, hooked)
		if err := pauseAll(false); err != nil {
			return nil, nil, err
		}
		paused := measure(fmt.Sprintf("useCredential, %d paused", webhooksOnUse))
		pausedRPS += paused.RPS / 2
		rows = append(rows, paused)
		if err := pauseAll(true); err != nil {
			return nil, nil, err
		}
	}
	for _, id := range hooks {
		if _, err := srv.call(`mutation($id: ID!) { deleteWebhook(id: $id) { deleted } }`, map[string]any{"id": id}, srv.jwt); err != nil {
			return nil, nil, err
		}
	}
	time.Sleep(2 * time.Second) // their deliverers stop

	// One webhook through a backlog of every use above.
	fmt.Fprintf(os.Stderr, "webhook backlog ...\n")
	n0 := rc.total.Load()
	t0 := time.Now()
	if err := setActive(srv, backlog, true); err != nil {
		return nil, nil, err
	}
	for rc.total.Load()-n0 < backlogToDrain && time.Since(t0) < 5*time.Minute {
		time.Sleep(10 * time.Millisecond)
	}
	drained := rc.total.Load() - n0
	perSecond := float64(drained) / time.Since(t0).Seconds()

	extra := map[string]any{
		"subscribers":                     subscribers,
		"subscribers_received_share":      receivedShare,
		"subscribers_caught_up_seconds":   caughtUp.Seconds(),
		"use_with_subscribers_vs_none":    subbed.RPS / alone.RPS,
		"webhooks":                        webhooksOnUse,
		"use_with_webhooks_vs_paused":     hookedRPS / pausedRPS,
		"deliveries_during_webhook_load":  deliveredDuring,
		"webhook_backlog_deliveries":      drained,
		"webhook_deliveries_per_second":   perSecond,
		"entries_per_second_subscribed":   subbed.RPS,
		"entries_per_second_unsubscribed": alone.RPS,
	}
	fmt.Printf("\nevents: %d subscribers received %.1f%% of the entries written while they listened (the last %.1fs after the load ended); useCredential with them %.3fx of without\n",
		subscribers, receivedShare*100, caughtUp.Seconds(), subbed.RPS/alone.RPS)
	fmt.Printf("events: useCredential with %d webhooks on CREDENTIAL_USED %.3fx of with them paused (two rounds each; %d deliveries meanwhile)\n",
		webhooksOnUse, hookedRPS/pausedRPS, deliveredDuring)
	fmt.Printf("events: one webhook delivered a backlog at %.0f deliveries/s (%d in %.1fs)\n", perSecond, drained, time.Since(t0).Seconds())
	return rows, extra, nil
}

func setActive(srv *server, id string, on bool) error {
	_, err := srv.call(`mutation($id: ID!, $on: Boolean!) { updateWebhook(input: {id: $id, active: $on}) { id } }`, map[string]any{"id": id, "on": on}, srv.jwt)
	return err
}

// subscribe follows the workspace's events over SSE until ctx ends, counting them.
func subscribe(ctx context.Context, srv *server, ws string, got *atomic.Int64) error {
	body := gqlBody(`subscription($ws: ID!) { workspaceEvents(workspaceId: $ws) { seq } }`, map[string]any{"ws": ws})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+srv.jwt)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "event: next") {
			got.Add(1)
		}
	}
	return sc.Err()
}
