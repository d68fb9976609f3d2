package storage

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo/options"

	"credkeep/internal/redact"
)

const (
	colOAuthStates = "oauth_states"
	colLeases      = "leases"
)

// OAuthTokens are the tokens an OAuth2 credential obtained. They are stored as
// their own encrypted sub-document, apart from the fields a person typed, so a
// refresh and an edit of the fields never overwrite each other.
type OAuthTokens struct {
	AccessToken  redact.Secret
	RefreshToken redact.Secret
	ExpiresAt    *time.Time
	// ConnectedBy, when set, is the user whose authorization these tokens come
	// from: the connection (re)starts now. Otherwise they are a refresh (or a
	// client-credentials fetch, which connects the credential the first time).
	ConnectedBy string
	// Account is who the person connected as, when the provider said (with
	// ConnectedBy only; "" unknown).
	Account string
}

// oauthTokensDoc is the encrypted sub-document's shape.
type oauthTokensDoc struct {
	AccessToken  string `bson:"accessToken"`
	RefreshToken string `bson:"refreshToken,omitempty"`
}

// CredentialOAuthTokens returns a credential's tokens (zero when it has none).
func (s *Store) CredentialOAuthTokens(ctx context.Context, id string) (OAuthTokens, error) {
	var d struct {
		Tokens    *oauthTokensDoc `bson:"oauthTokens"`
		ExpiresAt *time.Time      `bson:"tokenExpiresAt"`
	}
	err := one(s.col(colCredentials).FindOne(ctx, bson.M{"_id": id},
		options.FindOne().SetProjection(bson.M{"oauthTokens": 1, "tokenExpiresAt": 1})), &d, "read oauth tokens")
	if err != nil {
		return OAuthTokens{}, err
	}
	t := OAuthTokens{ExpiresAt: d.ExpiresAt}
	if d.Tokens != nil {
		t.AccessToken, t.RefreshToken = redact.New(d.Tokens.AccessToken), redact.New(d.Tokens.RefreshToken)
	}
	return t, nil
}

