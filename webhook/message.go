package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"credkeep/internal/redact"
	"credkeep/storage"
)

// secretPrefix starts every signing secret (Standard Webhooks).
const secretPrefix = "whsec_"

// newSecret is whsec_ and the base64 of 32 random bytes.
func newSecret() (redact.Secret, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return redact.Secret{}, err
	}
	return redact.New(secretPrefix + base64.StdEncoding.EncodeToString(b)), nil
}

// signingKey is the HMAC key of a secret: its decoded bytes.
func signingKey(secret redact.Secret) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret.Reveal(), secretPrefix))
	if err != nil || len(key) == 0 {
		return nil, errors.New("webhook: malformed signing secret")
	}
	return key, nil
}

// sign is the webhook-signature header value of a message (Standard
// Webhooks): v1, and the base64 HMAC-SHA256 of "<id>.<timestamp>.<body>".
func sign(key []byte, id string, at time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(at.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// message is what a webhook receives (SPEC.md §12). Audit entries hold names
// and ids, never a secret value, and so does this.
type message struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      entryData `json:"data"`
}

// entryData is an AuditEntry as the GraphQL API shows it, plus workspaceId.
type entryData struct {
	ID          string       `json:"id"`
	WorkspaceID string       `json:"workspaceId"`
	Seq         int64        `json:"seq"`
	At          time.Time    `json:"at"`
	Action      string       `json:"action"`
	Outcome     string       `json:"outcome"`
	Actor       actorData    `json:"actor"`
	TargetType  *string      `json:"targetType"`
	TargetID    *string      `json:"targetId"`
	TargetName  *string      `json:"targetName"`
	IP          *string      `json:"ip"`
	UserAgent   *string      `json:"userAgent"`
	Details     []detailData `json:"details"`
	Hash        string       `json:"hash"`
}

type actorData struct {
	Kind         string    `json:"kind"`
	User         *userData `json:"user"`
	APITokenID   *string   `json:"apiTokenId"`
	APITokenName *string   `json:"apiTokenName"`
}

type userData struct {
	ID string `json:"id"`
}

type detailData struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// body is the JSON a webhook receives for an entry.
func body(e storage.AuditEntry) ([]byte, error) {
	d := entryData{ID: e.ID, WorkspaceID: e.Log, Seq: e.Seq, At: e.At.UTC(), Action: e.Action, Outcome: e.Outcome,
		Actor:      actorData{Kind: e.ActorKind, APITokenID: optional(e.ActorTokenID), APITokenName: optional(e.ActorTokenName)},
		TargetType: optional(e.TargetType), TargetID: optional(e.TargetID), TargetName: optional(e.TargetName),
		IP: optional(e.IP), UserAgent: optional(e.UserAgent), Details: make([]detailData, len(e.Details)), Hash: e.Hash}
	if e.ActorUserID != "" {
		d.Actor.User = &userData{ID: e.ActorUserID}
	}
	for i, x := range e.Details {
		d.Details[i] = detailData{Key: x.Key, Value: x.Value}
	}
	return json.Marshal(message{Type: e.Action, Timestamp: e.At.UTC(), Data: d})
}
