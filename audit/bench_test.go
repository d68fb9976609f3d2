package audit

import (
	"context"
	"testing"
	"time"

	"credkeep/storage/storagetest"
)

// BenchmarkAppend appends entries to one log on the embedded database.
func BenchmarkAppend(b *testing.B) {
	_, store := storagetest.Store(b)
	l := NewLog(store, time.Now, nil)
	ctx := context.Background()
	e := Entry{WorkspaceID: "ws", Action: CredentialUsed, Outcome: Success, TargetType: TargetCredential, TargetID: "c", TargetName: "Mail",
		Details: nil}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := l.Record(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	v, err := l.Verify(ctx, "ws")
	if err != nil || !v.OK || v.Checked != b.N {
		b.Fatalf("verify after %d appends: %+v %v", b.N, v, err)
	}
}
