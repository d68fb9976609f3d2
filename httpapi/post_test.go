package httpapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// writeResponse answers what json.Marshal answers for every shape of response:
// the same JSON value, the same escaping of HTML-sensitive characters.
func TestWriteResponseMatchesJSONMarshal(t *testing.T) {
	next := true
	cases := []*graphql.Response{
		{Data: json.RawMessage(`{"a":1,"b":"x"}`)},
		{Data: json.RawMessage(`{"name":"<script>&amp; \u2028 ` + "\u2028\u2029" + `"}`)},
		{},
		{Errors: gqlerror.List{{Message: "boom <b>", Path: ast.Path{ast.PathName("a")}, Extensions: map[string]any{"code": "X"}}}},
		{Data: json.RawMessage(`{"a":null}`), Errors: gqlerror.List{{Message: "partial"}}, Extensions: map[string]any{"cost": 3}},
		{Data: json.RawMessage(`{"x":[1,2]}`), Label: "l", Path: ast.Path{ast.PathName("a"), ast.PathIndex(1)}, HasNext: &next},
	}
	for i, resp := range cases {
		want, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		writeResponse(&got, resp)
		var a, b any
		if err := json.Unmarshal(got.Bytes(), &a); err != nil {
			t.Fatalf("case %d: not JSON: %s", i, got.String())
		}
		_ = json.Unmarshal(want, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got.String(), want)
		}
		for _, raw := range []string{"<", ">", "&", "\u2028", "\u2029"} {
			if bytes.Contains(got.Bytes(), []byte(raw)) {
				t.Errorf("case %d: %q not escaped: %s", i, raw, got.String())
			}
		}
	}
}
