package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// BenchmarkWorkspaceStates is the version check every request makes (before
// sharing): the states of 1 or of 20 workspaces, in one query.
func BenchmarkWorkspaceStates(b *testing.B) {
	s := storagetest.Start(b).Open(b)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 20; i++ {
		id := fmt.Sprintf("ws-%02d", i)
		if err := s.InsertWorkspace(ctx, storage.Workspace{ID: id, Name: id, CreatedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, n := range []int{1, 20} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				st, err := s.ReadWorkspaces(ctx, ids[:n])
				if err != nil || len(st) != n {
					b.Fatal(err, len(st))
				}
			}
		})
	}
}
