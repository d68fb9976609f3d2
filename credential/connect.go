package credential

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/url"
	"slices"
	"time"

	"credkeep/audit"
	"credkeep/authn"
	"credkeep/authz"
	"credkeep/connection"
	"credkeep/internal/apierror"
	"credkeep/internal/redact"
	"credkeep/provider"
	"credkeep/storage"
)

// Connector talks to providers (connection.Manager).
type Connector interface {
	Test(ctx context.Context, c connection.Cred) connection.Result
	Token(ctx context.Context, c connection.Cred, force bool) (connection.Token, error)
	UsesAuthorizationCode(c connection.Cred) bool
	AuthURL(c connection.Cred, state string, verifier redact.Secret) (string, error)
	Exchange(ctx context.Context, c connection.Cred, code string, verifier redact.Secret, by string) error
}

// stateTTL is how long an authorization may take (SPEC: 10 minutes).
const stateTTL = 10 * time.Minute

// connCred is what a connection needs of a credential and its decrypted secrets.
func connCred(c storage.Credential, secrets map[string]redact.Secret) connection.Cred {
	return connection.Cred{ID: c.ID, WorkspaceID: c.WorkspaceID, Type: c.Type, Fields: c.Fields, Secrets: secrets}
}

// requireConn is require for a connection: the credential and its secrets in one read.
func (s *Service) requireConn(ctx context.Context, id string, need authz.Level, scope authn.Scope) (View, connection.Cred, error) {
	v, secrets, err := s.requireFull(ctx, id, need, scope)
	if err != nil {
		return View{}, connection.Cred{}, err
	}
	return v, connCred(v.Credential, secrets), nil
}

// TestResult is testCredential's answer.
type TestResult struct {
	OK       bool
	Message  string
	TestedAt time.Time
	View     View
}

// Test checks a credential against its provider (MANAGE); the outcome sets
// lastTestedAt and the status, and is audited. pending tests its staged
// secrets instead (see staging.go).
func (s *Service) Test(ctx context.Context, id string, pending bool) (TestResult, error) {
	if pending {
		return s.testPending(ctx, id)
	}
	v, cc, err := s.requireConn(ctx, id, authz.LevelManage, authn.ScopeWrite)
	if err != nil {
		return TestResult{}, err
	}
	if !v.Type.Testable {
		return TestResult{}, apierror.Invalid("id", "%s credentials cannot be tested", v.Type.Name)
	}
	res := s.conn.Test(ctx, cc)
	now := s.now().UTC().Truncate(time.Millisecond)
	lastError := ""
	outcome := audit.Success
	if !res.OK {
		lastError, outcome = "test failed: "+res.Message, audit.Failure
	}
	if err := s.audit.Record(ctx, withOutcome(credentialEntry(v.Credential, audit.CredentialTested, audit.Detail("result", res.Message)), outcome)); err != nil {
		return TestResult{}, err
	}
	if err := s.store.SetCredentialCheck(ctx, v.Credential.WorkspaceID, id, &now, lastError); err != nil {
		return TestResult{}, err
	}
	v.Credential.LastTestedAt, v.Credential.LastError = &now, lastError
	return TestResult{OK: res.OK, Message: res.Message, TestedAt: now, View: v}, nil
}

// Refresh obtains a new access token now (MANAGE): a refresh, or a new
// client-credentials token. A refusal by the provider is not an error of this
// call: it shows in the credential's status, and is audited as a FAILURE.
func (s *Service) Refresh(ctx context.Context, id string) (View, error) {
	v, cc, err := s.requireConn(ctx, id, authz.LevelManage, authn.ScopeWrite)
	if err != nil {
		return View{}, err
	}
	if !v.Type.OAuth.Refreshable() {
		return View{}, apierror.Invalid("id", "%s credentials have no token to refresh", v.Type.Name)
	}
	_, terr := s.conn.Token(ctx, cc, true)
	outcome, msg := audit.Success, "refreshed"
	if terr != nil {
		outcome, msg = audit.Failure, terr.Error()
		if !errors.Is(terr, connection.ErrReauthorize) {
			if err := s.store.SetCredentialCheck(ctx, v.Credential.WorkspaceID, id, nil, "refresh failed: "+msg); err != nil {
				return View{}, err
			}
		}
	}
	if err := s.audit.Record(ctx, withOutcome(credentialEntry(v.Credential, audit.CredentialRefreshed, audit.Detail("result", msg)), outcome)); err != nil {
		return View{}, err
	}
	c, err := s.store.Credential(ctx, id)
	if err != nil {
		return View{}, err
	}
	v.Credential = c
	return v, nil
}

