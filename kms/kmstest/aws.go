package kmstest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// AWS is a TLS server on loopback that answers the two AWS KMS calls
// libmongocrypt makes (TrentService.Encrypt and Decrypt, JSON 1.1), sealing
// with a key of its own, and checks that each request is signed (SigV4) with
// the access key and for the region and service credkeep was given.
type AWS struct {
	*httptest.Server
	CA    string // PEM file of the server's certificate
	mu    sync.Mutex
	calls map[string]int
	bad   []string
}

// StartAWS starts an AWS KMS for t that accepts requests signed by accessKey for region.
func StartAWS(t testing.TB, accessKey, region string) *AWS {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	k := &AWS{calls: map[string]int{}}
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

// Calls counts the requests by X-Amz-Target; Unsigned lists the
// Authorization headers that were not signed as expected.
func (k *AWS) Calls() (map[string]int, []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.calls), slices.Clone(k.bad)
}
