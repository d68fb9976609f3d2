// Package persisted handles persisted queries: automatic persisted queries
// (Apollo's protocol: a client sends a query's SHA-256 instead of its text, and
// the text once when the server does not know it yet), shared by all instances
// through MongoDB; and trusted documents, an allow-list of operations loaded
// from an Apollo persisted-query manifest, which tokens marked
// persistedQueriesOnly are restricted to.
package persisted

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// ManifestFormat is the format field of an Apollo persisted-query manifest.
const ManifestFormat = "apollo-persisted-query-manifest"

// Operation is one trusted document.
type Operation struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
	Body string `json:"body"`
}

// Manifest is an Apollo persisted-query manifest.
type Manifest struct {
	Format     string      `json:"format"`
	Version    int         `json:"version"`
	Operations []Operation `json:"operations"`
}

// Trusted is a loaded manifest, indexed by operation id and by body hash.
type Trusted struct {
	byKey map[string]*Operation
	n     int
}

// Hash is the hex SHA-256 of a query text, as the APQ protocol computes it.
func Hash(query string) string {
	sum := sha256.Sum256([]byte(query))
	return hex.EncodeToString(sum[:])
}

// Lookup finds a trusted operation by its id or by its body's hash.
func (t *Trusted) Lookup(key string) (*Operation, bool) {
	if t == nil {
		return nil, false
	}
	op, ok := t.byKey[key]
	return op, ok
}

// With is t and other together (either may be nil): the server's built-in
// documents and an operator's manifest.
func (t *Trusted) With(other *Trusted) *Trusted {
	if other == nil {
		return t
	}
	if t == nil {
		return other
	}
	out := &Trusted{byKey: make(map[string]*Operation, len(t.byKey)+len(other.byKey)), n: t.n}
	for k, op := range t.byKey {
		out.byKey[k] = op
	}
	seen := map[*Operation]bool{}
	for k, op := range other.byKey {
		if _, dup := out.byKey[k]; dup {
			continue // the same id names the same text (ids are hashes or checked unique)
		}
		out.byKey[k] = op
		if !seen[op] {
			seen[op] = true
			out.n++
		}
	}
	return out
}

// Len is the number of trusted operations.
func (t *Trusted) Len() int {
	if t == nil {
		return 0
	}
	return t.n
}

// LoadManifest reads and checks a manifest: its format, unique ids, and every
// body a single operation that is valid against the schema.
func LoadManifest(path string, schema *ast.Schema) (*Trusted, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseManifest(b, schema)
}

// ParseManifest is LoadManifest on bytes. Besides Apollo's manifest it takes
// the map GraphQL Codegen's client preset writes (persisted-documents.json):
// {"sha256:<hex of the document's SHA-256>": "<document>", ...}, the
// "sha256:" prefix optional.
func ParseManifest(b []byte, schema *ast.Schema) (*Trusted, error) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(b, &probe) == nil && probe != nil {
		if _, apollo := probe["format"]; !apollo {
			return parseDocumentMap(b, schema)
		}
	}
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON manifest: %v", err)
	}
	if m.Format != ManifestFormat || m.Version != 1 {
		return nil, fmt.Errorf("format must be %q version 1", ManifestFormat)
	}
	t := &Trusted{byKey: map[string]*Operation{}}
	for i := range m.Operations {
		op := &m.Operations[i]
		if op.ID == "" || op.Body == "" {
			return nil, fmt.Errorf("operation %d has no id or body", i)
		}
		if _, dup := t.byKey[op.ID]; dup {
			return nil, fmt.Errorf("operation id %q appears twice", op.ID)
		}
		doc, err := parseOne(op.Body, schema)
		if err != nil {
			return nil, fmt.Errorf("operation %q: %v", op.ID, err)
		}
		if op.Type != "" && op.Type != string(doc.Operations[0].Operation) {
			return nil, fmt.Errorf("operation %q: type %q but the body is a %s", op.ID, op.Type, doc.Operations[0].Operation)
		}
		t.byKey[op.ID] = op
		t.byKey[Hash(op.Body)] = op
		t.n++
	}
	return t, nil
}

// parseDocumentMap reads a {hash: document} map; each hash must be the
// document's SHA-256, so an id always names the text it was computed from.
func parseDocumentMap(b []byte, schema *ast.Schema) (*Trusted, error) {
	var docs map[string]string
	if err := json.Unmarshal(b, &docs); err != nil {
		return nil, fmt.Errorf("not an Apollo manifest nor a {hash: document} map: %v", err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("the document map is empty")
	}
	ids := make([]string, 0, len(docs))
	for id := range docs {
		ids = append(ids, id)
	}
	sort.Strings(ids) // errors name the same document every time
	t := &Trusted{byKey: map[string]*Operation{}}
	for _, id := range ids {
		body := docs[id]
		hash := strings.TrimPrefix(id, "sha256:")
		if Hash(body) != hash {
			return nil, fmt.Errorf("document %q: its key is not the SHA-256 of the document (set hashAlgorithm: sha256 in Codegen's persistedDocuments)", id)
		}
		doc, err := parseOne(body, schema)
		if err != nil {
			return nil, fmt.Errorf("document %q: %v", id, err)
		}
		op := &Operation{ID: hash, Name: doc.Operations[0].Name, Type: string(doc.Operations[0].Operation), Body: body}
		if _, dup := t.byKey[hash]; dup {
			return nil, fmt.Errorf("document %q appears twice", id)
		}
		t.byKey[hash] = op
		t.n++
	}
	return t, nil
}

// parseOne parses a document that must hold exactly one operation, valid against schema.
func parseOne(body string, schema *ast.Schema) (*ast.QueryDocument, error) {
	doc, gerr := parser.ParseQuery(&ast.Source{Input: body})
	if gerr != nil {
		return nil, gerr
	}
	if len(doc.Operations) != 1 {
		return nil, fmt.Errorf("a trusted document holds exactly one operation, found %d", len(doc.Operations))
	}
	if schema != nil {
		if errs := validator.Validate(schema, doc); len(errs) > 0 {
			return nil, errs[0]
		}
	}
	return doc, nil
}