// Authorization is a started authorization-code flow.
type Authorization struct {
	URL       string
	State     string
	ExpiresAt time.Time
}

// StartAuthorization begins the authorization-code flow (MANAGE): a single-use
// state valid 10 minutes, and a PKCE verifier kept encrypted until the callback.
//
// returnTo, when set, is where the callback sends the person back (303) with
// the outcome: an absolute URL of an allowed origin (AllowReturnTo).
func (s *Service) StartAuthorization(ctx context.Context, id, returnTo string) (Authorization, error) {
	v, cc, err := s.requireConn(ctx, id, authz.LevelManage, authn.ScopeWrite)
	if err != nil {
		return Authorization{}, err
	}
	if returnTo != "" && !s.allowedReturn(returnTo) {
		return Authorization{}, apierror.InvalidBecause("returnTo", apierror.ReasonInvalidValue, nil,
			"returnTo must be an absolute URL of an allowed origin (CREDKEEP_CORS_ORIGINS)")
	}
	p, _ := authn.RequirePrincipal(ctx)
	if v.Type.AuthKind != provider.OAuth2 || !s.conn.UsesAuthorizationCode(cc) {
		return Authorization{}, apierror.Invalid("credentialId", "this credential does not use the authorization-code flow")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Authorization{}, err
	}
	state := base64.RawURLEncoding.EncodeToString(raw)
	verifier := connection.NewVerifier()
	u, err := s.conn.AuthURL(cc, state, verifier)
	if err != nil {
		return Authorization{}, err
	}
	exp := s.now().UTC().Add(stateTTL).Truncate(time.Millisecond)
	entry := credentialEntry(v.Credential, audit.CredentialAuthorizationStarted, audit.Detail("expiresAt", exp.Format(time.RFC3339)))
	if err := audit.Do(ctx, s.audit, entry, func() error {
		return s.store.InsertOAuthState(ctx, storage.OAuthState{ID: stateKey(state), CredentialID: id,
			WorkspaceID: v.Credential.WorkspaceID, UserID: p.UserID, Verifier: verifier, ExpiresAt: exp, ReturnTo: returnTo})
	}); err != nil {
		return Authorization{}, err
	}
	return Authorization{URL: u, State: state, ExpiresAt: exp}, nil
}

func stateKey(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

// AllowReturnTo sets the origins (scheme://host[:port]) an authorization may
// return to. Call it before the Service is used.
func (s *Service) AllowReturnTo(origins []string) { s.returnOrigins = origins }

func (s *Service) allowedReturn(returnTo string) bool {
	u, err := url.Parse(returnTo)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return false
	}
	return slices.Contains(s.returnOrigins, u.Scheme+"://"+u.Host)
}

// Completion is what the callback needs to answer the person.
type Completion struct {
	CredentialID, CredentialName string
	// ReturnTo is where to send the person back ("" for the callback's own page).
	ReturnTo string
}

// AuthorizationError is a reason an authorization did not complete that may be
// shown to the person at the callback page (it holds no secret and no
// internals), and the code of it that a returnTo redirect carries.
type AuthorizationError struct{ Reason, Code string }

func (e *AuthorizationError) Error() string { return e.Reason }

// ErrBadState is the callback's answer to an unknown, used or expired state.
var ErrBadState = &AuthorizationError{"this authorization link is unknown, already used or expired; start again", "bad_state"}

