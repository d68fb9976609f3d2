package app_test

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// sink is a TCP listener that must receive nothing: it records every byte sent to it.
type sink struct {
	ln   net.Listener
	mu   sync.Mutex
	got  []byte
	hits int
}

func startSink(t *testing.T, network, addr string) *sink {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	s := &sink{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.hits++
			s.mu.Unlock()
			go func() {
				defer c.Close()
				// Speak first like an SMTP server, so a client would go on to AUTH.
				_, _ = io.WriteString(c, "220 sink ESMTP\r\n")
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				b, _ := io.ReadAll(c)
				s.mu.Lock()
				s.got = append(s.got, b...)
				s.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *sink) port() string { _, p, _ := net.SplitHostPort(s.ln.Addr().String()); return p }

func (s *sink) mustBeUntouched(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hits != 0 || len(s.got) != 0 {
		t.Errorf("%s received %d connections and %q", s.ln.Addr(), s.hits, s.got)
	}
}

// A person who may edit a credential but never saw its secrets cannot send
// them elsewhere: changing a destination field needs every set secret again.
// Private targets are allowed here, so that the rule, not the address policy,
// is what keeps the listeners silent.
func TestDestinationChangeNeedsTheSecrets(t *testing.T) {
	e := newEnvWith(t, func(e *env) { e.allowPrivate = true })
	v4 := startSink(t, "tcp", "127.0.0.1:0")
	v6 := startSink(t, "tcp", "[::1]:0")
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "dest")
	e.addMember(alice, ws, "bob", "ADMIN")
	e.addMember(alice, ws, "carol", "MEMBER")
	bob, carol := e.token("bob"), e.token("carol")
	openai := e.createCredential(alice, ws, "openai", "AI", field{"key": "apiKey", "value": secrets[1]})
	smtp := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	for _, c := range []string{openai, smtp} {
		mustOK(t, e.gql(alice, shareCredential, map[string]any{"in": map[string]any{"credentialId": c, "granteeKind": "USER", "userId": "carol", "level": "MANAGE"}}))
	}
	cases := []struct {
		name, actor, cred, secretKey string
		fields                       []field
	}{
		{"admin repoints openai to 127.0.0.1", bob, openai, "apiKey", []field{{"key": "baseUrl", "value": "http://127.0.0.1:" + v4.port()}}},
		{"manage grantee repoints openai to [::1]", carol, openai, "apiKey", []field{{"key": "baseUrl", "value": "http://[::1]:" + v6.port()}}},
		{"admin repoints smtp host and port", bob, smtp, "password", []field{{"key": "host", "value": "127.0.0.1"}, {"key": "port", "value": v4.port()}, {"key": "security", "value": "none"}}},
		{"manage grantee changes smtp port only", carol, smtp, "password", []field{{"key": "port", "value": v4.port()}}},
		{"manage grantee changes smtp security only", carol, smtp, "password", []field{{"key": "security", "value": "none"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.gql(c.actor, updateCredential, map[string]any{"in": map[string]any{"id": c.cred, "fields": c.fields}})
			wantCode(t, r, "BAD_USER_INPUT")
			if got := r.Errors[0].Extensions["field"]; got != "fields."+c.secretKey {
				t.Errorf("field = %v, want fields.%s", got, c.secretKey)
			}
			if got := r.Errors[0].Extensions["reason"]; got != "SECRET_REQUIRED_FOR_DESTINATION_CHANGE" {
				t.Errorf("reason = %v", got)
			}
			// Nothing changed: same version, and a test goes where it went before.
			var got struct{ Credential credentialJSON }
			mustOK(t, e.gql(alice, credentialQuery, map[string]any{"id": c.cred})).field(t, "credential", &got.Credential)
			if got.Credential.Version != 1 {
				t.Errorf("version = %d after a refused change", got.Credential.Version)
			}
			e.gql(c.actor, testCredential, map[string]any{"id": c.cred})
		})
	}
	time.Sleep(100 * time.Millisecond) // let any connection that did happen be read
	v4.mustBeUntouched(t)
	v6.mustBeUntouched(t)

	// With the secret entered again the change is allowed; the entry says where from and to.
	mustOK(t, e.gql(bob, updateCredential, map[string]any{"in": map[string]any{"id": smtp, "fields": []field{
		{"key": "host", "value": "mail.example.org"}, {"key": "password", "value": "a-new-password-typed-by-bob"}}}}))
	latest := e.auditLog(alice, ws, map[string]any{"action": "CREDENTIAL_UPDATED", "credentialId": smtp})
	if len(latest) != 1 {
		t.Fatalf("%d update entries, want 1", len(latest))
	}
	if latest[0].detail("from.host") != "smtp.example.com" || latest[0].detail("to.host") != "mail.example.org" {
		t.Errorf("destination details: %+v", latest[0].Details)
	}
	// Fields that are not destinations change without the secret.
	mustOK(t, e.gql(carol, updateCredential, map[string]any{"in": map[string]any{"id": smtp, "fields": []field{{"key": "username", "value": "other"}}}}))
	mustOK(t, e.gql(carol, updateCredential, map[string]any{"in": map[string]any{"id": openai, "fields": []field{{"key": "organizationId", "value": "org-1"}}}}))
}

// A no-op update makes no new version and no entry.
func TestNoOpUpdateChangesNothing(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "noop")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	for _, in := range []map[string]any{
		{"id": cred, "name": "Mail"},
		{"id": cred, "fields": smtpFields(secrets[0])},
		{"id": cred, "fields": []field{{"key": "port", "value": "587"}}},
		{"id": cred, "name": "Mail", "fields": []field{{"key": "host", "value": "smtp.example.com"}}},
	} {
		in["id"] = cred
		var c credentialJSON
		mustOK(t, e.gql(alice, updateCredential, map[string]any{"in": in})).field(t, "updateCredential", &c)
		if c.Version != 1 {
			t.Errorf("version = %d after %v", c.Version, in)
		}
	}
	if n := len(e.auditLog(alice, ws, map[string]any{"action": "CREDENTIAL_UPDATED"})); n != 0 {
		t.Errorf("%d CREDENTIAL_UPDATED entries for no-op updates", n)
	}
}

// Token scopes apply to every field of a response, mutation payloads included.
func TestScopesApplyToPayloads(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "payloads")
	cred := e.createCredential(alice, ws, "smtp", "Mail", smtpFields(secrets[0])...)
	writeOnly, _ := e.apiToken(alice, map[string]any{"name": "w", "scopes": []string{"CREDENTIALS_WRITE"}})
	useOnly, _ := e.apiToken(alice, map[string]any{"name": "u", "scopes": []string{"CREDENTIALS_USE"}})
	gated := `fields { key hint } grants { id } usages { consumerId }`
	checks := []struct {
		name, tok, query string
		vars             map[string]any
	}{
		{"updateCredential payload", writeOnly, `mutation($in: UpdateCredentialInput!) { updateCredential(input: $in) { id ` + gated + ` } }`,
			map[string]any{"in": map[string]any{"id": cred, "name": "Renamed"}}},
		{"shareCredential payload", writeOnly, `mutation($in: ShareCredentialInput!) { shareCredential(input: $in) { id ` + gated + ` } }`,
			map[string]any{"in": map[string]any{"credentialId": cred, "granteeKind": "WORKSPACE", "level": "USE"}}},
		{"useCredential credential", useOnly, `mutation($id: ID!) { useCredential(id: $id) { fields { key } credential { id ` + gated + ` } } }`,
			map[string]any{"id": cred}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			r := e.gql(c.tok, c.query, c.vars)
			forbidden := map[string]bool{}
			for _, er := range r.Errors {
				if er.Extensions["code"] == "FORBIDDEN" && len(er.Path) > 0 {
					forbidden[er.Path[len(er.Path)-1].(string)] = true
				}
			}
			for _, f := range []string{"fields", "grants", "usages"} {
				if !forbidden[f] {
					t.Errorf("%s: no FORBIDDEN at %s: %s", c.name, f, r.Body)
				}
			}
			if strings.Contains(r.Body, `"hint"`) || strings.Contains(r.Body, `"consumerId"`) {
				t.Errorf("gated data in the response: %s", r.Body)
			}
		})
	}
}

