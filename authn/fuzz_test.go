package authn

import (
	"context"
	"errors"
	"testing"
)

// FuzzVerify: whatever the Authorization header holds, verification ends in
// claims or ErrInvalidToken, never a panic, and never accepts an unsigned token.
func FuzzVerify(f *testing.F) {
	v, err := NewJWTVerifier(context.Background(), JWTConfig{Secret: testSecret, Now: clock})
	if err != nil {
		f.Fatal(err)
	}
	good, _ := MintHS256(testSecret, MintOptions{Subject: "alice", TTL: 3600e9, Now: testNow})
	for _, s := range []string{good.Reveal(), "", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.", "....", good.Reveal() + "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := v.Verify(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error not wrapping ErrInvalidToken: %v", err)
			}
			return
		}
		if s != good.Reveal() && c.Subject == "" {
			t.Fatalf("accepted %q without a subject", s)
		}
	})
}
