package persisted

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testdata/ops.apollo.json is what @apollo/generate-persisted-query-manifest
// 1.4.0 (with @apollo/client 4.3.7) wrote for testdata/ops, configured by
// testdata/persisted-query-manifest.config.json: fragments from other files and
// from files holding two, .gql files, a subfolder, client-only directives,
// explicit __typename, and folders it was told to leave out (which
// BuildManifest leaves out by itself).
func TestBuildManifestMatchesApollosGenerator(t *testing.T) {
	b, err := os.ReadFile("testdata/ops.apollo.json")
	if err != nil {
		t.Fatal(err)
	}
	var want Manifest
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	got, err := BuildManifest("testdata/ops", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, *got); diff != "" {
		t.Errorf("BuildManifest differs from Apollo's generator (-apollo +credkeep):\n%s", diff)
	}
}

func TestBuildManifestRefusals(t *testing.T) {
	cases := map[string]struct {
		files map[string]string
		want  string
	}{
		"two operations in a file": {map[string]string{"a.graphql": "query A { viewer { id } } query B { viewer { id } }"}, "a.graphql: 2 operations in one file"},
		"anonymous":                {map[string]string{"a.gql": "{ viewer { id } }"}, "a.gql: the query needs a name"},
		"same name twice":          {map[string]string{"a.graphql": "query A { viewer { id } }", "sub/b.graphql": "query A { viewer { id } }"}, "operation A is also in a.graphql"},
		"fragment twice":           {map[string]string{"a.graphql": "fragment F on User { id }", "b.gql": "fragment F on User { name }"}, "fragment F is also defined in a.graphql"},
		"unknown fragment":         {map[string]string{"a.graphql": "query A { viewer { user { ...Nope } } }"}, "a.graphql: fragment Nope is not defined in any file"},
		"client field":             {map[string]string{"a.graphql": "query A { viewer { id local @client } }"}, "field local is marked @client"},
		"syntax":                   {map[string]string{"x/a.graphql": "query A { viewer { id }"}, "x/a.graphql:"},
		"only fragments":           {map[string]string{"a.graphql": "fragment F on User { id }"}, "no operations"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for f, body := range c.files {
				p := filepath.Join(dir, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := BuildManifest(dir, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}