// SetCredentialOAuthTokens stores new tokens (access and refresh together, in one
// write: a rotated refresh token is never saved without its access token) and
// clears the credential's error.
func (s *Store) SetCredentialOAuthTokens(ctx context.Context, workspaceID, id string, t OAuthTokens, now time.Time) error {
	set := bson.M{"updatedAt": now}
	update := bson.M{"$set": set, "$unset": bson.M{"lastError": ""}}
	unset := update["$unset"].(bson.M)
	if t.ConnectedBy != "" {
		set["connectedAt"], set["connectedBy"] = now, t.ConnectedBy
		if t.Account != "" {
			set["connectedAccount"] = t.Account
		} else {
			unset["connectedAccount"] = "" // a new connection: the old account no longer holds
		}
	} else {
		set["refreshedAt"] = now
		update["$min"] = bson.M{"connectedAt": now}
	}
	if t.ExpiresAt != nil {
		set["tokenExpiresAt"] = *t.ExpiresAt
	} else {
		unset["tokenExpiresAt"] = ""
	}
	tokens := oauthTokensDoc{AccessToken: t.AccessToken.Reveal(), RefreshToken: t.RefreshToken.Reveal()}
	return s.writeSealed(ctx, workspaceID, tokens, sealedAt{colCredentials, id, "oauthTokens"}, func(enc primitive.Binary) error {
		set["oauthTokens"] = enc
		res, err := s.col(colCredentials).UpdateOne(ctx, bson.M{"_id": id}, update)
		if err != nil {
			return fmt.Errorf("store oauth tokens: %w", err)
		}
		if res.MatchedCount == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// SetCredentialCheck records the outcome of a test or refresh: lastTestedAt
// (when tested is set) and the error message ("" clears it).
func (s *Store) SetCredentialCheck(ctx context.Context, workspaceID, id string, tested *time.Time, lastError string) error {
	set, unset := bson.M{}, bson.M{}
	if tested != nil {
		set["lastTestedAt"] = *tested
	}
	if lastError != "" {
		set["lastError"] = lastError
	} else {
		unset["lastError"] = ""
	}
	update := bson.M{}
	if len(set) > 0 {
		update["$set"] = set
	}
	if len(unset) > 0 {
		update["$unset"] = unset
	}
	_, err := s.col(colCredentials).UpdateOne(ctx, bson.M{"_id": id}, update)
	if err != nil {
		return fmt.Errorf("record check: %w", err)
	}
	return nil
}

// OAuthState is a pending authorization: single use, short-lived. Its _id is
// the SHA-256 of the state parameter; the PKCE verifier is encrypted.
type OAuthState struct {
	ID           string
	CredentialID string
	WorkspaceID  string
	UserID       string
	Verifier     redact.Secret
	ExpiresAt    time.Time
	// ReturnTo is where the callback sends the person back ("": its own page).
	ReturnTo string
}

// InsertOAuthState stores a pending authorization, its verifier encrypted.
func (s *Store) InsertOAuthState(ctx context.Context, st OAuthState) error {
	return s.writeSealed(ctx, st.WorkspaceID, st.Verifier.Reveal(), sealedAt{colOAuthStates, st.ID, "verifier"}, func(enc primitive.Binary) error {
		doc := bson.M{"_id": st.ID, "credentialId": st.CredentialID, "workspaceId": st.WorkspaceID,
			"userId": st.UserID, "verifier": enc, "expiresAt": st.ExpiresAt, "returnTo": st.ReturnTo}
		if _, err := s.col(colOAuthStates).InsertOne(ctx, doc); err != nil {
			return fmt.Errorf("store oauth state: %w", err)
		}
		return nil
	})
}

// TakeOAuthState removes and returns a pending authorization: a state is used once.
func (s *Store) TakeOAuthState(ctx context.Context, id string) (OAuthState, error) {
	var d struct {
		ID           string    `bson:"_id"`
		CredentialID string    `bson:"credentialId"`
		WorkspaceID  string    `bson:"workspaceId"`
		UserID       string    `bson:"userId"`
		Verifier     string    `bson:"verifier"` // decrypted on read
		ExpiresAt    time.Time `bson:"expiresAt"`
		ReturnTo     string    `bson:"returnTo"`
	}
	if err := one(s.col(colOAuthStates).FindOneAndDelete(ctx, bson.M{"_id": id}), &d, "take oauth state"); err != nil {
		return OAuthState{}, err
	}
	return OAuthState{ID: d.ID, CredentialID: d.CredentialID, WorkspaceID: d.WorkspaceID, UserID: d.UserID,
		Verifier: redact.New(d.Verifier), ExpiresAt: d.ExpiresAt, ReturnTo: d.ReturnTo}, nil
}

// AcquireLease takes the named lease until `until`, unless another holder has
// it and it has not expired. It reports whether the caller now holds it.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, until, now time.Time) (bool, error) {
	_, err := s.col(colLeases).InsertOne(ctx, bson.M{"_id": name, "holder": holder, "until": until})
	if err == nil {
		return true, nil
	}
	if !isDuplicateKey(err) {
		return false, fmt.Errorf("acquire lease: %w", err)
	}
	res, err := s.col(colLeases).UpdateOne(ctx, bson.M{"_id": name, "until": bson.M{"$lt": now}},
		bson.M{"$set": bson.M{"holder": holder, "until": until}})
	if err != nil {
		return false, fmt.Errorf("take over lease: %w", err)
	}
	return res.MatchedCount == 1, nil
}

// ExtendLease moves the end of a lease the caller holds to until; it reports
// false when the caller does not hold it (any more).
func (s *Store) ExtendLease(ctx context.Context, name, holder string, until time.Time) (bool, error) {
	res, err := s.col(colLeases).UpdateOne(ctx, bson.M{"_id": name, "holder": holder}, bson.M{"$set": bson.M{"until": until}})
	if err != nil {
		return false, fmt.Errorf("extend lease: %w", err)
	}
	return res.MatchedCount == 1, nil
}

// ReleaseLease gives up a lease the caller holds.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.col(colLeases).DeleteOne(ctx, bson.M{"_id": name, "holder": holder}); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return nil
}
