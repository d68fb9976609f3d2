package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"credkeep/storage"
)

// BenchmarkAuditQuery reads a page of one log filtered by target out of
// 100,000 entries of that log among 200,000, with the total count, as the
// audit view does on the embedded database (the storage file).
func BenchmarkAuditQuery(b *testing.B) {
	db := storageFileDB(b)
	s := db.Open(b)
	ctx := context.Background()
	at := time.Now()
	seq := map[string]int64{}
	for r := 0; r < 200_000/500; r++ {
		es := make([]storage.AuditEntry, 500)
		for i := range es {
			log := fmt.Sprintf("ws-%d", (r*500+i)%2)
			seq[log]++
			es[i] = storage.AuditEntry{Log: log, Seq: seq[log], At: at, Action: "CREDENTIAL_USED", Outcome: "SUCCESS",
				ActorKind: "API_TOKEN", ActorTokenID: "tok-0001", TargetType: "CREDENTIAL",
				TargetID: fmt.Sprintf("cred-%03d", seq[log]%500), Hash: "3f1c2a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a19"}
		}
		if err := s.InsertAuditEntries(ctx, es); err != nil {
			b.Fatal(err)
		}
	}
	for _, q := range []struct {
		name string
		q    storage.AuditQuery
	}{
		{"page", storage.AuditQuery{Log: "ws-0", Limit: 50}},
		{"by-target", storage.AuditQuery{Log: "ws-0", TargetID: "cred-007", Limit: 50}},
	} {
		b.Run(q.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				es, total, err := s.AuditEntries(ctx, q.q)
				if err != nil || len(es) != 50 || total == 0 {
					b.Fatalf("%d entries of %d: %v", len(es), total, err)
				}
			}
		})
	}
}
