package storage_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// BenchmarkInsertAuditRound writes group-commit rounds as useCredential load
// makes them on 20 workspaces: 16 entries, each of another log. "file" is the
// embedded database's audit file, "collections" the same entries through
// FerretDB (a Store reaching it by URI, through the test's wire proxy).
// Besides time it reports the process's CPU per entry, since a round's time
// is mostly its sync.
func BenchmarkInsertAuditRound(b *testing.B) {
	for _, where := range []string{"file", "collections"} {
		b.Run(where, func(b *testing.B) {
			db := storageFileDB(b)
			s := db.Open(b)
			if where == "collections" {
				s = db.WithFaults(b).Open(b)
			}
			ctx := context.Background()
			at := time.Now()
			seq := map[string]int64{}
			round := func(r int) []storage.AuditEntry {
				es := make([]storage.AuditEntry, 16)
				for i := range es {
					log := fmt.Sprintf("ws-%02d", (r*16+i)%20)
					seq[log]++
					es[i] = storage.AuditEntry{Log: log, Seq: seq[log], At: at, Action: "CREDENTIAL_USED", Outcome: "SUCCESS",
						ActorKind: "API_TOKEN", ActorUserID: "user-0001", ActorTokenID: "tok-0001", ActorTokenName: "deploy bot",
						TargetType: "CREDENTIAL", TargetID: fmt.Sprintf("cred-%04d", r%5000), TargetName: "SMTP relay for invoices",
						IP: "127.0.0.1", UserAgent: "Go-http-client/1.1",
						Details: []storage.AuditDetail{{Key: "consumer", Value: "billing"}, {Key: "fields", Value: "password"}},
						Hash:    "3f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a19"}
				}
				return es
			}
			b.ResetTimer()
			start := processCPU()
			for i := 0; i < b.N; i++ {
				if err := s.InsertAuditEntries(ctx, round(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((processCPU()-start).Microseconds())/float64(b.N*16), "cpu-µs/entry")
		})
	}
}

// storageFileDB starts a database for a test of the embedded database's
// storage file, or skips the test where there is none (MONGODB_URI is set).
func storageFileDB(tb testing.TB) *storagetest.DB {
	tb.Helper()
	db := storagetest.Start(tb)
	if db.Embedded == nil {
		tb.Skip("MONGODB_URI is set: there is no storage file")
	}
	return db
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
