package kms_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"credkeep/internal/config"
	"credkeep/internal/redact"
	"credkeep/kms"
	"credkeep/kms/kmstest"
	"credkeep/storage/storagetest"
)

// TestRewrap: data keys move from a local master key to KMIP, interrupted
// after the first batch and resumed, while another server (configured with
// both) keeps reading every secret; then the local key is dropped and every
// secret is still readable; then from KMIP to AWS KMS the same way.
func TestRewrap(t *testing.T) {
	ctx := context.Background()
	raw := make([]byte, 96)
	_, _ = rand.Read(raw)
	local := redact.NewBytes(raw)
	db := storagetest.Start(t)
	old := db.OpenWithKMS(t, kms.Local(local))
	const n = 5
	ids := map[string]string{}
	for i := range n {
		ws := fmt.Sprintf("ws-%d", i)
		if err := old.CreateDataKey(ctx, ws); err != nil {
			t.Fatal(err)
		}
		ids[storeSecret(t, old, ws, fmt.Sprintf("secret-number-%d-xyz", i))] = fmt.Sprintf("secret-number-%d-xyz", i)
	}
	readAll := func(what string, settings kms.Settings) {
		t.Helper()
		s := db.OpenWithKMS(t, settings)
		for id, want := range ids {
			if got, err := unseal(s, id); err != nil || got != want {
				t.Fatalf("%s: %s read %q (%v)", what, id, got, err)
			}
		}
	}

	kmip := kmstest.StartKMIP(t)
	toKMIP := kmip.Config()
	both, err := kms.New(toKMIP, local)
	if err != nil {
		t.Fatal(err)
	}
	rewrapper := db.OpenWithKMS(t, both)
	interrupted := errors.New("interrupted")
	done, err := rewrapper.RewrapDataKeys(ctx, 2, func(int) error { return interrupted })
	if !errors.Is(err, interrupted) || done != 2 {
		t.Fatalf("first batch: %d re-wrapped, %v", done, err)
	}
	if left, _ := rewrapper.DataKeysNotUnderMasterKey(ctx); left != n-2 {
		t.Fatalf("%d keys left after the interruption, want %d", left, n-2)
	}
	readAll("half-way, a server with both keys", both)
	if done, err = rewrapper.RewrapDataKeys(ctx, 2, nil); err != nil || done != n-2 {
		t.Fatalf("resumed: %d re-wrapped, %v", done, err)
	}
	if left, _ := rewrapper.DataKeysNotUnderMasterKey(ctx); left != 0 {
		t.Fatalf("%d keys left", left)
	}
	kmipOnly, _ := kms.New(toKMIP, redact.Bytes{})
	readAll("the local key removed", kmipOnly)
	for i := range n {
		if p, _ := db.Raw(t).DataKeyProvider(ctx, fmt.Sprintf("ws-%d", i)); p != "kmip" {
			t.Errorf("ws-%d wrapped by %q", i, p)
		}
	}

	// KMIP to AWS KMS: the KMIP settings stay until the re-wrap is done.
	aws := kmstest.StartAWS(t, "AKIDTESTKEY", "eu-west-3")
	u, _ := url.Parse(aws.URL)
	toAWS := toKMIP
	toAWS.Provider, toAWS.AWSKey, toAWS.AWSRegion = "aws", "arn:aws:kms:eu-west-3:123456789012:key/0f0e0d0c-1111-2222-3333-444455556666", "eu-west-3"
	toAWS.AWSAccessKeyID, toAWS.AWSSecretKey, toAWS.Endpoint = "AKIDTESTKEY", redact.New("test-secret-access-key"), u.Host
	// One CA file for both test servers' certificates.
	toAWS.TLSCA = bothCAs(t, kmip.CA, aws.CA)
	withKMIP, err := kms.New(toAWS, redact.Bytes{})
	if err != nil {
		t.Fatal(err)
	}
	if done, err = db.OpenWithKMS(t, withKMIP).RewrapDataKeys(ctx, 100, nil); err != nil || done != n {
		t.Fatalf("KMIP to AWS: %d re-wrapped, %v", done, err)
	}
	awsOnly := toAWS
	awsOnly.KMIPEndpoint = ""
	settings, _ := kms.New(awsOnly, redact.Bytes{})
	readAll("KMIP removed", settings)
}

// BenchmarkRewrap1000DataKeys: 1,000 data keys re-wrapped from a local key
// to KMIP (a KMIP key registered per data key, or one named key) and to AWS
// KMS (go test -tags cse -run X -bench Rewrap -benchtime 1x ./kms).
func BenchmarkRewrap1000DataKeys(b *testing.B) {
	raw := make([]byte, 96)
	_, _ = rand.Read(raw)
	local := redact.NewBytes(raw)
	kmip := kmstest.StartKMIP(b)
	kmipConf := kmip.Config()
	aws := kmstest.StartAWS(b, "AKIDTESTKEY", "eu-west-3")
	u, _ := url.Parse(aws.URL)
	awsConf := config.KMS{Provider: "aws", AWSKey: "arn:aws:kms:eu-west-3:123456789012:key/0f0e0d0c-1111-2222-3333-444455556666",
		AWSRegion: "eu-west-3", AWSAccessKeyID: "AKIDTESTKEY", AWSSecretKey: redact.New("test-secret-access-key"), Endpoint: u.Host, TLSCA: aws.CA}
	oneKey := kmipConf
	oneKey.KMIPKeyID = kmip.Register(b, raw) // any 96 bytes held by the KMS
	for name, c := range map[string]config.KMS{"kmip-key-per-data-key": kmipConf, "kmip-one-key": oneKey, "aws": awsConf} {
		b.Run(name, func(b *testing.B) {
			settings, err := kms.New(c, local)
			if err != nil {
				b.Fatal(err)
			}
			for range b.N {
				b.StopTimer()
				db := storagetest.Start(b)
				s := db.OpenWithKMS(b, kms.Local(local))
				for i := range keysToRewrap {
					if err := s.CreateDataKey(context.Background(), fmt.Sprintf("ws-%d", i)); err != nil {
						b.Fatal(err)
					}
				}
				r := db.OpenWithKMS(b, settings)
				b.StartTimer()
				if n, err := r.RewrapDataKeys(context.Background(), 50, nil); err != nil || n != keysToRewrap {
					b.Fatalf("%d re-wrapped: %v", n, err)
				}
			}
		})
	}
}

var keysToRewrap = 1000
