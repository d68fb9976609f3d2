package gqlprint

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// The .golden files are what graphql-js 16.15's print wrote for the
// .graphql files next to them (node -e 'print(parse(text))'); Print must
// give the same bytes, or Apollo Client's persisted-query ids would differ.
func TestPrintMatchesGraphQLJS(t *testing.T) {
	for _, name := range []string{"kitchen", "short"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile("testdata/" + name + ".graphql")
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile("testdata/" + name + ".golden")
			if err != nil {
				t.Fatal(err)
			}
			doc, gerr := parser.ParseQuery(&ast.Source{Input: string(src)})
			if gerr != nil {
				t.Fatal(gerr)
			}
			if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(Print(doc), "\n")); diff != "" {
				t.Errorf("Print differs from graphql-js (-graphql-js +Print):\n%s", diff)
			}
		})
	}
}

func TestLineLimitCountsUTF16(t *testing.T) {
	// 😀 is one rune but two UTF-16 code units: 36 of them make the line 80
	// code units long (at the limit), 37 make it 82 (past it).
	for n, wrapped := range map[int]bool{36: false, 37: true} {
		doc, gerr := parser.ParseQuery(&ast.Source{Input: `{ f(a: "` + strings.Repeat("😀", n) + `") }`})
		if gerr != nil {
			t.Fatal(gerr)
		}
		if got := strings.Contains(Print(doc), "(\n"); got != wrapped {
			t.Errorf("%d emoji: wrapped %v, want %v", n, got, wrapped)
		}
	}
}
