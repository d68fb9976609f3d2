package persisted

import (
	"testing"

	"credkeep/graph"
)

// FuzzParseManifest: any bytes load as a manifest or are refused with an error, never a panic.
func FuzzParseManifest(f *testing.F) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	f.Add([]byte(`{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"a","name":"V","type":"query","body":"query V { viewer { isAdmin } }"}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Add([]byte(`{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"a","body":"{"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ParseManifest(b, schema)
		if err == nil && tr == nil {
			t.Fatal("no manifest and no error")
		}
	})
}
