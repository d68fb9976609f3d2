package resolvers

import (
	"credkeep/authz"
	"credkeep/graph/model"
	"credkeep/provider"
	"credkeep/workspace"
)

func toGraphWorkspace(v workspace.View) *model.Workspace {
	return &model.Workspace{
		ID:                   v.ID,
		Name:                 v.Name,
		CreatedAt:            v.CreatedAt,
		KeyRotatedAt:         v.KeyRotatedAt,
		KeyRotationStartedAt: v.KeyRotationStartedAt,
		ViewerRole:           model.WorkspaceRole(v.ViewerRole),
	}
}

func toGraphUser(u workspace.User) *model.User {
	return &model.User{ID: u.ID, Email: optional(u.Email), Name: optional(u.Name)}
}

func toGraphMember(m workspace.MemberView) *model.Member {
	return &model.Member{
		User:    toGraphUser(m.User),
		Role:    model.WorkspaceRole(m.Role),
		AddedAt: m.AddedAt,
	}
}

func toRole(r model.WorkspaceRole) authz.Role { return authz.Role(r) }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toGraphType(t *provider.Type) *model.CredentialType {
	fields := make([]*model.FieldSpec, len(t.Fields))
	for i, f := range t.Fields {
		fields[i] = &model.FieldSpec{
			Key: f.Key, Label: f.Label, Kind: model.FieldKind(f.Kind), Required: f.Required, Secret: f.Secret,
			Description: optional(f.Description), Default: optional(f.Default), Options: f.Options,
		}
	}
	return &model.CredentialType{ID: t.Key, Key: t.Key, Name: t.Name, AuthKind: model.AuthKind(t.AuthKind),
		Editable: t.Editable, Testable: t.Testable, Fields: fields}
}

func toGraphLevel(l authz.Level) model.AccessLevel { return model.AccessLevel(l.String()) }
