package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"credkeep/internal/redact"
)

const (
	colWebhooks   = "webhooks"
	colDeliveries = "webhook_deliveries"
)

// Webhook is an endpoint that receives a workspace's events. Its signing
// secret is sealed under the workspace's data key and read only by
// WebhookSecret.
type Webhook struct {
	ID          string    `bson:"_id"`
	WorkspaceID string    `bson:"workspaceId"`
	Name        string    `bson:"name"`
	URL         string    `bson:"url"`
	Events      []string  `bson:"events"`
	Description string    `bson:"description,omitempty"`
	Active      bool      `bson:"active"`
	CreatedAt   time.Time `bson:"createdAt"`
	CreatedBy   string    `bson:"createdBy,omitempty"`
	UpdatedAt   time.Time `bson:"updatedAt"`
	// Cursor is the seq of the last audit entry handled: delivered, or not
	// among its events. Delivery goes on after it.
	Cursor int64 `bson:"cursor"`
}

// WebhookChange is an update of a webhook's settings; nil fields stay.
type WebhookChange struct {
	Name, URL, Description *string
	Events                 []string
	Active                 *bool
}

// InsertWebhook stores a new webhook with its signing secret (sealed), in one write.
func (s *Store) InsertWebhook(ctx context.Context, w Webhook, secret redact.Secret) error {
	doc, err := bson.Marshal(w)
	if err != nil {
		return fmt.Errorf("encode webhook: %w", err)
	}
	err = s.writeSealed(ctx, w.WorkspaceID, secret.Reveal(), sealedAt{colWebhooks, w.ID, "secret"}, func(enc primitive.Binary) error {
		var m bson.D
		if err := bson.Unmarshal(doc, &m); err != nil {
			return err
		}
		_, err := s.rawCol(colWebhooks).InsertOne(ctx, append(m, bson.E{Key: "secret", Value: enc}))
		return err
	})
	if err != nil {
		return fmt.Errorf("insert webhook: %w", err)
	}
	return nil
}

// Webhook returns a webhook (without its secret), or ErrNotFound.
func (s *Store) Webhook(ctx context.Context, id string) (Webhook, error) {
	var w Webhook
	err := one(s.rawCol(colWebhooks).FindOne(ctx, bson.M{"_id": id}, options.FindOne().SetProjection(bson.M{"secret": 0})), &w, "find webhook")
	return w, err
}

// WebhookSecret returns a webhook's signing secret, decrypted.
func (s *Store) WebhookSecret(ctx context.Context, id string) (redact.Secret, error) {
	var doc struct {
		Secret string `bson:"secret"`
	}
	if err := one(s.col(colWebhooks).FindOne(ctx, bson.M{"_id": id}, options.FindOne().SetProjection(bson.M{"secret": 1})), &doc, "find webhook secret"); err != nil {
		return redact.Secret{}, err
	}
	return redact.New(doc.Secret), nil
}

// WebhooksOf returns a workspace's webhooks, oldest first.
func (s *Store) WebhooksOf(ctx context.Context, workspaceID string) ([]Webhook, error) {
	var ws []Webhook
	err := s.allOn(s.rawCol(colWebhooks), ctx, bson.M{"workspaceId": workspaceID}, &ws, "find webhooks",
		options.Find().SetProjection(bson.M{"secret": 0}).SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}}))
	return ws, err
}

// ActiveWebhooks returns every active webhook of every workspace.
func (s *Store) ActiveWebhooks(ctx context.Context) ([]Webhook, error) {
	var ws []Webhook
	err := s.allOn(s.rawCol(colWebhooks), ctx, bson.M{"active": true}, &ws, "find active webhooks",
		options.Find().SetProjection(bson.M{"secret": 0}))
	return ws, err
}

// UpdateWebhook applies a change and returns the webhook as it is now.
func (s *Store) UpdateWebhook(ctx context.Context, id string, c WebhookChange, now time.Time) (Webhook, error) {
	set, unset := bson.M{"updatedAt": now}, bson.M{}
	if c.Name != nil {
		set["name"] = *c.Name
	}
	if c.URL != nil {
		set["url"] = *c.URL
	}
	if c.Events != nil {
		set["events"] = c.Events
	}
	if c.Active != nil {
		set["active"] = *c.Active
	}
	if c.Description != nil {
		if *c.Description == "" {
			unset["description"] = ""
		} else {
			set["description"] = *c.Description
		}
	}
	update := bson.M{"$set": set}
	if len(unset) > 0 {
		update["$unset"] = unset
	}
	res, err := s.col(colWebhooks).UpdateOne(ctx, bson.M{"_id": id}, update)
	if err != nil {
		return Webhook{}, fmt.Errorf("update webhook: %w", err)
	}
	if res.MatchedCount == 0 {
		return Webhook{}, ErrNotFound
	}
	return s.Webhook(ctx, id)
}

