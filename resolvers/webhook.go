package resolvers

import (
	"context"

	"credkeep/graph/model"
	"credkeep/internal/pagination"
	"credkeep/webhook"
)

type webhookResolver struct{ *Resolver }

func (r *mutationResolver) CreateWebhook(ctx context.Context, input model.CreateWebhookInput) (*model.CreatedWebhook, error) {
	w, secret, err := r.webhooks.Create(ctx, webhook.CreateInput{WorkspaceID: input.WorkspaceID, Name: input.Name,
		URL: input.URL, Events: actionNames(input.Events), Description: input.Description})
	if err != nil {
		return nil, err
	}
	return &model.CreatedWebhook{Webhook: toGraphWebhook(w), SigningSecret: secret.Reveal()}, nil
}

func (r *mutationResolver) UpdateWebhook(ctx context.Context, input model.UpdateWebhookInput) (*model.Webhook, error) {
	in := webhook.UpdateInput{ID: input.ID, Name: input.Name, URL: input.URL, Active: input.Active,
		Description: input.Description.Value(), DescriptionSet: input.Description.IsSet()}
	if input.Events != nil {
		in.Events = actionNames(input.Events)
	}
	w, err := r.webhooks.Update(ctx, in)
	if err != nil {
		return nil, err
	}
	return toGraphWebhook(w), nil
}

func (r *mutationResolver) DeleteWebhook(ctx context.Context, id string) (*model.DeletePayload, error) {
	if err := r.webhooks.Delete(ctx, id); err != nil {
		return nil, err
	}
	return &model.DeletePayload{ID: id, Deleted: true}, nil
}

func (r *mutationResolver) RedeliverWebhook(ctx context.Context, deliveryID string) (*model.WebhookDelivery, error) {
	d, err := r.webhooks.Redeliver(ctx, deliveryID)
	if err != nil {
		return nil, err
	}
	return toGraphDelivery(d), nil
}

func (r *workspaceResolver) Webhooks(ctx context.Context, obj *model.Workspace) ([]*model.Webhook, error) {
	ws, err := r.webhooks.List(ctx, obj.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*model.Webhook, len(ws))
	for i, w := range ws {
		out[i] = toGraphWebhook(w)
	}
	return out, nil
}

func (r *webhookResolver) Deliveries(ctx context.Context, obj *model.Webhook, first *int, after *string) (*model.WebhookDeliveryConnection, error) {
	p, err := r.webhooks.Deliveries(ctx, obj.ID, first, after)
	if err != nil {
		return nil, err
	}
	conn := &model.WebhookDeliveryConnection{Edges: make([]*model.WebhookDeliveryEdge, len(p.Deliveries)),
		PageInfo: pageInfo(p.Cursors, pagination.Info{HasNext: p.HasNext, HasPrevious: p.HasPrev}), TotalCount: p.Total}
	for i, d := range p.Deliveries {
		conn.Edges[i] = &model.WebhookDeliveryEdge{Cursor: p.Cursors[i], Node: toGraphDelivery(d)}
	}
	return conn, nil
}

func actionNames(as []model.AuditAction) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
	}
	return out
}

func toGraphWebhook(w webhook.Webhook) *model.Webhook {
	events := make([]model.AuditAction, len(w.Events))
	for i, e := range w.Events {
		events[i] = model.AuditAction(e)
	}
	return &model.Webhook{ID: w.ID, Name: w.Name, URL: w.URL, Events: events, Description: optional(w.Description),
		Active: w.Active, CreatedAt: w.CreatedAt, LastSeq: int(w.Cursor)}
}

func toGraphDelivery(d webhook.Delivery) *model.WebhookDelivery {
	out := &model.WebhookDelivery{ID: d.ID, Seq: int(d.Seq), Action: model.AuditAction(d.Action), Attempt: d.Attempt,
		Status: model.DeliveryStatus(d.Status), At: d.At, NextAttemptAt: d.NextAttemptAt}
	if d.ResponseCode != 0 {
		code := d.ResponseCode
		out.ResponseCode = &code
	}
	if d.Attempt > 0 {
		ms := int(d.DurationMs)
		out.DurationMs = &ms
	}
	return out
}
