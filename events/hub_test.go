package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"credkeep/audit"
	"credkeep/coherence"
	"credkeep/events"
	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// instance is one server's audit log and hub on a shared database.
type instance struct {
	log *audit.Log
	hub *events.Hub
}

type source struct {
	*coherence.Store
	log *audit.Log
}

func (s source) LastSeq(ctx context.Context, log string) (int64, error) {
	return s.log.LastSeq(ctx, log)
}

func newInstance(s *storage.Store, poll time.Duration) instance {
	quiet := slog.New(slog.DiscardHandler)
	cs := coherence.Wrap(s, time.Now, quiet)
	l := audit.NewLog(cs, time.Now, nil)
	h := events.NewHub(source{cs, l}, poll, quiet)
	l.OnAppend(h.Appended)
	return instance{log: l, hub: h}
}

func write(t *testing.T, in instance, ws string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := in.log.Record(context.Background(), audit.Entry{WorkspaceID: ws, Action: audit.WorkspaceUpdated,
			Outcome: audit.Success, TargetName: fmt.Sprint("name ", i)}); err != nil {
			t.Fatal(err)
		}
	}
}

// collect reads n entries from a stream, failing after a while. The while
// guards against a hang, it times nothing: 510 entries read from the
// database took over 5 s in a CI run on a machine busy with other work.
func collect(t *testing.T, s *events.Stream, n int) []storage.AuditEntry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []storage.AuditEntry
	for len(out) < n {
		es, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("after %d entries: %v", len(out), err)
		}
		out = append(out, es...)
	}
	return out
}

func inOrder(t *testing.T, es []storage.AuditEntry, first int64) {
	t.Helper()
	for i, e := range es {
		if e.Seq != first+int64(i) || e.ID != storage.AuditEntryID(e.Log, e.Seq) || e.Hash == "" {
			t.Fatalf("entry %d: seq %d id %q, want seq %d", i, e.Seq, e.ID, first+int64(i))
		}
	}
}

// TestStreams: a live stream gets what this instance writes (handed over,
// with ids) and what another writes (found by polling); a stream from seq 0
// reads the log from the database past the in-memory window; two streams of
// one log on one instance share a follower and see the same entries.
func TestStreams(t *testing.T) {
	db, s1 := storagetest.Store(t)
	a := newInstance(s1, 50*time.Millisecond)
	b := newInstance(db.Open(t), 50*time.Millisecond)
	const ws = "ws-events"
	write(t, a, ws, 0, 5)

	live, err := a.hub.Follow(context.Background(), ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	twin, _ := a.hub.Follow(context.Background(), ws, nil)
	defer twin.Close()
	write(t, a, ws, 5, 3)
	inOrder(t, collect(t, live, 3), 6)
	start := time.Now()
	write(t, b, ws, 8, 2) // written elsewhere: found by the poll
	inOrder(t, collect(t, live, 2), 9)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("entries of another instance took %v", took)
	}
	inOrder(t, collect(t, twin, 5), 6)

	// A stream from the start on b, which holds none of them in memory: read
	// from the database, in batches, through the shared cache.
	write(t, a, ws, 10, 500)
	from0 := int64(0)
	all, err := b.hub.Follow(context.Background(), ws, &from0)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	got := collect(t, all, 510)
	inOrder(t, got, 1)
	if got[509].TargetName != "name 509" {
		t.Fatalf("last entry: %+v", got[509])
	}
	inOrder(t, collect(t, live, 500), 11)
}
