package lifecycle_test

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"credkeep/audit"
	"credkeep/coherence"
	"credkeep/credential"
	"credkeep/internal/pagination"
	"credkeep/internal/redact"
	"credkeep/lifecycle"
	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// clock is the tests' injected time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// credentials is the credential service a scheduler reads through, as the
// server wires it (the parts a round does not use left out).
func credentials(store *coherence.Store, j audit.Journal, now func() time.Time, log *slog.Logger) *credential.Service {
	return credential.NewService(store, nil, nil, nil, j, nil, now, log)
}

// countedReads counts a scheduler's reads of the credentials with deadlines.
type countedReads struct {
	lifecycle.Credentials
	n int
}

func (c *countedReads) CredentialsWithDeadlines(ctx context.Context) ([]storage.Credential, error) {
	c.n++
	return c.Credentials.CredentialsWithDeadlines(ctx)
}

// TestNoticesOnceAcrossInstancesAndRestarts: two instances tick side by side,
// every four simulated hours, through 40 days (one holds the lease; the other takes over when
// the first stops); a third starts as a restart. Every notice is written
// exactly once: 14, 3 and 1 days before an expiry, at the expiry, and when a
// rotation falls due; an expiry moved later arms its notices again.
func TestNoticesOnceAcrossInstancesAndRestarts(t *testing.T) {
	db, s1 := storagetest.Store(t)
	s2 := db.Open(t)
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	log := slog.New(slog.DiscardHandler)
	const every = 4 * time.Hour
	instance := func(s *storage.Store, name string) (*lifecycle.Scheduler, *audit.Log) {
		store := coherence.Wrap(s, clk.Now, log)
		j := audit.NewLog(store, clk.Now, nil)
		return lifecycle.New(store, credentials(store, j, clk.Now, log), j, clk.Now, name, every, log), j
	}
	a, journal := instance(s1, "instance-a")
	b, _ := instance(s2, "instance-b")

	const ws = "ws-deadlines"
	if err := s1.CreateDataKey(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if err := s1.InsertWorkspace(ctx, storage.Workspace{ID: ws, Name: "deadlines", CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	put := func(id string, expires *time.Time, period int) {
		t.Helper()
		c := storage.Credential{ID: id, WorkspaceID: ws, Type: "api_key", Name: id, NameKey: id, Version: 1,
			ExpiresAt: expires, RotationPeriodDays: period, CreatedAt: clk.Now(), UpdatedAt: clk.Now()}
		if err := s1.InsertCredential(ctx, c, map[string]redact.Secret{"apiKey": redact.New("k")}); err != nil {
			t.Fatal(err)
		}
	}
	day := 24 * time.Hour
	in20, in2 := clk.Now().Add(20*day), clk.Now().Add(2*day)
	put("expires-in-20-days", &in20, 0)
	put("expires-in-2-days", &in2, 0)
	put("rotate-every-10-days", nil, 10)
	put("no-deadline", nil, 0)

	for h := 0; h < 40*24; h += 4 {
		if h == 10*24 {
			a = nil // instance a stops: b takes over once the lease expires
		}
		if h == 20*24 {
			a, _ = instance(db.Open(t), "instance-a-restarted")
		}
		for _, sc := range []*lifecycle.Scheduler{a, b} {
			if sc == nil {
				continue
			}
			if _, err := sc.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
		clk.Advance(every)
	}

	first := 200
	page, err := journal.List(ctx, audit.Query{Log: ws}, pagination.Args{First: &first})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range page.Entries {
		switch r.Action {
		case audit.CredentialExpiring, audit.CredentialExpired, audit.CredentialRotationDue:
			days := ""
			for _, d := range r.Details {
				if d.Key == "days" {
					days = " " + d.Value
				}
			}
			if r.ActorKind != "SYSTEM" {
				t.Errorf("%s by %s, want SYSTEM", r.Action, r.ActorKind)
			}
			// Within a round of the deadline, even while the lease changed hands.
			if r.TargetID == "expires-in-2-days" && r.Action == audit.CredentialExpired && r.At.Sub(in2) > every {
				t.Errorf("expired at %v, noticed at %v: later than one round", in2, r.At)
			}
			got = append(got, fmt.Sprintf("%s %s%s", r.TargetID, r.Action, days))
		}
	}
	sort.Strings(got)
	want := []string{
		"expires-in-2-days CREDENTIAL_EXPIRED",
		"expires-in-2-days CREDENTIAL_EXPIRING 1",
		"expires-in-2-days CREDENTIAL_EXPIRING 3",
		"expires-in-20-days CREDENTIAL_EXPIRED",
		"expires-in-20-days CREDENTIAL_EXPIRING 1",
		"expires-in-20-days CREDENTIAL_EXPIRING 14",
		"expires-in-20-days CREDENTIAL_EXPIRING 3",
		"rotate-every-10-days CREDENTIAL_ROTATION_DUE",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("notices:\n%v\nwant\n%v", got, want)
	}
	if v, err := journal.Verify(ctx, ws); err != nil || !v.OK {
		t.Fatalf("the log does not verify: %+v %v", v, err)
	}
}

// TestNoticeMarkLostIsNotWrittenTwice: a crash after the entry and before
// its mark (simulated by writing the entry through one scheduler and
// removing the mark) does not make the next round write it again.
func TestNoticeMarkLostIsNotWrittenTwice(t *testing.T) {
	db, s := storagetest.Store(t)
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	log := slog.New(slog.DiscardHandler)
	store := coherence.Wrap(s, clk.Now, log)
	j := audit.NewLog(store, clk.Now, nil)
	sc := lifecycle.New(store, credentials(store, j, clk.Now, log), j, clk.Now, "one", time.Hour, log)
	const ws = "ws-mark"
	if err := s.CreateDataKey(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertWorkspace(ctx, storage.Workspace{ID: ws, Name: "mark", CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	past := clk.Now().Add(-time.Hour)
	if err := s.InsertCredential(ctx, storage.Credential{ID: "gone", WorkspaceID: ws, Type: "api_key", Name: "gone", NameKey: "gone",
		Version: 1, ExpiresAt: &past, CreatedAt: clk.Now(), UpdatedAt: clk.Now()}, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := sc.Tick(ctx); err != nil || n != 1 {
		t.Fatalf("first round wrote %d (%v)", n, err)
	}
	if err := db.Raw(t).DeleteNotices(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := sc.Tick(ctx); err != nil || n != 0 {
		t.Fatalf("a round after the mark was lost wrote %d (%v), want 0", n, err)
	}
}

// TestRoundsReadCredentialsOnlyWhenSomethingMayHaveChanged: a round reads
// the credentials with deadlines (through the credential service: an indexed
// query, or its cached lists on the embedded database) only when a
// credential was written since the last read, when
// one of their deadlines has come, or an hour after the last read; the
// notices are those of the rounds that read.
func TestRoundsReadCredentialsOnlyWhenSomethingMayHaveChanged(t *testing.T) {
	_, raw := storagetest.Store(t)
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	log := slog.New(slog.DiscardHandler)
	store := coherence.Wrap(raw, clk.Now, log)
	journal := audit.NewLog(store, clk.Now, nil)
	reads := &countedReads{Credentials: credentials(store, journal, clk.Now, log)}
	sc := lifecycle.New(store, reads, journal, clk.Now, "one", time.Minute, log)
	ctx := context.Background()

	const ws = "ws-rounds"
	if err := store.CreateDataKey(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if err := store.InsertWorkspace(ctx, storage.Workspace{ID: ws, Name: "rounds", CreatedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	expires := clk.Now().Add(20 * day)
	c := storage.Credential{ID: "cred", WorkspaceID: ws, Type: "api_key", Name: "cred", NameKey: "cred", Version: 1,
		ExpiresAt: &expires, CreatedAt: clk.Now(), UpdatedAt: clk.Now()}
	if err := store.InsertCredential(ctx, c, map[string]redact.Secret{"apiKey": redact.New("k")}); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name    string
		before  func()
		reads   int // reads of the credentials in this round
		written int // notices written
	}{
		{"the first round", nil, 1, 0},
		{"a minute later, nothing changed", func() { clk.Advance(time.Minute) }, 0, 0},
		{"the 14-day stage comes", func() { clk.Advance(expires.Add(-14 * day).Sub(clk.Now())) }, 1, 1},
		{"a minute after it", func() { clk.Advance(time.Minute) }, 0, 0},
		{"the expiry moved through the store", func() {
			later := expires.Add(10 * day)
			c.ExpiresAt = &later
			if _, err := store.UpdateCredential(ctx, c, nil, 1); err != nil {
				t.Fatal(err)
			}
		}, 1, 0},
		{"59 minutes later", func() { clk.Advance(59 * time.Minute) }, 0, 0},
		{"an hour after the last read", func() { clk.Advance(time.Minute) }, 1, 0},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		before := reads.n
		written, err := sc.Tick(ctx)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if n := reads.n - before; n != st.reads || written != st.written {
			t.Errorf("%s: %d reads of the credentials and %d notices, want %d and %d", st.name, n, written, st.reads, st.written)
		}
	}
}
