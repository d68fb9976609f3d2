package httpapi

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
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

// htmlEscape writes what json.HTMLEscape writes, byte for byte: the five
// characters at either end, next to each other, cut short (a separator's
// first one or two bytes), among other three-byte characters that start with
// 0xE2 (the hints' bullets), and random mixes of all of them.
func TestHTMLEscapeMatchesJSON(t *testing.T) {
	pieces := []string{"<", ">", "&", "\u2028", "\u2029", "\u2022", "\u2027", "\u202a", "\xe2", "\xe2\x80", "a", "\"\\u003c\"", "••••4242", "é"}
	inputs := []string{"", "plain", "<>&", "\u2028\u2029", "x\xe2", "x\xe2\x80", "\xe2\x80\xa8", "\xe2\x80\xa9<", "&\xe2\x80\xa8&"}
	for _, a := range pieces {
		for _, b := range pieces {
			inputs = append(inputs, a+b, a+"text"+b)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var s []byte
		for range r.IntN(40) {
			s = append(s, pieces[r.IntN(len(pieces))]...)
		}
		inputs = append(inputs, string(s))
	}
	for _, in := range inputs {
		var want, got bytes.Buffer
		json.HTMLEscape(&want, []byte(in))
		got.WriteString("prefix:")
		htmlEscape(&got, []byte(in))
		if got.String() != "prefix:"+want.String() {
			t.Fatalf("%q:\n got %q\nwant %q", in, got.String(), "prefix:"+want.String())
		}
	}
}

func BenchmarkHTMLEscape(b *testing.B) {
	page := bytes.Repeat([]byte(`{"id":"6f1c2b9e-4a57-4c1e-9d7b-2f3e8a9c0d11","name":"Mail 42","owner":{"id":"alice","email":"alice@example.com"},"fields":[{"key":"host","value":"smtp.example.com","isSet":true,"hint":null},{"key":"password","value":null,"isSet":true,"hint":"••••4242"}]},`), 50)
	for _, f := range []struct {
		name   string
		escape func(*bytes.Buffer, []byte)
	}{{"json.HTMLEscape", json.HTMLEscape}, {"htmlEscape", htmlEscape}} {
		b.Run(f.name, func(b *testing.B) {
			var buf bytes.Buffer
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				buf.Reset()
				f.escape(&buf, page)
			}
		})
	}
}
