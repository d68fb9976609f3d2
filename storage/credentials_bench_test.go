package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"credkeep/internal/redact"
	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// seedCredentials stores n smtp-like credentials in workspace ws.
func seedCredentials(b testing.TB, s *storage.Store, ws string, n int) []string {
	ctx := context.Background()
	if err := s.CreateDataKey(ctx, ws); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-cred-%04d", ws, i)
		c := storage.Credential{ID: ids[i], WorkspaceID: ws, Name: ids[i], NameKey: ids[i], Type: "smtp", OwnerID: "owner",
			Fields:     map[string]string{"host": "smtp.example.com", "port": "587", "username": "mailer", "security": "starttls"},
			SecretKeys: []string{"password"}, Version: 1, CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := s.InsertCredential(ctx, c, map[string]redact.Secret{"password": redact.New("hunter2-smtp-password-4242")}); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

func BenchmarkSealedCredentialsOf1000(b *testing.B) {
	_, s := storagetest.Store(b)
	seedCredentials(b, s, "ws", 1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs, _, err := s.SealedCredentialsOf(context.Background(), "ws")
		if err != nil || len(cs) != 1000 {
			b.Fatal(len(cs), err)
		}
	}
}

func BenchmarkCredentialByID(b *testing.B) {
	for _, n := range []int{10, 1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			_, s := storagetest.Store(b)
			ids := seedCredentials(b, s, "ws", n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.Credential(context.Background(), ids[i%n]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