// DeactivateWebhook turns a webhook off unless it changed since it was read
// (its updatedAt): a webhook re-activated meanwhile stays on.
func (s *Store) DeactivateWebhook(ctx context.Context, id string, seen, now time.Time) (bool, error) {
	res, err := s.col(colWebhooks).UpdateOne(ctx, bson.M{"_id": id, "updatedAt": seen, "active": true},
		bson.M{"$set": bson.M{"active": false, "updatedAt": now}})
	if err != nil {
		return false, fmt.Errorf("deactivate webhook: %w", err)
	}
	return res.ModifiedCount == 1, nil
}

// AdvanceWebhook moves a webhook's cursor forward to seq (never back).
func (s *Store) AdvanceWebhook(ctx context.Context, id string, seq int64) error {
	_, err := s.col(colWebhooks).UpdateOne(ctx, bson.M{"_id": id, "cursor": bson.M{"$lt": seq}}, bson.M{"$set": bson.M{"cursor": seq}})
	if err != nil {
		return fmt.Errorf("advance webhook: %w", err)
	}
	return nil
}

// DeleteWebhook deletes a webhook and its deliveries.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	res, err := s.col(colWebhooks).DeleteOne(ctx, bson.M{"_id": id})
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	if _, err := s.col(colDeliveries).DeleteMany(ctx, bson.M{"webhookId": id}); err != nil {
		return fmt.Errorf("delete webhook deliveries: %w", err)
	}
	if res.DeletedCount == 0 {
		return ErrNotFound
	}
	return nil
}

// Delivery statuses.
const (
	DeliveryPending   = "PENDING"
	DeliveryDelivered = "DELIVERED"
	DeliveryFailed    = "FAILED"
)

// Delivery is one audit entry sent (or to be sent) to one webhook; its
// attempts update it.
type Delivery struct {
	ID            string     `bson:"_id"` // DeliveryID(webhook, seq)
	WebhookID     string     `bson:"webhookId"`
	WorkspaceID   string     `bson:"workspaceId"`
	Seq           int64      `bson:"seq"`
	Action        string     `bson:"action"`
	Attempt       int        `bson:"attempt"`
	Status        string     `bson:"status"`
	ResponseCode  int        `bson:"responseCode,omitempty"`
	DurationMs    int64      `bson:"durationMs"`
	At            time.Time  `bson:"at"`
	FirstAt       time.Time  `bson:"firstAt"`
	NextAttemptAt *time.Time `bson:"nextAttemptAt,omitempty"`
}

// DeliveryID names the delivery of entry seq to a webhook: the same for every
// attempt, from any instance. It is the webhook-id header (Standard Webhooks'
// msg_ prefix), so a receiver recognizes what it was sent before.
func DeliveryID(webhookID string, seq int64) string {
	return fmt.Sprintf("msg_%s_%012d", webhookID, seq)
}

// SaveDeliveries stores deliveries, new or updated.
func (s *Store) SaveDeliveries(ctx context.Context, ds []Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	docs := make([]any, len(ds))
	for i, d := range ds {
		docs[i] = d
	}
	// Most are new: one insert. Those that exist (a retried one, or one
	// delivered again after a takeover) are replaced one by one.
	_, err := s.col(colDeliveries).InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return nil
	}
	var bulk mongo.BulkWriteException
	if !errors.As(err, &bulk) {
		return fmt.Errorf("save deliveries: %w", err)
	}
	for _, we := range bulk.WriteErrors {
		if !mongo.IsDuplicateKeyError(mongo.WriteException{WriteErrors: []mongo.WriteError{we.WriteError}}) {
			return fmt.Errorf("save deliveries: %w", err)
		}
		d := ds[we.Index]
		if _, err := s.col(colDeliveries).ReplaceOne(ctx, bson.M{"_id": d.ID}, d); err != nil {
			return fmt.Errorf("save delivery: %w", err)
		}
	}
	return nil
}

// Delivery returns one delivery, or ErrNotFound.
func (s *Store) Delivery(ctx context.Context, id string) (Delivery, error) {
	var d Delivery
	err := one(s.col(colDeliveries).FindOne(ctx, bson.M{"_id": id}), &d, "find delivery")
	return d, err
}

// DeliveriesOf returns a page of a webhook's deliveries, newest first, those
// before seq before (0: from the newest), and how many it has in all.
func (s *Store) DeliveriesOf(ctx context.Context, webhookID string, before int64, limit int) ([]Delivery, int64, error) {
	filter := bson.M{"webhookId": webhookID}
	total, err := s.col(colDeliveries).CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, fmt.Errorf("count deliveries: %w", err)
	}
	if before > 0 {
		filter["seq"] = bson.M{"$lt": before}
	}
	var ds []Delivery
	err = s.all(ctx, colDeliveries, filter, &ds, "find deliveries",
		options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(int64(limit)))
	return ds, total, err
}