// ErrNoLongerAllowed is the callback's answer when the person who started the
// flow lost MANAGE access to the credential since.
var ErrNoLongerAllowed = &AuthorizationError{"you no longer have MANAGE access to this credential, so it was not connected; ask someone who manages it", "not_allowed"}

// CompleteAuthorization handles the provider's redirect: it consumes the state,
// exchanges the code (with the PKCE verifier) and stores the tokens. It returns
// what the callback tells the person (and where to send them back), whatever
// the outcome once the state is known.
func (s *Service) CompleteAuthorization(ctx context.Context, state, code, providerError string) (Completion, error) {
	if state == "" {
		return Completion{}, ErrBadState
	}
	st, err := s.store.TakeOAuthState(ctx, stateKey(state))
	if errors.Is(err, storage.ErrNotFound) {
		return Completion{}, ErrBadState
	}
	if err != nil {
		return Completion{}, err
	}
	if !s.now().Before(st.ExpiresAt) {
		return Completion{}, ErrBadState
	}
	out := Completion{CredentialID: st.CredentialID, ReturnTo: st.ReturnTo}
	name, err := s.complete(ctx, st, code, providerError)
	out.CredentialName = name
	return out, err
}

func (s *Service) complete(ctx context.Context, st storage.OAuthState, code, providerError string) (string, error) {
	// The person who started the flow is the actor of what follows.
	ctx = authn.WithPrincipal(ctx, &authn.Principal{UserID: st.UserID})
	c, sealed, err := s.store.SealedCredential(ctx, st.CredentialID)
	if errors.Is(err, storage.ErrNotFound) {
		return "", &AuthorizationError{"the credential was deleted", "credential_deleted"}
	}
	if err != nil {
		return "", err
	}
	secrets, err := s.store.Unseal(ctx, sealed)
	if err != nil {
		return "", err
	}
	cc := connCred(c, secrets)
	entry := credentialEntry(c, audit.CredentialAuthorized)
	// The person who started the flow must still manage the credential: a member
	// removed (or a grant revoked) since cannot finish what they began.
	level, err := s.authz.Level(ctx, &authn.Principal{UserID: st.UserID}, c.WorkspaceID, c.ID)
	if err != nil {
		return "", err
	}
	if level < authz.LevelManage {
		entry.Details = append(entry.Details, audit.Detail("reason", "the user who started it no longer has MANAGE"))
		if err := s.audit.Record(ctx, withOutcome(entry, audit.Denied)); err != nil {
			return "", err
		}
		return "", ErrNoLongerAllowed
	}
	var exErr error
	switch {
	case providerError != "":
		// Only an RFC 6749 code is repeated; the rest of the redirect is the provider's text.
		reason, reasonCode := "the provider did not authorize", "provider_refused"
		if code := connection.OAuthErrorCode(providerError); code != "" {
			reason += " (" + code + ")"
			reasonCode = code
		}
		exErr = &AuthorizationError{reason, reasonCode}
	case code == "":
		exErr = &AuthorizationError{"the provider sent no authorization code", "no_code"}
	default:
		if err := s.conn.Exchange(ctx, cc, code, st.Verifier, st.UserID); err != nil {
			exErr = &AuthorizationError{err.Error(), "exchange_failed"}
		}
	}
	if exErr != nil {
		_ = s.store.SetCredentialCheck(ctx, c.WorkspaceID, c.ID, nil, "authorization failed: "+exErr.Error())
		if err := s.audit.Record(ctx, withOutcome(entry, audit.Failure)); err != nil {
			return "", err
		}
		return c.Name, exErr
	}
	if err := s.audit.Record(ctx, entry); err != nil {
		return "", err
	}
	return c.Name, nil
}

// withOutcome returns the entry with another outcome.
func withOutcome(e audit.Entry, o audit.Outcome) audit.Entry {
	e.Outcome = o
	return e
}
