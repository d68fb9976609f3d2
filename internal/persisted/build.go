package persisted

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"credkeep/internal/gqlprint"
)

// BuildManifest reads the .graphql and .gql files under dir, subfolders
// included, and makes a manifest of their operations written exactly as
// Apollo Client sends them, so that the ids equal those of
// @apollo/generate-persisted-query-manifest and of Apollo's persisted-query
// link. A file holds at most one operation, which must be named; fragments
// may live in any file, and an operation takes along those it uses.
func BuildManifest(dir string, schema *ast.Schema) (*Manifest, error) {
	docs, err := readDocuments(dir)
	if err != nil {
		return nil, err
	}
	fragments := map[string]*ast.FragmentDefinition{}
	fragmentFile := map[string]string{}
	type operation struct {
		def  *ast.OperationDefinition
		file string
		doc  *ast.QueryDocument
	}
	var ops []operation
	opFile := map[string]string{}
	for _, d := range docs {
		if err := clientTransforms(d.doc); err != nil {
			return nil, fmt.Errorf("%s: %v", d.file, err)
		}
		for _, f := range d.doc.Fragments {
			if other, dup := fragmentFile[f.Name]; dup {
				return nil, fmt.Errorf("%s: fragment %s is also defined in %s", d.file, f.Name, other)
			}
			fragments[f.Name], fragmentFile[f.Name] = f, d.file
		}
		switch n := len(d.doc.Operations); {
		case n > 1:
			return nil, fmt.Errorf("%s: %d operations in one file; put each in a file of its own", d.file, n)
		case n == 1:
			op := d.doc.Operations[0]
			if op.Name == "" {
				return nil, fmt.Errorf("%s: the %s needs a name", d.file, op.Operation)
			}
			if other, dup := opFile[op.Name]; dup {
				return nil, fmt.Errorf("%s: operation %s is also in %s", d.file, op.Name, other)
			}
			opFile[op.Name] = d.file
			ops = append(ops, operation{op, d.file, d.doc})
		}
	}
	if len(ops) == 0 {
		return nil, fmt.Errorf("no operations in the .graphql and .gql files under %s", dir)
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].def.Name < ops[j].def.Name })

	m := &Manifest{Format: ManifestFormat, Version: 1}
	for _, op := range ops {
		// Like Apollo Client's fragment registry: the file's own fragments,
		// then every fragment they and the operation use that the file lacks.
		own := map[string]bool{}
		for _, f := range op.doc.Fragments {
			own[f.Name] = true
		}
		out := &ast.QueryDocument{Operations: ast.OperationList{op.def}, Fragments: op.doc.Fragments}
		for {
			var missing []string
			for _, name := range fragmentSpreads(out) {
				if !own[name] {
					missing = append(missing, name)
				}
			}
			if len(missing) == 0 {
				break
			}
			for _, name := range missing {
				f, ok := fragments[name]
				if !ok {
					return nil, fmt.Errorf("%s: fragment %s is not defined in any file", op.file, name)
				}
				own[name] = true
				out.Fragments = append(out.Fragments, f)
			}
		}
		// Apollo's sortTopLevelDefinitions: the operation, then fragments by name.
		out.Fragments = append(ast.FragmentDefinitionList(nil), out.Fragments...)
		sort.SliceStable(out.Fragments, func(i, j int) bool { return out.Fragments[i].Name < out.Fragments[j].Name })
		if schema != nil {
			if errs := validator.Validate(schema, out); len(errs) > 0 {
				return nil, fmt.Errorf("%s: %s", op.file, errs[0].Message)
			}
		}
		body := gqlprint.Print(out)
		if _, err := parseOne(body, schema); err != nil { // what the server will load
			return nil, fmt.Errorf("%s: printed: %v", op.file, err)
		}
		m.Operations = append(m.Operations, Operation{ID: Hash(body), Name: op.def.Name, Type: string(op.def.Operation), Body: body})
	}
	return m, nil
}

type document struct {
	file string // relative to the folder read
	doc  *ast.QueryDocument
}

// readDocuments parses every .graphql and .gql file under dir, in path
// order, leaving out hidden folders and node_modules.
func readDocuments(dir string) ([]document, error) {
	var docs []document
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if path != dir && (strings.HasPrefix(e.Name(), ".") || e.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".graphql" && ext != ".gql" {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		doc, gerr := parser.ParseQuery(&ast.Source{Name: rel, Input: string(b)})
		if gerr != nil {
			return fmt.Errorf("%s: %v", rel, gerr)
		}
		docs = append(docs, document{rel, doc})
		return nil
	})
	return docs, err
}

// clientTransforms makes in place the changes Apollo Client makes to a
// document before it goes to the server: __typename selected in every
// selection set below the root (unless one selects a __ field already, or
// belongs to an @export field), and the directives only the client reads
// taken out. Both are idempotent, so fragments shared by several operations
// are transformed once. @client fields are refused: they never reach a server.
func clientTransforms(doc *ast.QueryDocument) error {
	var err error
	var walk func(set ast.SelectionSet, typename bool) ast.SelectionSet
	walk = func(set ast.SelectionSet, typename bool) ast.SelectionSet {
		if len(set) == 0 {
			return set
		}
		hasDunder := false
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				hasDunder = hasDunder || strings.HasPrefix(s.Name, "__")
				if s.Directives.ForName("client") != nil && err == nil {
					err = fmt.Errorf("field %s is marked @client; client-only fields do not belong in documents the server trusts", s.Alias)
				}
				s.Directives = clientDirectivesRemoved(s.Directives)
				s.SelectionSet = walk(s.SelectionSet, s.Directives.ForName("export") == nil)
			case *ast.InlineFragment:
				s.Directives = clientDirectivesRemoved(s.Directives)
				s.SelectionSet = walk(s.SelectionSet, true)
			case *ast.FragmentSpread:
				s.Directives = clientDirectivesRemoved(s.Directives)
			}
		}
		if typename && !hasDunder {
			set = append(set, &ast.Field{Alias: "__typename", Name: "__typename"})
		}
		return set
	}
	for _, op := range doc.Operations {
		op.Directives = clientDirectivesRemoved(op.Directives)
		op.SelectionSet = walk(op.SelectionSet, false)
	}
	for _, f := range doc.Fragments {
		f.Directives = clientDirectivesRemoved(f.Directives)
		f.SelectionSet = walk(f.SelectionSet, true)
	}
	return err
}

// clientDirectivesRemoved drops @connection, @nonreactive and @unmask, which
// Apollo Client reads and removes before sending.
func clientDirectivesRemoved(ds ast.DirectiveList) ast.DirectiveList {
	out := ds[:0:0]
	for _, d := range ds {
		switch d.Name {
		case "connection", "nonreactive", "unmask":
		default:
			out = append(out, d)
		}
	}
	return out
}

// fragmentSpreads names the fragments doc's definitions spread, in order.
func fragmentSpreads(doc *ast.QueryDocument) []string {
	var names []string
	seen := map[string]bool{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				if !seen[s.Name] {
					seen[s.Name] = true
					names = append(names, s.Name)
				}
			}
		}
	}
	for _, op := range doc.Operations {
		walk(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		walk(f.SelectionSet)
	}
	return names
}
