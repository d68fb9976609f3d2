package rendered

import (
	"fmt"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

func selection(t *testing.T, q string) ast.SelectionSet {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		t.Fatal(err)
	}
	return doc.Operations[0].SelectionSet
}

// A rendering is found by its selection's elements and its variant, never by
// an equal selection of another parse; the oldest gives way to a fifth.
func TestCacheFilesBySelectionAndVariant(t *testing.T) {
	var c Cache
	a := selection(t, `{ id name }`)
	b := selection(t, `{ id name }`) // the same text, another parse
	c.Put(a, "VIEW", []byte(`{"a":1}`))

	got := func(sel ast.SelectionSet, variant string) string {
		json, ok := c.Get(sel, variant)
		if !ok {
			return "miss"
		}
		return string(json)
	}
	cases := []struct {
		name    string
		sel     ast.SelectionSet
		variant string
		want    string
	}{
		{"same selection and variant", a, "VIEW", `{"a":1}`},
		{"a copy of the selection's slice", append(ast.SelectionSet(nil), a...), "VIEW", `{"a":1}`},
		{"another variant", a, "USE", "miss"},
		{"another parse of the same text", b, "VIEW", "miss"},
		{"fewer elements", a[:1], "VIEW", "miss"},
	}
	for _, tc := range cases {
		if g := got(tc.sel, tc.variant); g != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, g, tc.want)
		}
	}

	// The caller's slice may be reused: the cache kept its elements.
	reused := append(ast.SelectionSet(nil), a...)
	c.Put(reused, "MANAGE", []byte(`{"m":1}`))
	reused[0] = b[0]
	if g := got(a, "MANAGE"); g != `{"m":1}` {
		t.Errorf("after the caller reused its slice: got %s", g)
	}

	// Putting the same key again replaces, it does not take a slot.
	c.Put(a, "VIEW", []byte(`{"a":2}`))
	if g := got(a, "VIEW"); g != `{"a":2}` {
		t.Errorf("replaced: got %s", g)
	}
	for i := range slots - 1 {
		c.Put(a, fmt.Sprint("v", i), []byte(`{}`))
	}
	if g := got(a, "VIEW"); g != "miss" {
		t.Errorf("the oldest rendering after %d more: got %s, want it replaced", slots-1, g)
	}
	if g := got(a, "MANAGE"); g != `{"m":1}` {
		t.Errorf("the rendering after the oldest: got %s, want it kept", g)
	}
}
