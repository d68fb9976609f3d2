package workspace

import (
	"context"
	"errors"
	"fmt"
	"time"

	"credkeep/audit"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/internal/apierror"
	"credkeep/internal/loaders"
	"credkeep/storage"
)

// KeyStore is what a workspace key rotation needs from storage (see
// storage/rotation.go for the steps and why each is safe to interrupt).
type KeyStore interface {
	BeginKeyRotation(ctx context.Context, workspaceID string, now time.Time) (storage.KeyRotation, error)
	SwitchDataKey(ctx context.Context, workspaceID string, rot storage.KeyRotation) error
	ReencryptWorkspace(ctx context.Context, workspaceID, key string, batch int) (int, error)
	DeleteDataKeyNamed(ctx context.Context, name string) error
	FinishKeyRotation(ctx context.Context, workspaceID string, rot storage.KeyRotation, now time.Time) (bool, error)
	WorkspacesRotatingKeys(ctx context.Context) ([]string, error)
}

const (
	// reencryptBatch is how many re-encrypted values go in one database write.
	// Under 100: the embedded database (FerretDB v1.24) stops answering an
	// update command of 100 updates (it holds a SQLite connection per update
	// until the command ends, and its pool runs dry).
	reencryptBatch = 50
	// keyRotationGrace is how long a rotation waits, after re-encrypting
	// everything, before a last pass and the old key's deletion: a request that
	// read the old key's name, or a cached ciphertext under it, before the
	// switch has finished by then. (A writer that lands later still seals
	// again under the new key itself; the wait covers one that crashes first.)
	keyRotationGrace = 2 * time.Second
	// rotateWait is how long rotateWorkspaceKey waits for the rotation before
	// it answers with the rotation still running (requests get 30 s).
	rotateWait = 20 * time.Second
)

// RotateKey gives a workspace a new data key (OWNER): every secret is
// re-encrypted under it and the old key destroyed, so what the old key
// protected (a backup, a leaked key vault copy) is unreadable from then on.
// Each step is recorded in the workspace before it is taken and is safe to
// repeat, so a rotation interrupted anywhere (a crash, an outage) leaves every
// secret readable, and calling RotateKey again finishes it.
//
// The rotation runs apart from the request: it answers when the rotation is
// done, or after rotateWait with the rotation still running (the workspace's
// keyRotationStartedAt says so; a large workspace under load takes longer
// than a request may). A call while one runs joins it.
func (s *Service) RotateKey(ctx context.Context, id string) (View, error) {
	_, role, err := s.Require(ctx, id, authz.ActWorkspaceRotateKey, authn.ScopeWorkspacesAdmin)
	if err != nil {
		return View{}, err
	}
	name := ""
	if w, err := loaders.From(ctx, s.store, nil).Workspaces.Load(ctx, id); err == nil {
		name = w.Name
	}
	entry := workspaceEntry(id, name, audit.WorkspaceKeyRotated)
	if err := s.audit.Record(ctx, entry); err != nil {
		return View{}, err // nothing is changed that is not on record
	}
	run := s.startRotation(context.WithoutCancel(ctx), id, entry)
	select {
	case <-run.done:
		if run.err != nil {
			return View{}, run.err
		}
	case <-time.After(rotateWait):
	case <-ctx.Done():
		return View{}, ctx.Err()
	}
	loaders.From(ctx, s.store, nil).Workspaces.Clear(id)
	ws, err := s.store.WorkspacesByID(ctx, []string{id})
	if err != nil {
		return View{}, err
	}
	if len(ws) == 0 {
		return View{}, apierror.NotFoundErr("workspace")
	}
	return viewOf(ws[0], role), nil
}

// rotation is one run of a workspace's key rotation in this process.
type rotation struct {
	done chan struct{}
	err  error // set before done is closed
}

// startRotation runs the workspace's rotation in the background, or returns
// the run already going. A failure is recorded (FAILURE after the entry).
func (s *Service) startRotation(ctx context.Context, id string, entry audit.Entry) *rotation {
	s.rotMu.Lock()
	defer s.rotMu.Unlock()
	if run, ok := s.rotations[id]; ok {
		return run
	}
	if s.rotations == nil {
		s.rotations = map[string]*rotation{}
	}
	run := &rotation{done: make(chan struct{})}
	s.rotations[id] = run
	go func() {
		n, err := s.rotateKey(ctx, id)
		if err != nil {
			failed := entry
			failed.Outcome = audit.Failure
			_ = s.audit.Record(ctx, failed)
			s.log.ErrorContext(ctx, "workspace key rotation stopped; calling rotateWorkspaceKey again resumes it", "workspace", id, "error", err)
		} else {
			s.log.InfoContext(ctx, "workspace key rotated", "workspace", id, "reencrypted", n)
		}
		s.rotMu.Lock()
		delete(s.rotations, id)
		s.rotMu.Unlock()
		run.err = err
		close(run.done)
	}()
	return run
}

// ResumeKeyRotations finishes, in the background, the rotations that a
// stopped process left in progress (at start-up); ctx bounds them (the
// server's life: one stopped again is resumed again).
func (s *Service) ResumeKeyRotations(ctx context.Context) error {
	ids, err := s.store.WorkspacesRotatingKeys(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		entry := workspaceEntry(id, "", audit.WorkspaceKeyRotated, audit.Detail("resumed", "true"))
		if err := s.audit.Record(ctx, entry); err != nil {
			return err
		}
		s.startRotation(ctx, id, entry)
	}
	return nil
}

// rotateKey runs (or resumes) the rotation and returns how many values it re-encrypted.
func (s *Service) rotateKey(ctx context.Context, id string) (int, error) {
	rot, err := s.store.BeginKeyRotation(ctx, id, s.now())
	if errors.Is(err, storage.ErrNotFound) {
		return 0, apierror.NotFoundErr("workspace")
	}
	if err != nil {
		return 0, err
	}
	if err := s.store.SwitchDataKey(ctx, id, rot); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return 0, nil // another caller finished this rotation meanwhile
		}
		return 0, err
	}
	total, err := s.reencryptAll(ctx, id, rot.To)
	if err != nil {
		return total, err
	}
	time.Sleep(keyRotationGrace)
	more, err := s.reencryptAll(ctx, id, rot.To)
	total += more
	if err != nil {
		return total, err
	}
	if err := s.store.DeleteDataKeyNamed(ctx, rot.From); err != nil {
		return total, err
	}
	if _, err := s.store.FinishKeyRotation(ctx, id, rot, s.now().UTC().Truncate(time.Millisecond)); err != nil {
		return total, err
	}
	return total, nil
}

// reencryptAll repeats passes until one finds every value under key (a pass
// skips values that changed while it ran; their writers sealed them under the
// current key, or the next pass does).
func (s *Service) reencryptAll(ctx context.Context, id, key string) (int, error) {
	total := 0
	for {
		n, err := s.store.ReencryptWorkspace(ctx, id, key, reencryptBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("re-encrypt workspace: %w", err)
		}
		if n == 0 {
			return total, nil
		}
	}
}
