package audit

import (
	"context"
	"fmt"
	"sync/atomic"
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

// BenchmarkAppendConcurrent appends from 50 goroutines to one log: what group
// commit is for (compare ns/op with BenchmarkAppend, one caller at a time).
func BenchmarkAppendConcurrent(b *testing.B) {
	_, store := storagetest.Store(b)
	l := NewLog(store, time.Now, nil)
	ctx := context.Background()
	e := Entry{WorkspaceID: "ws", Action: CredentialUsed, Outcome: Success, TargetType: TargetCredential, TargetID: "c", TargetName: "Mail"}
	b.SetParallelism(25) // × GOMAXPROCS (2 here) = 50 callers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.Record(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	v, err := l.Verify(ctx, "ws")
	if err != nil || !v.OK || v.Checked != b.N {
		b.Fatalf("verify after %d appends: %+v %v", b.N, v, err)
	}
}

// BenchmarkAppendConcurrentLogs appends from 50 goroutines to 20 logs, as
// useCredential load on 20 workspaces does: a round holds entries of several
// logs, and each log's entries go to its own place in the storage file.
func BenchmarkAppendConcurrentLogs(b *testing.B) {
	_, store := storagetest.Store(b)
	l := NewLog(store, time.Now, nil)
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(25) // × GOMAXPROCS (2 here) = 50 callers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ws := fmt.Sprintf("ws-%02d", next.Add(1)%20)
		e := Entry{WorkspaceID: ws, Action: CredentialUsed, Outcome: Success, TargetType: TargetCredential, TargetID: "c", TargetName: "Mail"}
		for pb.Next() {
			if err := l.Record(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
