package resolvers

import (
	"context"

	"credkeep/apimodel"
	"credkeep/authz"
	"credkeep/credential"
	"credkeep/graph/model"
	"credkeep/internal/redact"
)

func (r *mutationResolver) CreateCredential(ctx context.Context, input model.CreateCredentialInput) (*apimodel.Credential, error) {
	v, err := r.credentials.Create(ctx, credential.CreateInput{
		WorkspaceID: input.WorkspaceID, Type: input.Type, Name: input.Name,
		Fields: toFieldInputs(input.Fields), ExpiresAt: input.ExpiresAt,
		Description: input.Description, Tags: input.Tags, RotationPeriodDays: input.RotationPeriodDays,
	})
	if err != nil {
		return nil, err
	}
	return apimodel.NewCredential(v), nil
}

func (r *mutationResolver) UpdateCredential(ctx context.Context, input model.UpdateCredentialInput) (*apimodel.Credential, error) {
	in := credential.UpdateInput{
		ID: input.ID, Name: input.Name, Description: input.Description, Tags: input.Tags,
		Fields: toFieldInputs(input.Fields), FieldsGiven: input.Fields != nil,
	}
	in.ExpiresAt, in.ExpiresAtGiven = input.ExpiresAt.ValueOK()
	in.RotationPeriodDays, in.RotationPeriodDaysGiven = input.RotationPeriodDays.ValueOK()
	if input.ExpectedVersion != nil {
		ev := int64(*input.ExpectedVersion)
		in.ExpectedVersion = &ev
	}
	v, err := r.credentials.Update(ctx, in)
	if err != nil {
		return nil, err
	}
	return apimodel.NewCredential(v), nil
}

func (r *mutationResolver) DeleteCredential(ctx context.Context, id string, force *bool) (*model.DeletePayload, error) {
	if err := r.credentials.Delete(ctx, id, force != nil && *force); err != nil {
		return nil, err
	}
	return &model.DeletePayload{ID: id, Deleted: true}, nil
}

func (r *mutationResolver) ShareCredential(ctx context.Context, input model.ShareCredentialInput) (*apimodel.Credential, error) {
	v, err := r.credentials.Share(ctx, credential.ShareInput{
		CredentialID: input.CredentialID,
		Kind:         authz.GranteeKind(input.GranteeKind),
		UserID:       input.UserID,
		Level:        authz.ParseLevel(string(input.Level)),
	})
	if err != nil {
		return nil, err
	}
	return apimodel.NewCredential(v), nil
}

func (r *mutationResolver) UnshareCredential(ctx context.Context, credentialID string, grantID string) (*apimodel.Credential, error) {
	v, err := r.credentials.Unshare(ctx, credentialID, grantID)
	if err != nil {
		return nil, err
	}
	return apimodel.NewCredential(v), nil
}

// toFieldInputs wraps every value as a Secret at once: until the type says a
// field is plain, its value must not be printable.
func toFieldInputs(in []*model.FieldInput) []credential.FieldInput {
	out := make([]credential.FieldInput, len(in))
	for i, f := range in {
		out[i] = credential.FieldInput{Key: f.Key, Value: redact.New(f.Value), Secret: f.Secret}
	}
	return out
}

func (r *mutationResolver) RollbackCredential(ctx context.Context, id string, toVersion int) (*apimodel.Credential, error) {
	v, err := r.credentials.Rollback(ctx, id, int64(toVersion))
	if err != nil {
		return nil, err
	}
	return apimodel.NewCredential(v), nil
}

func (r *mutationResolver) StageCredentialSecrets(ctx context.Context, id string, fields []*model.FieldInput) (*apimodel.Credential, error) {
	v, err := r.credentials.Stage(ctx, id, toFieldInputs(fields))
	if err != nil {
		return nil, err
	}
	return apimodel.NewCredential(v), nil
}

func (r *mutationResolver) PromoteCredentialSecrets(ctx context.Context, id string) (*apimodel.Credential, error) {
	v, err := r.credentials.Promote(ctx, id)
	if err != nil {
		return nil, err
	}
	return apimodel.NewCredential(v), nil
}

func (r *mutationResolver) DiscardCredentialSecrets(ctx context.Context, id string) (*apimodel.Credential, error) {
	v, err := r.credentials.Discard(ctx, id)
	if err != nil {
		return nil, err
	}
	return apimodel.NewCredential(v), nil
}
