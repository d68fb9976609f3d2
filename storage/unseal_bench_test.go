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
	s := storagetest.Start(b).Open(b)
	ctx := context.Background()
	ids := seedCredentials(b, s, "ws", 1)
	_, sealed, err := s.SealedCredential(ctx, ids[0])
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := s.Unseal(ctx, sealed)
		if err != nil || m["password"].IsZero() {
			b.Fatal(err)
		}
	}
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
