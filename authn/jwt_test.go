package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"credkeep/internal/redact"
	"credkeep/internal/timing"
)

var (
	testNow    = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	testSecret = redact.New(strings.Repeat("k", 40))
)

func clock() time.Time { return testNow }

func claims(mut func(*Claims)) *Claims {
	c := &Claims{RegisteredClaims: jwt.RegisteredClaims{
		Subject:   "alice",
		Issuer:    "https://idp.test",
		Audience:  jwt.ClaimStrings{"credkeep"},
		IssuedAt:  jwt.NewNumericDate(testNow.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(testNow.Add(time.Hour)),
	}, Email: "alice@example.com", Roles: []string{"admin"}}
	if mut != nil {
		mut(c)
	}
	return c
}

func sign(t testing.TB, m jwt.SigningMethod, key any, c *Claims, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func hsVerifier(t testing.TB) *JWTVerifier {
	t.Helper()
	v, err := NewJWTVerifier(context.Background(), JWTConfig{
		Secret: testSecret, Issuer: "https://idp.test", Audience: "credkeep", Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestHS256Verification(t *testing.T) {
	v := hsVerifier(t)
	key := []byte(testSecret.Reveal())
	noneTok := func(c *Claims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name  string
		token string
		ok    bool
	}{
		{"valid", sign(t, jwt.SigningMethodHS256, key, claims(nil), ""), true},
		{"within leeway after exp", sign(t, jwt.SigningMethodHS256, key, claims(func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(testNow.Add(-10 * time.Second)) }), ""), true},
		{"expired", sign(t, jwt.SigningMethodHS256, key, claims(func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(testNow.Add(-time.Hour)) }), ""), false},
		{"no exp", sign(t, jwt.SigningMethodHS256, key, claims(func(c *Claims) { c.ExpiresAt = nil }), ""), false},
		{"not yet valid", sign(t, jwt.SigningMethodHS256, key, claims(func(c *Claims) { c.NotBefore = jwt.NewNumericDate(testNow.Add(time.Hour)) }), ""), false},
		{"issued in the future", sign(t, jwt.SigningMethodHS256, key, claims(func(c *Claims) { c.IssuedAt = jwt.NewNumericDate(testNow.Add(time.Hour)) }), ""), false},
		{"wrong audience", sign(t, jwt.SigningMethodHS256, key, claims(func(c *Claims) { c.Audience = jwt.ClaimStrings{"other"} }), ""), false},
		{"no audience", sign(t, jwt.SigningMethodHS256, key, claims(func(c *Claims) { c.Audience = nil }), ""), false},
		{"wrong issuer", sign(t, jwt.SigningMethodHS256, key, claims(func(c *Claims) { c.Issuer = "https://evil.test" }), ""), false},
		{"no subject", sign(t, jwt.SigningMethodHS256, key, claims(func(c *Claims) { c.Subject = "" }), ""), false},
		{"wrong secret", sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 40)), claims(nil), ""), false},
		{"HS512 with the right secret", sign(t, jwt.SigningMethodHS512, key, claims(nil), ""), false},
		{"alg none", noneTok(claims(nil)), false},
		{"garbage", "not-a-jwt", false},
		{"three garbage parts", "a.b.c", false},
		{"10,000 dots", strings.Repeat(".", 10_000), false},
		{"oversized", strings.Repeat("a", MaxJWTLength) + ".b.c", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c *Claims
			var err error
			if elapsed := fastest(3, func() { c, err = v.Verify(tc.token) }); elapsed > 100*time.Millisecond {
				t.Errorf("verification took %v", elapsed)
			}
			if tc.ok {
				if err != nil {
					t.Fatalf("want accepted, got %v", err)
				}
				if c.Subject != "alice" || c.Email != "alice@example.com" || !c.IsAdmin() {
					t.Errorf("claims not read: %+v", c)
				}
				return
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("want ErrInvalidToken, got %v (claims %+v)", err, c)
			}
		})
	}
}

