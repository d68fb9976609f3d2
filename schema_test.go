package main

import (
	"os"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestEverySchemaElementIsDescribed (SPEC.md §9): every type, field, argument,
// input field and enum value of schema.graphqls says what it is, so GraphiQL
// and generated clients document the API.
func TestEverySchemaElementIsDescribed(t *testing.T) {
	b, err := os.ReadFile("schema.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	s := gqlparser.MustLoadSchema(&ast.Source{Name: "schema.graphqls", Input: string(b)})
	var missing []string
	for _, d := range s.Types {
		if d.BuiltIn || strings.HasPrefix(d.Name, "__") {
			continue
		}
		if d.Description == "" {
			missing = append(missing, d.Name)
		}
		for _, f := range d.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			if f.Description == "" {
				missing = append(missing, d.Name+"."+f.Name)
			}
			for _, a := range f.Arguments {
				if a.Description == "" {
					missing = append(missing, d.Name+"."+f.Name+"("+a.Name+")")
				}
			}
		}
		for _, v := range d.EnumValues {
			if v.Description == "" {
				missing = append(missing, d.Name+"."+v.Name)
			}
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d schema elements without a description: %s", len(missing), strings.Join(missing, ", "))
	}
}
