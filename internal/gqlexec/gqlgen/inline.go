package main

import (
	"bytes"
	"fmt"
)

// inlineFields are resolver fields that never wait for a batch: they compute
// from the object they belong to, or read what the resolver of their list
// loaded beforehand (Workspace.credentials resolves the owners of its page at
// once, and its credentials carry their sealed secrets for the hints). gqlgen
// runs every resolver field in a goroutine of its own so that dataloaders can
// batch across siblings; for these that bought nothing and cost a goroutine,
// and the stack it grows, per field per credential. The rewrite runs them in
// the caller's goroutine. A field listed here that waited on a dataloader would
// still be answered correctly, one batch wait per object instead of one per list.
var inlineFields = map[string][]string{
	"Credential": {"type", "status", "statusMessage", "viewerAccess", "owner", "fields", "expiringSoon", "rotationDueAt"},
}

const (
	concurrently = "out.Concurrently(i, func(ctx context.Context) graphql.Marshaler { return innerFunc(ctx, out) })"
	inline       = "out.Values[i] = innerFunc(ctx, out)"
)

// rewriteInline makes the listed fields of each object's field-set function
// run inline. A case that is missing or not in the shape gqlgen makes for a
// concurrent field is an error: the generator changed, or a field listed here
// is no longer a resolver.
func rewriteInline(src []byte, fields map[string][]string) ([]byte, error) {
	for object, names := range fields {
		head := []byte("func (ec *executionContext) _" + object + "(ctx context.Context, sel ast.SelectionSet, obj ")
		start := bytes.Index(src, head)
		if start < 0 {
			return nil, fmt.Errorf("field set function of %s not found", object)
		}
		end := start + bytes.Index(src[start:], []byte("\n}\n"))
		for _, name := range names {
			body := src[start:end]
			c := bytes.Index(body, []byte("\t\tcase \""+name+"\":\n"))
			if c < 0 {
				return nil, fmt.Errorf("%s.%s: no case", object, name)
			}
			next := bytes.Index(body[c+1:], []byte("\n\t\tcase \""))
			if next < 0 {
				next = bytes.Index(body[c+1:], []byte("\n\t\tdefault:"))
			}
			if next < 0 {
				return nil, fmt.Errorf("%s.%s: case does not end", object, name)
			}
			caseBody := body[c : c+1+next]
			if bytes.Count(caseBody, []byte(concurrently)) != 1 {
				return nil, fmt.Errorf("%s.%s: expected one %s", object, name, concurrently)
			}
			replaced := bytes.Replace(caseBody, []byte(concurrently), []byte(inline), 1)
			at := start + c
			src = append(src[:at:at], append(replaced, src[at+len(caseBody):]...)...)
			end += len(replaced) - len(caseBody)
		}
	}
	return src, nil
}
