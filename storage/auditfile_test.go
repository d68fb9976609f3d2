package storage_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"credkeep/storage"
	"credkeep/storage/storagetest"
)

func auditEntries(log string, from, to int64) []storage.AuditEntry {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var es []storage.AuditEntry
	for seq := from; seq <= to; seq++ {
		es = append(es, storage.AuditEntry{Log: log, Seq: seq, Action: "TEST", Outcome: "SUCCESS",
			At: at.Add(time.Duration(seq) * time.Second), Hash: fmt.Sprint(log, seq)})
	}
	return es
}

// checkMovedLog checks that log holds entries 1 to last in order, each with
// the hash auditEntries gave it.
func checkMovedLog(t *testing.T, s *storage.Store, log string, last int64) {
	t.Helper()
	var seqs []int64
	if err := s.ForEachAuditEntry(context.Background(), log, func(e storage.AuditEntry) error {
		if e.Hash != fmt.Sprint(log, e.Seq) {
			t.Errorf("entry %d moved with hash %q", e.Seq, e.Hash)
		}
		seqs = append(seqs, e.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if int64(len(seqs)) != last || seqs[0] != 1 || seqs[last-1] != last {
		t.Fatalf("log %s moved as %d entries, want 1 to %d in order", log, len(seqs), last)
	}
}

// TestAuditLogMovesIntoItsFile: a data directory whose audit log an earlier
// version kept in the embedded database's collections has it moved into the
// audit file at start-up, every entry and head, and the collections dropped;
// a move done again (as after a crash cut one short) skips what it copied.
func TestAuditLogMovesIntoItsFile(t *testing.T) {
	db := storageFileDB(t)
	ctx := context.Background()
	// A Store that reaches the database by URI keeps the log in collections,
	// as every Store on the embedded database did before the audit file.
	old := db.WithFaults(t).Open(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(old.InsertAuditEntries(ctx, auditEntries("ws", 1, 600)))
	must(old.InsertAuditEntries(ctx, auditEntries("ws2", 1, 3)))
	must(old.AdvanceAuditHeads(ctx, []storage.AuditHeadMove{
		{Log: "ws", To: storage.AuditHead{Seq: 600, Hash: "ws600"}}, {Log: "ws2", To: storage.AuditHead{Seq: 3, Hash: "ws23"}}}))

	check := func(s *storage.Store, last int64) {
		t.Helper()
		checkMovedLog(t, s, "ws", last)
		if e, err := s.AuditEntry(ctx, "ws", 577); err != nil || !e.At.Equal(auditEntries("ws", 577, 577)[0].At) {
			t.Errorf("entry 577 after the move: %+v, %v", e, err)
		}
		if h, err := s.AuditHead(ctx, "ws"); err != nil || h.Seq != last {
			t.Errorf("head of ws after the move: %+v, %v; want %d", h, err, last)
		}
		if _, total, err := s.AuditEntries(ctx, storage.AuditQuery{Log: "ws2"}); err != nil || total != 3 {
			t.Errorf("log ws2 after the move: %d entries, %v", total, err)
		}
		for _, c := range []string{"audit", "audit_heads"} {
			if n, err := db.Raw(t).CountDocuments(ctx, c); err != nil || n != 0 {
				t.Errorf("collection %s after the move: %d documents, %v", c, n, err)
			}
		}
	}
	check(db.Open(t), 600)

	// The collections hold again two entries that were moved and two that
	// were not: the next start moves the two and keeps one copy of each.
	must(old.InsertAuditEntries(ctx, auditEntries("ws", 599, 602)))
	must(old.AdvanceAuditHeads(ctx, []storage.AuditHeadMove{{Log: "ws", To: storage.AuditHead{Seq: 602, Hash: "ws602"}}}))
	check(db.Open(t), 602)
}

// TestAuditTableOfOldVersionIsMovedOver: a storage file written by a version
// that kept entries in one table ordered by (log, seq) has them moved into the
// index and the documents at start-up, after what the new tables held, every
// entry readable as before and the old table gone; the next entry of a log
// follows on, and a number already taken is still refused (the index keeps
// (log, seq) unique).
func TestAuditTableOfOldVersionIsMovedOver(t *testing.T) {
	db := storageFileDB(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// The file holds an entry in the new tables already (its document is
	// number 1): the entries moved over are numbered after it.
	must(db.Open(t).InsertAuditEntries(ctx, auditEntries("other", 1, 1)))
	raw := db.Raw(t)
	old := append(auditEntries("ws", 1, 300), auditEntries("ws2", 1, 3)...)
	old[41].TargetID, old[41].Action = "cred-41", "CREDENTIAL_USED"
	must(raw.WriteAuditTableOfOldVersion(ctx, old))

	s := db.Open(t)
	checkMovedLog(t, s, "ws", 300)
	checkMovedLog(t, s, "other", 1)
	if e, err := s.AuditEntry(ctx, "ws", 177); err != nil || !e.At.Equal(auditEntries("ws", 177, 177)[0].At) {
		t.Errorf("entry 177 after the move: %+v, %v", e, err)
	}
	if es, total, err := s.AuditEntries(ctx, storage.AuditQuery{Log: "ws", TargetID: "cred-41"}); err != nil || total != 1 || es[0].Seq != 42 {
		t.Errorf("filtered by target after the move: %d (%+v), %v; want entry 42", total, es, err)
	}
	if _, total, err := s.AuditEntries(ctx, storage.AuditQuery{Log: "ws2"}); err != nil || total != 3 {
		t.Errorf("log ws2 after the move: %d entries, %v", total, err)
	}
	tables, err := raw.StorageFileTables(ctx)
	must(err)
	if slices.Contains(tables, "audit_entries") || !slices.Contains(tables, "audit_index") || !slices.Contains(tables, "audit_docs") {
		t.Errorf("tables after the move: %v", tables)
	}
	must(s.InsertAuditEntries(ctx, auditEntries("ws", 301, 301)))
	if err := s.InsertAuditEntries(ctx, auditEntries("ws", 300, 300)); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("an entry numbered like one moved over: %v, want ErrConflict", err)
	}
	if _, total, err := s.AuditEntries(ctx, storage.AuditQuery{Log: "ws"}); err != nil || total != 301 {
		t.Errorf("log ws after one more entry: %d entries, %v", total, err)
	}
}

// TestStorageFileLogIsCheckpointed: the storage file's write-ahead log is
// copied back into the file as it goes (SQLite's automatic checkpoints, which
// sqlitefile.go leaves on), so it does not grow with what is written: 10,240
// entries of ~2 KiB (~20 MiB) leave a log of a few MiB. (With the automatic
// checkpoints off, wal_autocheckpoint(0), it grows to 47 MiB: tried.)
func TestStorageFileLogIsCheckpointed(t *testing.T) {
	db := storageFileDB(t)
	s := db.Open(t)
	ctx := context.Background()
	padding := strings.Repeat("x", 2000)
	seq := int64(0)
	for round := 0; round < 40; round++ {
		es := auditEntries("ws", seq+1, seq+256)
		for i := range es {
			es[i].Details = []storage.AuditDetail{{Key: "padding", Value: padding}}
		}
		if err := s.InsertAuditEntries(ctx, es); err != nil {
			t.Fatal(err)
		}
		seq += 256
	}
	st, err := os.Stat(db.Embedded.StorageFile(db.Name) + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > 12<<20 {
		t.Errorf("write-ahead log of %d MiB after ~20 MiB written: not checkpointed", st.Size()>>20)
	}
	t.Logf("write-ahead log: %.1f MiB", float64(st.Size())/(1<<20))
}

// TestEmbeddedEpochsAreSharedByItsStores: on the embedded database the epochs
// are in memory (state.go), shared by every Store of this process on that
// database, as the epochs document is by every instance on MongoDB, and by no
// other database's.
func TestEmbeddedEpochsAreSharedByItsStores(t *testing.T) {
	db := storagetest.Start(t)
	if db.Embedded == nil {
		t.Skip("MONGODB_URI is set: the epochs are a document")
	}
	ctx := context.Background()
	a, b := db.Open(t), db.Open(t)
	if err := a.BumpEpoch(ctx, storage.EpochData); err != nil {
		t.Fatal(err)
	}
	if err := b.BumpEpoch(ctx, storage.EpochTokens); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*storage.Store{"a": a, "b": b} {
		if ep, err := s.ReadEpochs(ctx); err != nil || ep != (storage.Epochs{Data: 1, Tokens: 1}) {
			t.Errorf("store %s reads %+v (%v), want both epochs moved once", name, ep, err)
		}
	}
	if ep, err := storagetest.Start(t).Open(t).ReadEpochs(ctx); err != nil || ep != (storage.Epochs{}) {
		t.Errorf("another database reads %+v (%v), want zero", ep, err)
	}
	if err := a.BumpEpoch(ctx, "nonsense"); err == nil {
		t.Error("an unknown epoch moved")
	}
}

// goneAfter is a context whose caller gives up after its first n Err checks.
type goneAfter struct {
	context.Context
	checks, n int
}

func (c *goneAfter) Err() error {
	c.checks++
	if c.checks > c.n {
		return context.Canceled
	}
	return nil
}

// TestFileWriteOfCallerThatGaveUpLeavesNothing: the storage file's statements
// run without their caller's cancellation, so the caller's context is checked
// before a write starts and again before it commits: an entry whose caller
// gave up at either point is not written, and the log goes on from where it
// was.
func TestFileWriteOfCallerThatGaveUpLeavesNothing(t *testing.T) {
	db := storageFileDB(t)
	s := db.Open(t)
	ctx := context.Background()
	for _, n := range []int{0, 1} {
		err := s.InsertAuditEntries(&goneAfter{Context: ctx, n: n}, auditEntries("ws", 1, 2))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("caller gone after %d checks: %v, want context.Canceled", n, err)
		}
		if _, err := s.AuditEntry(ctx, "ws", 1); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("caller gone after %d checks: entry 1 read back (%v), want none", n, err)
		}
	}
	if err := s.InsertAuditEntries(ctx, auditEntries("ws", 1, 2)); err != nil {
		t.Fatal(err)
	}
	checkMovedLog(t, s, "ws", 2)
}
