package audit

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"credkeep/storage"
)

type failingRecorder struct {
	fail    bool
	entries []Entry
}

func (f *failingRecorder) Record(_ context.Context, e Entry) error {
	if f.fail {
		return errors.New("audit store down")
	}
	f.entries = append(f.entries, e)
	return nil
}

func (f *failingRecorder) Denied(context.Context, Entry) {}

func TestDoRecordsFirstAndFailsClosed(t *testing.T) {
	ctx := context.Background()
	rec := &failingRecorder{fail: true}
	changed := false
	err := Do(ctx, rec, Entry{Action: CredentialCreated}, func() error { changed = true; return nil })
	if err == nil || changed {
		t.Fatalf("with the audit down the change must not run: err=%v changed=%v", err, changed)
	}
	rec.fail = false
	err = Do(ctx, rec, Entry{Action: CredentialDeleted, Outcome: Success}, func() error { return errors.New("db gone") })
	if err == nil || len(rec.entries) != 2 || rec.entries[0].Outcome != Success || rec.entries[1].Outcome != Failure {
		t.Fatalf("a failed change is followed by a FAILURE entry: %v %+v", err, rec.entries)
	}
}

func TestChainHashCoversEveryField(t *testing.T) {
	e := storage.AuditEntry{Log: "ws", Seq: 3, At: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC), Action: "CREDENTIAL_USED",
		Outcome: "SUCCESS", ActorKind: "API_TOKEN", ActorUserID: "u", ActorTokenID: "t", ActorTokenName: "bot",
		TargetType: "CREDENTIAL", TargetID: "c", TargetName: "Mail", IP: "10.0.0.1", UserAgent: "curl",
		Details: []storage.AuditDetail{{Key: "fields", Value: "host,password"}}}
	base := ChainHash("prev", e)
	if ChainHash("prev", e) != base {
		t.Fatal("hash is not deterministic")
	}
	mutations := []func(*storage.AuditEntry){
		func(e *storage.AuditEntry) { e.Seq++ },
		func(e *storage.AuditEntry) { e.At = e.At.Add(time.Millisecond) },
		func(e *storage.AuditEntry) { e.Action = "CREDENTIAL_DELETED" },
		func(e *storage.AuditEntry) { e.Outcome = "FAILURE" },
		func(e *storage.AuditEntry) { e.ActorUserID = "v" },
		func(e *storage.AuditEntry) { e.ActorTokenName = "other" },
		func(e *storage.AuditEntry) { e.TargetID = "d" },
		func(e *storage.AuditEntry) { e.IP = "10.0.0.2" },
		func(e *storage.AuditEntry) { e.Details = []storage.AuditDetail{{Key: "fields", Value: "host"}} },
		func(e *storage.AuditEntry) { e.Log = "other" },
	}
	for i, m := range mutations {
		c := e
		c.Details = append([]storage.AuditDetail(nil), e.Details...)
		m(&c)
		if ChainHash("prev", c) == base {
			t.Errorf("mutation %d does not change the hash", i)
		}
	}
	if ChainHash("other-prev", e) == base {
		t.Error("the previous hash is not covered")
	}
}

func TestClientAddressTrustsOnlyConfiguredProxies(t *testing.T) {
	_, proxies, _ := net.ParseCIDR("10.0.0.0/8")
	trusted := []*net.IPNet{proxies}
	cases := []struct {
		remote, xff, want string
	}{
		{"203.0.113.7:5000", "", "203.0.113.7"},
		{"203.0.113.7:5000", "198.51.100.1", "203.0.113.7"}, // not from a proxy: the header is ignored
		{"10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},
		{"10.1.2.3:5000", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // spoofed left part ignored
		{"10.1.2.3:5000", "garbage", "10.1.2.3"},
	}
	for _, c := range cases {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		r.Header.Set("User-Agent", "test-agent/1.0")
		got := ClientOf(r, trusted)
		if got.IP != c.want || got.UserAgent != "test-agent/1.0" {
			t.Errorf("remote %s xff %q: got %+v, want %s", c.remote, c.xff, got, c.want)
		}
	}
}
