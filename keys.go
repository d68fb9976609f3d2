package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"credkeep/audit"
	"credkeep/internal/config"
	"credkeep/internal/logging"
	"credkeep/kms"
	"credkeep/storage"
	"credkeep/storage/embedded"
)

// rewrapBatch is how many data keys one re-wrap write moves: the embedded
// database stopped answering a bulk update of 100 key documents (80 pass).
const rewrapBatch = 50

// keysCommand is `credkeep keys rewrap` (SPEC.md §11): every data key
// re-wrapped under the master key the CREDKEEP_KMS_* settings name now.
func keysCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] != "rewrap" {
		fmt.Fprintln(stderr, "credkeep keys: usage: credkeep keys rewrap")
		return exitConfig
	}
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "credkeep keys: %v\n", err)
		return exitConfig
	}
	if cfg.KMS.Provider == "local" && cfg.KMS.OldMasterKey.Len() > 0 {
		// libmongocrypt before 1.9 knows one local key at a time; Debian 12 ships 1.7.
		fmt.Fprintln(stderr, "credkeep keys: from one local master key to another is not possible with this libmongocrypt "+
			"(one local key at a time): re-wrap to a KMS, or through KMIP and back")
		return exitConfig
	}
	// The local key: the new master key (local), or the one being left (another provider).
	local := cfg.KMS.OldMasterKey
	if local.Len() == 0 {
		if local, err = localKey(cfg); err != nil {
			return configError(stderr, "CREDKEEP_DATA_DIR", err)
		}
	}
	settings, err := kms.New(cfg.KMS, local)
	if err != nil {
		return kmsConfigError(stderr, err)
	}
	log := logging.New(stderr, cfg.LogFormat, cfg.LogLevel)
	ctx := context.Background()
	var db storage.Embedded
	if cfg.Embedded() {
		// The embedded database serves one process: while the server runs,
		// Start refuses the data directory and says so.
		e, err := embedded.Start(cfg.DataDir, logging.AtLeast(log, slog.LevelError))
		if err != nil {
			return configError(stderr, "CREDKEEP_DATA_DIR", fmt.Errorf("%w (stop the server first)", err))
		}
		defer e.Stop()
		db = e
	}
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	store, err := storage.Open(openCtx, storage.Options{URI: cfg.MongoURI, Embedded: db, DBName: cfg.DBName, KMS: &settings, Logger: log})
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "credkeep keys: %v\n", err)
		return exitFailure
	}
	defer store.Close(context.Background())

	done, err := store.RewrapDataKeys(ctx, rewrapBatch, func(n int) error {
		fmt.Fprintf(stdout, "re-wrapped %d data keys\n", n)
		return nil
	})
	if err != nil {
		fmt.Fprintf(stderr, "credkeep keys: after %d data keys: %v (run it again to go on)\n", done, err)
		return exitFailure
	}
	left, err := store.DataKeysNotUnderMasterKey(ctx)
	if err != nil || left > 0 {
		fmt.Fprintf(stderr, "credkeep keys: %d data keys are not under the new master key yet (%v): run it again\n", left, err)
		return exitFailure
	}
	entry := audit.Entry{Action: audit.MasterKeyRewrapped, Outcome: audit.Success, TargetType: "MASTER_KEY", TargetName: settings.Provider,
		Details: []storage.AuditDetail{audit.Detail("provider", settings.Provider), audit.Detail("rewrapped", strconv.Itoa(done))}}
	if err := audit.NewLog(store, time.Now, nil).Record(ctx, entry); err != nil {
		fmt.Fprintf(stderr, "credkeep keys: every data key is re-wrapped, but the platform log did not take the record: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "done: %d data keys re-wrapped; every data key is under the %s master key\n", done, settings.Provider)
	return 0
}
