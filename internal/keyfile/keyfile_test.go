package keyfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestCreateThenLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "master.key")
	k1, created, err := LoadOrCreate(path, 96)
	if err != nil || !created || k1.Len() != 96 {
		t.Fatalf("first call: created=%v len=%d err=%v", created, k1.Len(), err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", st.Mode().Perm())
	}
	k2, created, err := LoadOrCreate(path, 96)
	if err != nil || created || !bytes.Equal(k1.Reveal(), k2.Reveal()) {
		t.Fatalf("second call must return the same key: created=%v err=%v", created, err)
	}
}

func TestWrongLengthIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if _, _, err := LoadOrCreate(path, 32); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(path, 96); err == nil {
		t.Fatal("a 32-byte key file must not pass as a 96-byte key")
	}
}