// With private targets not allowed, no form of a loopback address reaches a
// listener through a connection test or an OAuth token call: zoned, mapped,
// NAT64, 6to4 and IPv4-compatible forms included.
func TestOutboundPolicyThroughTheAPI(t *testing.T) {
	e := newEnv(t) // private targets not allowed
	v4 := startSink(t, "tcp", "127.0.0.1:0")
	v6 := startSink(t, "tcp", "[::1]:0")
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "ssrf")
	targets := []string{
		"http://127.0.0.1:" + v4.port(),
		"http://localhost:" + v4.port(),
		"http://[::1]:" + v6.port(),
		"http://[::1%25lo]:" + v6.port(),
		"http://[::1%251]:" + v6.port(),
		"http://[::ffff:127.0.0.1]:" + v4.port(),
		"http://[::127.0.0.1]:" + v4.port(),
		"http://[64:ff9b::127.0.0.1]:" + v4.port(),
		"http://[2002:7f00:1::1]:" + v4.port(),
		"http://[fe80::1%25lo]:" + v6.port(),
	}
	for i, target := range targets {
		t.Run(target, func(t *testing.T) {
			api := e.createCredential(alice, ws, "openai", fmt.Sprintf("AI %d", i), field{"key": "apiKey", "value": secrets[1]}, field{"key": "baseUrl", "value": target})
			r := e.testCred(alice, api)
			if r.OK || !strings.Contains(r.Message, "not allowed") {
				t.Errorf("openai test to %s: %+v", target, r)
			}
			oauth := e.createCredential(alice, ws, "oauth2", fmt.Sprintf("OAuth %d", i),
				field{"key": "tokenUrl", "value": target + "/token"}, field{"key": "clientId", "value": "c"},
				field{"key": "clientSecret", "value": "client-secret-never-sent"}, field{"key": "grantType", "value": "client_credentials"})
			r = e.testCred(alice, oauth)
			if r.OK || !strings.Contains(r.Message, "not allowed") {
				t.Errorf("token call to %s: %+v", target, r)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	v4.mustBeUntouched(t)
	v6.mustBeUntouched(t)
}
