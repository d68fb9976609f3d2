package kms_test

import (
	"context"
	"net/url"
	"testing"

	"credkeep/internal/config"
	"credkeep/internal/redact"
	"credkeep/kms"
	"credkeep/kms/kmstest"
	"credkeep/storage/storagetest"
)

// TestAWS: data keys wrapped by AWS KMS through CREDKEEP_KMS_ENDPOINT (a
// private endpoint), signed requests, a secret read back after a restart.
func TestAWS(t *testing.T) {
	srv := kmstest.StartAWS(t, "AKIDTESTKEY", "eu-west-3")
	u, _ := url.Parse(srv.URL)
	settings, err := kms.New(config.KMS{Provider: "aws", AWSKey: "arn:aws:kms:eu-west-3:123456789012:key/0f0e0d0c-1111-2222-3333-444455556666",
		AWSRegion: "eu-west-3", AWSAccessKeyID: "AKIDTESTKEY", AWSSecretKey: redact.New("test-secret-access-key"),
		Endpoint: u.Host, TLSCA: srv.CA}, redact.Bytes{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db := storagetest.Start(t)
	s := db.OpenWithKMS(t, settings)
	if err := s.CreateDataKey(ctx, "ws-aws"); err != nil {
		t.Fatalf("data key under AWS KMS: %v", err)
	}
	id := storeSecret(t, s, "ws-aws", "aws-wrapped-secret-5678")
	if got := readSecret(t, db.OpenWithKMS(t, settings), id); got != "aws-wrapped-secret-5678" {
		t.Errorf("after a restart: %q", got)
	}
	if p, _ := db.Raw(t).DataKeyProvider(ctx, "ws-aws"); p != "aws" {
		t.Errorf("data key wrapped by %q, want aws", p)
	}
	calls, bad := srv.Calls()
	if calls["TrentService.Encrypt"] != 1 || calls["TrentService.Decrypt"] < 1 || len(bad) > 0 {
		t.Errorf("KMS calls %v; unsigned or wrongly scoped: %q", calls, bad)
	}
}
