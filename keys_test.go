package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"credkeep/internal/config"
	"credkeep/internal/keyfile"
	"credkeep/internal/redact"
	"credkeep/kms"
	"credkeep/kms/kmstest"
	"credkeep/storage"
	"credkeep/storage/embedded"
	"credkeep/storage/storagetest"
)

// TestKeysRewrap: `credkeep keys rewrap` moves a development server's data
// keys from its local key (data/master.key) to a KMIP server, records it in
// the platform log, and afterwards the secrets are read with KMIP alone; a
// second run finds nothing left to do; then they go back to the local key.
func TestKeysRewrap(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	local, _, err := keyfile.LoadOrCreate(filepath.Join(dir, "master.key"), config.MasterKeyLen)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{}
	withDB := func(fn func(db *storagetest.DB)) {
		e, err := embedded.Start(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Stop()
		fn(&storagetest.DB{Dir: dir, Embedded: e, Name: "credkeep", MasterKey: local})
	}
	withDB(func(db *storagetest.DB) {
		s, err := storage.Open(ctx, storage.Options{Embedded: db.Embedded, DBName: db.Name, MasterKey: local})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(ctx)
		for i := range 3 {
			ws := fmt.Sprintf("ws-%d", i)
			if err := s.CreateDataKey(ctx, ws); err != nil {
				t.Fatal(err)
			}
			id := fmt.Sprintf("cred-%d", i)
			now := time.Now().UTC()
			c := storage.Credential{ID: id, WorkspaceID: ws, Name: id, NameKey: id, Type: "custom", OwnerID: "u",
				Fields: map[string]string{}, SecretKeys: []string{"token"}, CreatedAt: now, UpdatedAt: now}
			secrets[id] = fmt.Sprintf("the-secret-of-%d", i)
			if err := s.InsertCredential(ctx, c, map[string]redact.Secret{"token": redact.New(secrets[id])}); err != nil {
				t.Fatal(err)
			}
		}
	})

	srv := kmstest.StartKMIP(t)
	t.Setenv("CREDKEEP_DATA_DIR", dir)
	t.Setenv("CREDKEEP_KMS_PROVIDER", "kmip")
	t.Setenv("CREDKEEP_KMS_KMIP_ENDPOINT", srv.Addr)
	t.Setenv("CREDKEEP_KMS_TLS_CA", srv.CA)
	t.Setenv("CREDKEEP_KMS_TLS_CERT", srv.Cert)
	t.Setenv("CREDKEEP_KMS_TLS_KEY", srv.Key)
	for i, want := range []string{"done: 3 data keys re-wrapped", "done: 0 data keys re-wrapped"} {
		var out, errOut bytes.Buffer
		if code := run([]string{"keys", "rewrap"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), want) {
			t.Fatalf("run %d: exit %d, stdout %q, stderr %q", i+1, code, out.String(), errOut.String())
		}
	}

	settings, err := kms.New(srv.Config(), redact.Bytes{})
	if err != nil {
		t.Fatal(err)
	}
	withDB(func(db *storagetest.DB) {
		s := db.OpenWithKMS(t, settings) // KMIP only: the local key is not needed any more
		for id, want := range secrets {
			_, sealed, err := s.SealedCredential(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Unseal(ctx, sealed)
			if err != nil || got["token"].Reveal() != want {
				t.Errorf("%s: %v %q", id, err, got["token"].Reveal())
			}
		}
		entries, err := db.Raw(t).DumpAudit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, e := range entries {
			if strings.Contains(e, `"MASTER_KEY_REWRAPPED"`) && strings.Contains(e, `"_platform"`) {
				found++
			}
		}
		if found != 2 {
			t.Errorf("%d MASTER_KEY_REWRAPPED entries in the platform log, want 2: %v", found, entries)
		}
		s.Close(ctx)
	})

	// And back to the development server's local key (data/master.key), the KMIP settings still set.
	t.Setenv("CREDKEEP_KMS_PROVIDER", "local")
	var out, errOut bytes.Buffer
	if code := run([]string{"keys", "rewrap"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "done: 3 data keys re-wrapped") {
		t.Fatalf("back to local: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	withDB(func(db *storagetest.DB) {
		s := db.OpenWithKMS(t, kms.Local(local))
		for id, want := range secrets {
			_, sealed, err := s.SealedCredential(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.Unseal(ctx, sealed); err != nil || got["token"].Reveal() != want {
				t.Errorf("%s with the local key alone: %v", id, err)
			}
		}
		s.Close(ctx)
	})
}
