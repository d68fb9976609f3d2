// Package keyfile keeps development keys in files: created once with random
// bytes (mode 0600, never overwritten), read back on every start. Production
// passes keys through the environment instead.
package keyfile

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"credkeep/internal/redact"
)

// LoadOrCreate returns the n-byte key stored base64-encoded at path, creating the
// file with a new random key if it does not exist; created says which happened.
func LoadOrCreate(path string, n int) (key redact.Bytes, created bool, err error) {
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
			if err != nil || len(raw) != n {
				return redact.Bytes{}, false, fmt.Errorf("%s does not hold base64 of %d bytes", path, n)
			}
			return redact.NewBytes(raw), false, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return redact.Bytes{}, false, fmt.Errorf("read %s: %w", path, err)
		}
		raw := make([]byte, n)
		if _, err := rand.Read(raw); err != nil {
			return redact.Bytes{}, false, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return redact.Bytes{}, false, fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
		// O_EXCL: of two processes starting at once, one writes and the other
		// reads the winner's key on its next turn of the loop.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return redact.Bytes{}, false, fmt.Errorf("create %s: %w", path, err)
		}
		_, werr := f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			_ = os.Remove(path)
			return redact.Bytes{}, false, fmt.Errorf("write %s: %w", path, werr)
		}
		return redact.NewBytes(raw), true, nil
	}
}
