package tokenformat

import "testing"

// FuzzValid: any string is accepted or refused without panicking, and only
// strings of the token's exact shape with a matching checksum are accepted.
func FuzzValid(f *testing.F) {
	tok, _ := Generate()
	for _, s := range []string{tok.Reveal(), "", "ck_", "ck_" + string(make([]byte, 46)), tok.Reveal()[:48] + "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Valid(s) {
			if len(s) != Len || s[:3] != Prefix || checksum(s[3:43]) != s[43:] {
				t.Fatalf("accepted a malformed token %q", s)
			}
		}
	})
}
