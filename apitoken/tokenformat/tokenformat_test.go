package tokenformat

import (
	"hash/crc32"
	"strings"
	"testing"
)

func TestGenerateIsValid(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		tok, err := Generate()
		if err != nil {
			t.Fatal(err)
		}
		s := tok.Reveal()
		if len(s) != 49 || !strings.HasPrefix(s, "ck_") || !Valid(s) {
			t.Fatalf("bad token %q", s)
		}
		if seen[s] {
			t.Fatal("duplicate token")
		}
		seen[s] = true
		if PublicPrefix(s) != s[:8] || len(Hash(s)) != 64 {
			t.Fatal("prefix or hash")
		}
	}
}

func TestChecksumIsBase62CRC32(t *testing.T) {
	body := strings.Repeat("a", 40)
	n := crc32.ChecksumIEEE([]byte(body))
	// Decode the 6 characters back and compare with the CRC.
	var got uint64
	for _, c := range checksum(body) {
		got = got*62 + uint64(strings.IndexRune(alphabet, c))
	}
	if got != uint64(n) {
		t.Fatalf("checksum decodes to %d, CRC32 is %d", got, n)
	}
	// Small CRCs are left-padded with '0'.
	if c := checksum(""); c != "000000" { // CRC32("") == 0
		t.Fatalf("checksum of empty = %q", c)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	tok, _ := Generate()
	s := tok.Reveal()
	for i := 3; i < len(s); i++ {
		for _, r := range []byte{'0', 'Z', 'z'} {
			if s[i] == r {
				continue
			}
			b := []byte(s)
			b[i] = r
			if Valid(string(b)) {
				// A collision is possible in principle for a 32-bit CRC, never for one character.
				t.Fatalf("changing character %d to %c still validates", i, r)
			}
		}
	}
	for _, bad := range []string{"", "ck_", s[:48], s + "0", "xx_" + s[3:], strings.Replace(s, s[10:11], "-", 1)} {
		if Valid(bad) {
			t.Errorf("Valid(%q) = true", bad)
		}
	}
}
