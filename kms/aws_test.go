package kms_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"credkeep/internal/config"
	"credkeep/internal/redact"
	"credkeep/kms"
	"credkeep/storage/storagetest"
)

// awsKMS is a TLS server on loopback that answers the two AWS KMS calls
// libmongocrypt makes (TrentService.Encrypt and Decrypt, JSON 1.1), sealing
// with a key of its own, and checks that each request is signed (SigV4) with
// the access key and for the region and service credkeep was given.
type awsKMS struct {
	*httptest.Server
	CA    string // PEM file of the server's certificate
	mu    sync.Mutex
	calls map[string]int
	bad   []string
}

func startAWSKMS(t *testing.T, accessKey, region string) *awsKMS {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	k := &awsKMS{calls: map[string]int{}}
	k.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		auth := r.Header.Get("Authorization")
		k.mu.Lock()
		k.calls[target]++
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+accessKey+"/") || !strings.Contains(auth, "/"+region+"/kms/aws4_request") {
			k.bad = append(k.bad, auth)
		}
		k.mu.Unlock()
		var in struct{ KeyId, Plaintext, CiphertextBlob []byte }
		var raw map[string]string
		if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		for k, v := range raw { // base64 fields decode through []byte
			b, _ := json.Marshal(v)
			switch k {
			case "Plaintext":
				_ = json.Unmarshal(b, &in.Plaintext)
			case "CiphertextBlob":
				_ = json.Unmarshal(b, &in.CiphertextBlob)
			}
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch target {
		case "TrentService.Encrypt":
			nonce := make([]byte, gcm.NonceSize())
			_, _ = rand.Read(nonce)
			_ = json.NewEncoder(w).Encode(map[string]any{"CiphertextBlob": gcm.Seal(nonce, nonce, in.Plaintext, nil), "KeyId": raw["KeyId"]})
		case "TrentService.Decrypt":
			n := gcm.NonceSize()
			if len(in.CiphertextBlob) < n {
				http.Error(w, `{"__type":"InvalidCiphertextException"}`, http.StatusBadRequest)
				return
			}
			plain, err := gcm.Open(nil, in.CiphertextBlob[:n], in.CiphertextBlob[n:], nil)
			if err != nil {
				http.Error(w, `{"__type":"InvalidCiphertextException"}`, http.StatusBadRequest)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"Plaintext": plain})
		default:
			http.Error(w, `{"__type":"UnknownOperationException"}`, http.StatusBadRequest)
		}
	}))
	t.Cleanup(k.Close)
	k.CA = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(k.CA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestAWS: data keys wrapped by AWS KMS through CREDKEEP_KMS_ENDPOINT (a
// private endpoint), signed requests, a secret read back after a restart.
func TestAWS(t *testing.T) {
	srv := startAWSKMS(t, "AKIDTESTKEY", "eu-west-3")
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
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.calls["TrentService.Encrypt"] != 1 || srv.calls["TrentService.Decrypt"] < 1 || len(srv.bad) > 0 {
		t.Errorf("KMS calls %v; unsigned or wrongly scoped: %q", srv.calls, srv.bad)
	}
}