// jwksServer serves a key set with an RSA, an EC and an Ed25519 key.
type jwksKeys struct {
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
	ed  ed25519.PrivateKey
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func startJWKS(t *testing.T) (*httptest.Server, jwksKeys) {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pad := func(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
	set := map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig", "n": b64(rk.N.Bytes()), "e": b64(big.NewInt(int64(rk.E)).Bytes())},
		{"kty": "EC", "kid": "ec-1", "alg": "ES256", "use": "sig", "crv": "P-256", "x": b64(pad(ek.X.Bytes())), "y": b64(pad(ek.Y.Bytes()))},
		{"kty": "OKP", "kid": "ed-1", "alg": "EdDSA", "use": "sig", "crv": "Ed25519", "x": b64(edk.Public().(ed25519.PublicKey))},
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	return srv, jwksKeys{rsa: rk, ec: ek, ed: edk}
}

func TestJWKSVerification(t *testing.T) {
	srv, keys := startJWKS(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v, err := NewJWTVerifier(ctx, JWTConfig{JWKSURL: srv.URL, Audience: "credkeep", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&keys.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		token string
		ok    bool
	}{
		{"RS256", sign(t, jwt.SigningMethodRS256, keys.rsa, claims(nil), "rsa-1"), true},
		{"ES256", sign(t, jwt.SigningMethodES256, keys.ec, claims(nil), "ec-1"), true},
		{"EdDSA", sign(t, jwt.SigningMethodEdDSA, keys.ed, claims(nil), "ed-1"), true},
		// Algorithm confusion: the public key (PEM, as published) used as an HMAC secret.
		{"HS256 signed with the RSA public key", sign(t, jwt.SigningMethodHS256, pubPEM, claims(nil), "rsa-1"), false},
		{"HS256 signed with the RSA modulus", sign(t, jwt.SigningMethodHS256, keys.rsa.N.Bytes(), claims(nil), "rsa-1"), false},
		{"kid not in the key set", sign(t, jwt.SigningMethodRS256, other, claims(nil), "unknown"), false},
		{"signed by another key under a known kid", sign(t, jwt.SigningMethodRS256, other, claims(nil), "rsa-1"), false},
		{"alg differs from the key's alg", sign(t, jwt.SigningMethodES256, keys.ec, claims(nil), "rsa-1"), false},
		{"expired", sign(t, jwt.SigningMethodRS256, keys.rsa, claims(func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(testNow.Add(-time.Hour)) }), "rsa-1"), false},
		{"wrong audience", sign(t, jwt.SigningMethodRS256, keys.rsa, claims(func(c *Claims) { c.Audience = jwt.ClaimStrings{"x"} }), "rsa-1"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if elapsed := fastest(3, func() { _, err = v.Verify(tc.token) }); elapsed > 2*time.Second {
				t.Errorf("verification took %v", elapsed)
			}
			if tc.ok && err != nil {
				t.Fatalf("want accepted, got %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("want ErrInvalidToken, got %v", err)
			}
		})
	}
}

func TestMintHS256RoundTrip(t *testing.T) {
	tok, err := MintHS256(testSecret, MintOptions{Subject: "alice", Email: "alice@example.com", Admin: true,
		TTL: time.Hour, Issuer: "https://idp.test", Audience: "credkeep", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	c, err := hsVerifier(t).Verify(tok.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "alice" || !c.IsAdmin() || !c.ExpiresAt.Time.Equal(testNow.Add(time.Hour)) {
		t.Errorf("claims: %+v", c)
	}
	if _, err := MintHS256(redact.Secret{}, MintOptions{Subject: "a", TTL: time.Hour}); err == nil {
		t.Error("minting without a secret must fail")
	}
}

// A verified token is remembered: the same token again is not parsed, a
// remembered token is still refused once it expires, and it is parsed again
// after jwtCacheMaxAge.
func TestVerifiedTokensAreRemembered(t *testing.T) {
	now := testNow
	v, err := NewJWTVerifier(context.Background(), JWTConfig{Secret: testSecret, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	parses := 0
	inner := v.keyfunc
	v.keyfunc = func(tok *jwt.Token) (any, error) { parses++; return inner(tok) }
	token := func(exp time.Time) string {
		return sign(t, jwt.SigningMethodHS256, []byte(testSecret.Reveal()), claims(func(c *Claims) { c.ExpiresAt = jwt.NewNumericDate(exp) }), "")
	}
	verify := func(tok string, want bool) {
		t.Helper()
		c, err := v.Verify(tok)
		if want && (err != nil || c.Subject != "alice") {
			t.Fatalf("at +%v: want alice, got %v, %v", now.Sub(testNow), c, err)
		}
		if !want && !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("at +%v: want refused, got %v", now.Sub(testNow), err)
		}
	}

	long := token(testNow.Add(time.Hour))
	verify(long, true)
	verify(long, true)
	if parses != 1 {
		t.Fatalf("%d parses for two verifications of one token, want 1", parses)
	}
	now = testNow.Add(jwtCacheMaxAge + time.Second)
	verify(long, true)
	if parses != 2 {
		t.Fatalf("%d parses after the cache age, want 2", parses)
	}

	// Expired 20 s ago: accepted within the leeway, and remembered.
	now = testNow
	ending := token(testNow.Add(-20 * time.Second))
	verify(ending, true)
	now = testNow.Add(11 * time.Second) // past exp + leeway, well within the cache age
	verify(ending, false)
}

func fastest(n int, fn func()) time.Duration { return timing.Fastest(n, 10*time.Millisecond, fn) }
