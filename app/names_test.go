package app_test

import (
	"testing"
)

// Names are NFC, free of control, bidi and zero-width characters, and
// credential names are unique under NFKC case folding.
func TestNames(t *testing.T) {
	e := newEnv(t)
	alice := e.token("alice")
	ws := e.createWorkspace(alice, "names")
	hostile := map[string]string{
		"NUL":              "Prod\x00SMTP",
		"newline":          "Prod\nSMTP",
		"tab":              "Prod\tSMTP",
		"C1 control":       "Prod\u0085SMTP",
		"DEL":              "Prod\u007fSMTP",
		"RLO override":     "Prod\u202eSMTP",
		"LRE embedding":    "\u202aProd SMTP",
		"FSI isolate":      "Prod \u2068SMTP\u2069",
		"zero-width space": "Prod\u200bSMTP",
		"ZWJ":              "Prod\u200dSMTP",
		"word joiner":      "Prod\u2060SMTP",
		"BOM":              "\ufeffProd SMTP",
	}
	inputs := map[string]func(name string) response{
		"workspace": func(n string) response { return e.gql(alice, createWorkspace, map[string]any{"name": n}) },
		"rename workspace": func(n string) response {
			return e.gql(alice, renameWorkspace, map[string]any{"id": ws, "name": n})
		},
		"credential": func(n string) response {
			return e.gql(alice, createCredential, map[string]any{"in": map[string]any{"workspaceId": ws, "type": "custom", "name": n, "fields": []any{}}})
		},
		"token": func(n string) response {
			return e.gql(alice, createToken, map[string]any{"in": map[string]any{"name": n, "scopes": allScopes()}})
		},
	}
	for what, run := range inputs {
		for name, n := range hostile {
			t.Run(what+"/"+name, func(t *testing.T) {
				r := run(n)
				wantCode(t, r, "BAD_USER_INPUT")
				if r.Errors[0].Extensions["reason"] != "FORBIDDEN_CHARACTERS" || r.Errors[0].Extensions["field"] != "name" {
					t.Errorf("extensions = %v", r.Errors[0].Extensions)
				}
			})
		}
	}
	cred := e.createCredential(alice, ws, "smtp", "Prod SMTP", smtpFields(secrets[0])...)
	const attach = `mutation($c: ID!, $id: String!, $n: String) { attachCredential(credentialId: $c, consumer: {kind: BOT, id: $id, name: $n}) { consumerName } }`
	r := e.gql(alice, attach, map[string]any{"c": cred, "id": "bot\u202e1", "n": "ok"})
	wantCode(t, r, "BAD_USER_INPUT")
	if r.Errors[0].Extensions["field"] != "consumer.id" || r.Errors[0].Extensions["reason"] != "FORBIDDEN_CHARACTERS" {
		t.Errorf("consumer id: %v", r.Errors[0].Extensions)
	}
	wantCode(t, e.gql(alice, attach, map[string]any{"c": cred, "id": "bot-1", "n": "Bot\x00"}), "BAD_USER_INPUT")

	// Look-alikes clash with the name they imitate.
	for _, n := range []string{"Ｐｒｏｄ ＳＭＴＰ", "PROD SMTP", "prod smtp", " Prod SMTP ", "Prod\u00a0SMTP"} {
		wantCode(t, e.gql(alice, createCredential, map[string]any{"in": map[string]any{"workspaceId": ws, "type": "custom", "name": n, "fields": []any{}}}), "CONFLICT")
	}
	// NFC: a decomposed é is stored composed, and clashes with the composed one.
	var c credentialJSON
	mustOK(t, e.gql(alice, createCredential, map[string]any{"in": map[string]any{"workspaceId": ws, "type": "custom", "name": "Cafe\u0301", "fields": []any{}}})).field(t, "createCredential", &c)
	if c.Name != "Caf\u00e9" {
		t.Errorf("name stored as %q, want NFC", c.Name)
	}
	wantCode(t, e.gql(alice, createCredential, map[string]any{"in": map[string]any{"workspaceId": ws, "type": "custom", "name": "Café", "fields": []any{}}}), "CONFLICT")
	// Ordinary names with accents, emoji and other scripts are fine.
	for _, n := range []string{"Ünïcødé ✓", "邮件服务器", "prod-smtp 🚀"} {
		mustOK(t, e.gql(alice, createCredential, map[string]any{"in": map[string]any{"workspaceId": ws, "type": "custom", "name": n, "fields": []any{}}}))
	}
}
