package storage_test

import (
	"context"
	"fmt"
	"testing"

	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// BenchmarkUnseal is one explicit decryption of a credential's secrets, as
// useCredential and the first masked view of a cached credential do.
func BenchmarkUnseal(b *testing.B) {
	s, sealed := sealedOne(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := s.Unseal(ctx, sealed)
		if err != nil || m["password"].IsZero() {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnsealParallel decrypts from 50 goroutines at once, as
// useCredential load does, and reports the process's CPU per decryption:
// what two threads decrypting at the same moment cost each other.
func BenchmarkUnsealParallel(b *testing.B) {
	s, sealed := sealedOne(b)
	ctx := context.Background()
	b.SetParallelism(25) // × GOMAXPROCS (2 here) = 50
	b.ResetTimer()
	start := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m, err := s.Unseal(ctx, sealed)
			if err != nil || m["password"].IsZero() {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64((processCPU()-start).Nanoseconds())/1000/float64(b.N), "cpu-µs/op")
}

// sealedOne is a store with one credential, and that credential's sealed secrets.
func sealedOne(b *testing.B) (*storage.Store, storage.Sealed) {
	s := storagetest.Start(b).Open(b)
	ids := seedCredentials(b, s, "ws", 1)
	_, sealed, err := s.SealedCredential(context.Background(), ids[0])
	if err != nil {
		b.Fatal(err)
	}
	return s, sealed
}

// BenchmarkUnsealManyKeys decrypts secrets of credentials of 20 workspaces in turn.
func BenchmarkUnsealManyKeys(b *testing.B) {
	s := storagetest.Start(b).Open(b)
	ctx := context.Background()
	var sealed []storage.Sealed
	for w := 0; w < 20; w++ {
		ids := seedCredentials(b, s, fmt.Sprint("ws", w), 1)
		_, sl, err := s.SealedCredential(ctx, ids[0])
		if err != nil {
			b.Fatal(err)
		}
		sealed = append(sealed, sl)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := s.Unseal(ctx, sealed[i%len(sealed)])
		if err != nil || m["password"].IsZero() {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncrypt is the explicit encryption of a credential's secrets (one
// value: the secrets sub-document), as every write of secrets does.
func BenchmarkEncrypt(b *testing.B) {
	s := storagetest.Start(b).Open(b)
	ctx := context.Background()
	if err := s.CreateDataKey(ctx, "ws"); err != nil {
		b.Fatal(err)
	}
	secrets := map[string]string{"password": "hunter2-smtp-password-4242", "apiKey": "sk_test_51HxSECRETSECRETSECRETabcd"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Encrypt(ctx, "ws", secrets); err != nil {
			b.Fatal(err)
		}
	}
}
