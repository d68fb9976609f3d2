package authn

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"credkeep/apitoken/tokenformat"
)

// BenchmarkJWTVerify verifies an HS256 user token (iss and aud checked).
// BenchmarkJWTVerify: a token's first verification (signature and claims) and
// a remembered one (the SHA-256 lookup and the expiry check).
func BenchmarkJWTVerify(b *testing.B) {
	tok := sign(b, jwt.SigningMethodHS256, []byte(testSecret.Reveal()), claims(nil), "")
	for _, first := range []bool{true, false} {
		name := map[bool]string{true: "first", false: "remembered"}[first]
		b.Run(name, func(b *testing.B) {
			v := hsVerifier(b)
			for i := 0; i < b.N; i++ {
				if first {
					v.verified.Purge()
				}
				if _, err := v.Verify(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAPITokenCheck is what an API token costs before its (cached) record:
// the checksum and the SHA-256 that is its _id.
func BenchmarkAPITokenCheck(b *testing.B) {
	tok, err := tokenformat.Generate()
	if err != nil {
		b.Fatal(err)
	}
	s := tok.Reveal()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !tokenformat.Valid(s) || tokenformat.Hash(s) == "" {
			b.Fatal("invalid")
		}
	}
}
