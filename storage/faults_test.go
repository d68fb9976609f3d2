package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"credkeep/storage"
	"credkeep/storage/storagetest"
)

// TestOutageIsNeverNotFound: while the database is unreachable every read
// fails with an error that is not ErrNotFound (an outage must never read as
// "no such token" or "no such member"), and the Store recovers by itself.
func TestOutageIsNeverNotFound(t *testing.T) {
	faults := storagetest.Start(t).WithFaults(t)
	s := faults.Open(t)
	ctx := context.Background()
	if err := s.InsertWorkspace(ctx, storage.Workspace{ID: "ws", Name: "ws", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	reads := map[string]func(context.Context) error{
		"Workspace":      func(ctx context.Context) error { _, err := s.Workspace(ctx, "ws"); return err },
		"Member":         func(ctx context.Context) error { _, err := s.Member(ctx, "ws", "alice"); return err },
		"Credential":     func(ctx context.Context) error { _, err := s.Credential(ctx, "c1"); return err },
		"APITokenByHash": func(ctx context.Context) error { _, err := s.APITokenByHash(ctx, "h"); return err },
		"ReadEpochs":     func(ctx context.Context) error { _, err := s.ReadEpochs(ctx); return err },
		"AuditHead":      func(ctx context.Context) error { _, err := s.AuditHead(ctx, "ws"); return err },
	}
	faults.Outage()
	for name, read := range reads {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := read(ctx)
		cancel()
		if err == nil {
			t.Errorf("%s succeeded during an outage", name)
		}
		if errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s read an outage as ErrNotFound", name)
		}
	}
	faults.Heal()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Workspace(ctx, "ws")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Store did not recover after the outage: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestInjectedCommandFailure: a failing command fails only its own collection.
func TestInjectedCommandFailure(t *testing.T) {
	faults := storagetest.Start(t).WithFaults(t)
	s := faults.Open(t)
	ctx := context.Background()
	faults.Fail("insert", "workspaces")
	err := s.InsertWorkspace(ctx, storage.Workspace{ID: "ws", Name: "ws", CreatedAt: time.Now()})
	if err == nil {
		t.Fatal("an insert into workspaces succeeded while failing")
	}
	if err := s.InsertMember(ctx, storage.Member{WorkspaceID: "ws", UserID: "alice", Role: "OWNER", AddedAt: time.Now()}); err != nil {
		t.Fatalf("an insert into members failed: %v", err)
	}
	faults.Heal()
	if _, err := s.Workspace(ctx, "ws"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the failed insert left a workspace behind: %v", err)
	}
}

// TestCloseWaitsForRunningOperations: the driver frees libmongocrypt's state
// when a client disconnects, under a reply still being decrypted (a crash in C
// when background work outlived its Store), so Close waits for what runs: a
// read whose reply is delayed completes, and Close returns after it.
func TestCloseWaitsForRunningOperations(t *testing.T) {
	faults := storagetest.Start(t).WithFaults(t)
	s := faults.Open(t)
	ctx := context.Background()
	if err := s.InsertWorkspace(ctx, storage.Workspace{ID: "ws", Name: "ws", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	const delay = 500 * time.Millisecond
	faults.SlowReply("find", "workspaces", delay)
	read := make(chan error, 1)
	started := time.Now()
	go func() {
		_, err := s.Workspace(ctx, "ws")
		read <- err
	}()
	time.Sleep(delay / 5) // the find is on its way
	s.Close(ctx)
	closed := time.Since(started)
	select {
	case err := <-read:
		if err != nil {
			t.Fatalf("the read running when Close began failed: %v", err)
		}
	default:
		t.Fatal("Close returned while a read was still running")
	}
	if closed < delay {
		t.Errorf("Close returned after %v, before the delayed reply (%v)", closed, delay)
	}
}
