// Package tokenformat makes and checks API token strings (SPEC.md §1): "ck_", 40
// random base62 characters, and 6 base62 characters of the CRC32 (IEEE) of
// those 40, so that secret scanners can recognise and verify a token offline
// and credkeep refuses a mistyped or forged one without a database lookup.
package tokenformat

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"

	"credkeep/internal/redact"
)

// Shape of a token.
const (
	Prefix       = "ck_"
	randomLen    = 40
	checksumLen  = 6
	Len          = len(Prefix) + randomLen + checksumLen
	publicPrefix = 8 // ApiToken.prefix: the first 8 characters
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Generate returns a new random token.
func Generate() (redact.Secret, error) {
	body := make([]byte, 0, randomLen)
	var buf [64]byte
	for len(body) < randomLen {
		if _, err := rand.Read(buf[:]); err != nil {
			return redact.Secret{}, err
		}
		for _, b := range buf {
			// Rejection sampling: 248 = 4*62, so every character is equally likely.
			if b < 248 && len(body) < randomLen {
				body = append(body, alphabet[b%62])
			}
		}
	}
	return redact.New(Prefix + string(body) + checksum(string(body))), nil
}

// checksum is the base62 CRC32 of s, left-padded with '0' to 6 characters.
func checksum(s string) string {
	n := crc32.ChecksumIEEE([]byte(s))
	out := []byte("000000")
	for i := checksumLen - 1; i >= 0 && n > 0; i-- {
		out[i] = alphabet[n%62]
		n /= 62
	}
	return string(out)
}

// Looks reports whether s has the shape of a credkeep token (prefix only), so
// that an Authorization header can be routed to token checking.
func Looks(s string) bool { return len(s) >= len(Prefix) && s[:len(Prefix)] == Prefix }

// Valid reports whether s is well-formed with a correct checksum.
func Valid(s string) bool {
	if len(s) != Len || !Looks(s) {
		return false
	}
	body := s[len(Prefix) : len(Prefix)+randomLen]
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return checksum(body) == s[len(Prefix)+randomLen:]
}

// Hash is the stored form of a token: the hex SHA-256 of the whole string.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// PublicPrefix is the part of a token shown in lists: its first 8 characters.
func PublicPrefix(s string) string { return s[:publicPrefix] }
