package app_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// metricValue returns the value of the sample whose name and labels are exactly line's.
func metricValue(t *testing.T, body, series string) float64 {
	t.Helper()
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, series+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(l, series)), 64)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			return v
		}
	}
	t.Fatalf("no sample %s", series)
	return 0
}

// GET /metrics needs no authentication, speaks the Prometheus text format, and
// no label holds an id, a secret, a token or a string the client chose.
func TestMetrics(t *testing.T) {
	e := newEnvWith(t, func(e *env) { e.rateLimit = 2 })
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "Workspace Zeta")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	bot, botID := e.apiToken(alice, map[string]any{"name": "bot", "scopes": allScopes()})
	mustOK(t, e.gql(alice, `query MySecretOperationName($id: ID!) { credential(id: $id) { id } }`, map[string]any{"id": cred}))
	wantCode(t, e.gql(alice, `mutation($id: ID!) { deleteCredential(id: $id) { id } }`, map[string]any{"id": "01930000-0000-7000-8000-000000000000"}), "NOT_FOUND")
	mustOK(t, e.gql(bot, useCredential, map[string]any{"id": cred}))
	e.forget(secrets[0])
	e.gql(bot, useCredential, map[string]any{"id": cred})
	if r := e.gql(bot, useCredential, map[string]any{"id": cred}); r.Status != http.StatusTooManyRequests {
		t.Fatalf("third token request: HTTP %d", r.Status)
	}

	r := get(t, e.srv.URL+"/metrics")
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: HTTP %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	body := r.Body
	checks := map[string]float64{
		`credkeep_graphql_operations_total{operation="mutation createCredential",outcome="ok"}`:        1,
		`credkeep_graphql_operations_total{operation="query credential",outcome="ok"}`:                 1,
		`credkeep_graphql_operations_total{operation="mutation deleteCredential",outcome="NOT_FOUND"}`: 1,
		`credkeep_graphql_operations_total{operation="mutation useCredential",outcome="ok"}`:           2,
		`credkeep_rate_limited_total`:                               1,
		`credkeep_http_requests_total{code="429",route="/graphql"}`: 1,
	}
	for series, want := range checks {
		if got := metricValue(t, body, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if n := metricValue(t, body, "credkeep_audit_append_duration_seconds_count"); n < 5 {
		t.Errorf("audit appends observed: %v", n)
	}
	if metricValue(t, body, "credkeep_audit_append_failures_total") != 0 {
		t.Errorf("audit failures counted without a failure")
	}
	if metricValue(t, body, `credkeep_cache_requests_total{cache="credential",result="hit"}`)+
		metricValue(t, body, `credkeep_cache_requests_total{cache="credential",result="miss"}`) < 3 {
		t.Errorf("credential cache look-ups not counted")
	}
	for _, leak := range []string{cred, ws, "alice", botID, bot, "MySecretOperationName", secrets[0], "Zeta", "Mail"} {
		if strings.Contains(body, leak) {
			t.Errorf("/metrics holds %q", leak)
		}
	}
	// Every label value is one of a bounded vocabulary: letters, digits, spaces, '/', '_', '.', '+', '-'.
	for _, m := range regexp.MustCompile(`="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		if !regexp.MustCompile(`^[A-Za-z0-9 /_.+\-:]*$`).MatchString(m[1]) {
			t.Errorf("label value %q", m[1])
		}
	}
}
