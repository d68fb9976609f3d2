package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// TestCrashSafety kills the server with SIGKILL in the middle of a burst of
// createCredential and updateCredential calls, starts it again on the same
// data, and checks that every acknowledged write is there, that secrets still
// decrypt, and that the audit chain verifies.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the server")
	}
	dataDir, err := os.MkdirTemp("", "ckcrash")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dataDir) })
	p := newServerProc(t, dataDir)
	p.start()
	d, ok := p.gql(`mutation { createWorkspace(input: {name: "crash"}) { id } }`, nil)
	if !ok {
		t.Fatal("create workspace")
	}
	ws := d["createWorkspace"].(map[string]any)["id"].(string)

	type ack struct {
		id, name, password string
		version            int
	}
	var mu sync.Mutex
	acked := map[string]ack{}
	var wg sync.WaitGroup
	killAt := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				name := fmt.Sprintf("w%d-%03d", w, i)
				pw := fmt.Sprintf("password-%s-initial", name)
				d, ok := p.gql(`mutation($in: CreateCredentialInput!) { createCredential(input: $in) { id version } }`, map[string]any{"in": map[string]any{
					"workspaceId": ws, "type": "basic_auth", "name": name,
					"fields": []map[string]any{{"key": "username", "value": "u"}, {"key": "password", "value": pw}}}})
				if !ok {
					return // the server is gone
				}
				id := d["createCredential"].(map[string]any)["id"].(string)
				mu.Lock()
				acked[name] = ack{id: id, name: name, password: pw, version: 1}
				n := len(acked)
				mu.Unlock()
				pw2 := fmt.Sprintf("password-%s-rotated", name)
				if _, ok := p.gql(`mutation($in: UpdateCredentialInput!) { updateCredential(input: $in) { version } }`, map[string]any{"in": map[string]any{
					"id": id, "expectedVersion": 1, "fields": []map[string]any{{"key": "password", "value": pw2}}}}); ok {
					mu.Lock()
					acked[name] = ack{id: id, name: name, password: pw2, version: 2}
					mu.Unlock()
				}
				if n == 40 {
					close(killAt)
				}
			}
		}()
	}
	<-killAt
	p.kill()
	wg.Wait()

	p.start()
	for _, a := range acked {
		d, ok := p.gql(`query($id: ID!) { credential(id: $id) { name version fields { key isSet hint } } }`, map[string]any{"id": a.id})
		if !ok || d["credential"] == nil {
			t.Errorf("acknowledged credential %s is missing after the crash", a.name)
			continue
		}
		c := d["credential"].(map[string]any)
		if int(c["version"].(float64)) < a.version {
			t.Errorf("%s: version %v, acknowledged %d", a.name, c["version"], a.version)
		}
		// The hint proves the secret decrypts, and which one it is.
		for _, f := range c["fields"].([]any) {
			f := f.(map[string]any)
			if f["key"] == "password" {
				hint, _ := f["hint"].(string)
				if int(c["version"].(float64)) == a.version && !strings.HasSuffix(a.password, strings.TrimPrefix(hint, "••••")) {
					t.Errorf("%s: hint %q does not match the acknowledged password", a.name, hint)
				}
			}
		}
	}
	d, ok = p.gql(`mutation($ws: ID!) { verifyAuditLog(workspaceId: $ws) { ok checked firstBrokenSeq } }`, map[string]any{"ws": ws})
	if !ok {
		t.Fatal("verify after the crash")
	}
	v := d["verifyAuditLog"].(map[string]any)
	if v["ok"] != true {
		t.Errorf("audit chain after the crash: %v", v)
	}
	t.Logf("acknowledged %d credentials before SIGKILL; all present after restart; audit entries checked: %v", len(acked), v["checked"])
}
