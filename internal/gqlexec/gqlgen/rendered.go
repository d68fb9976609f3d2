package main

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/codegen"
)

// renderedObjects are the objects whose field-set functions go through
// gqlexec.Schema.Render, which keeps a rendering per object version, selection
// and variant (the model's Rendered method says which version and variant).
var renderedObjects = []string{"Credential"}

// keptFields are the fields a kept rendering may hold, by object: each one's
// value depends only on the object's version and on what its model's Rendered
// method puts in the variant. For Credential that is the access level and the
// read scope of the viewer, whether it had expired when read, and the owner's
// e-mail and name (apimodel.Credential.Rendered, credential.View.Rendered).
// Fields that move without a new version in other ways (expiringSoon with the
// clock, the use counters, sharing with grants, the workspace's name), depend on more of the
// viewer (viewerCan, grants, secretVersions, connection, usages, auditTrail),
// or take arguments are not here: a selection that reaches one is rendered
// afresh every time. Adding a field here is a security decision: a wrong
// entry shows one viewer what was rendered for another.
var keptFields = map[string][]string{
	"Credential": {
		"id", "name", "type", "status", "statusMessage", "viewerAccess", "owner", "description", "tags", "fields",
		"lastTestedAt", "expiresAt", "rotationPeriodDays", "rotationDueAt", "version", "createdAt", "updatedAt",
	},
	"User":            {"id", "email", "name"},
	"CredentialField": {"key", "label", "secret", "value", "isSet", "hint"},
	"CredentialType":  {"id", "key", "name", "authKind", "editable", "testable", "fields"},
	"FieldSpec":       {"key", "label", "kind", "required", "secret", "description", "default", "options"},
}

// rewriteRendered renames the field-set function of each object to render<Object>
// and puts in its place one that calls it through gqlexecSchema.Render.
func rewriteRendered(src []byte, objects []string) ([]byte, error) {
	for _, object := range objects {
		head := "func (ec *executionContext) _" + object + "(ctx context.Context, sel ast.SelectionSet, obj "
		start := bytes.Index(src, []byte(head))
		if start < 0 || bytes.Count(src, []byte(head)) != 1 {
			return nil, fmt.Errorf("field set function of %s: not found once", object)
		}
		line := start + bytes.IndexByte(src[start:], '\n')
		decl := string(src[start:line])
		objType, ok := strings.CutPrefix(decl, head)
		if !ok || !strings.HasSuffix(objType, ") graphql.Marshaler {") {
			return nil, fmt.Errorf("field set function of %s: unexpected declaration %q", object, decl)
		}
		objType = strings.TrimSuffix(objType, ") graphql.Marshaler {")
		wrapper := fmt.Sprintf("%s\n\treturn gqlexecSchema.Render(ctx, %q, sel, obj, func() graphql.Marshaler { return ec.render%s(ctx, sel, obj) })\n}\n\n"+
			"func (ec *executionContext) render%s(ctx context.Context, sel ast.SelectionSet, obj %s) graphql.Marshaler {",
			decl, object, object, object, objType)
		src = append(src[:start:start], append([]byte(wrapper), src[line:]...)...)
	}
	return src, nil
}

// checkKept fails for a kept field the schema does not have: a misspelt name
// would quietly keep nothing.
func checkKept(objects map[string]*codegen.Object) error {
	for name, fields := range keptFields {
		o, ok := objects[name]
		if !ok {
			return fmt.Errorf("keptFields: no object %s", name)
		}
		for _, f := range fields {
			found := false
			for _, of := range o.Fields {
				found = found || of.Name == f
			}
			if !found {
				return fmt.Errorf("keptFields: %s has no field %s", name, f)
			}
		}
	}
	return nil
}
