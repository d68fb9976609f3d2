package main

import (
	"bytes"
	"fmt"
	"go/format"
	"slices"
	"sort"
	"strconv"

	"github.com/99designs/gqlgen/codegen"
	"github.com/vektah/gqlparser/v2/ast"
)

// sequentialLists is a gqlgen plugin: while gqlgen builds its data it collects
// the marshal functions of lists of plain objects.
type sequentialLists struct {
	funcs []string
	// mixed: the marshal functions of the other lists of objects, by element
	// type; they decide per query (gqlexec.Schema.MarshalList).
	mixed map[string]string
	// schema is the source of the gqlexec.Schema those use.
	schema []byte
}

func (*sequentialLists) Name() string { return "sequentiallists" }

func (p *sequentialLists) GenerateCode(data *codegen.Data) error {
	objects := map[string]*codegen.Object{}
	for _, o := range data.Objects {
		objects[o.Name] = o
	}
	plain := plainness{objects: objects, known: map[string]bool{}}
	seen := map[string]bool{}
	p.mixed = map[string]string{}
	for _, t := range data.ReferencedTypes {
		if !t.IsSlice() || t.IsScalar() || t.Elem() == nil || t.Elem().Definition == nil {
			continue
		}
		fn, elem := t.MarshalFunc(), t.Elem().Definition.Name
		switch {
		case seen[fn]:
		case plain.object(elem):
			p.funcs = append(p.funcs, fn)
		case objects[elem] != nil && objects[elem].Kind == ast.Object:
			p.mixed[fn] = elem
		}
		seen[fn] = true
	}
	sort.Strings(p.funcs)
	if err := checkKept(objects); err != nil {
		return err
	}
	p.schema = schemaSource(data.Objects)
	return nil
}

// schemaSource writes the gqlexec.Schema of the objects: for each field,
// whether it waits (runs concurrently and is not made inline, see inline.go),
// the type it leads to, and whether a kept rendering may hold it (rendered.go).
func schemaSource(objects codegen.Objects) []byte {
	var b bytes.Buffer
	b.WriteString("\n// gqlexecSchema is written by internal/gqlexec/gqlgen: which fields wait and which may be kept, for gqlexec.Schema.MarshalList and Render.\n")
	b.WriteString("var gqlexecSchema = gqlexec.Schema{\n")
	for _, o := range objects {
		if o.Root || o.Kind != ast.Object {
			continue
		}
		fmt.Fprintf(&b, "\t%q: {Implementors: []string{%q", o.Name, o.Name)
		for _, i := range o.Implements {
			fmt.Fprintf(&b, ", %q", i.Name)
		}
		b.WriteString("}, Fields: map[string]gqlexec.Field{\n")
		for _, f := range o.Fields {
			waits := f.IsConcurrent() && !slices.Contains(inlineFields[o.Name], f.Name)
			child := ""
			if d := f.TypeReference.Definition; d != nil && d.Kind != ast.Scalar && d.Kind != ast.Enum {
				child = d.Name
			}
			kept := slices.Contains(keptFields[o.Name], f.Name)
			fmt.Fprintf(&b, "\t\t%q: {Waits: %v, Child: %q, Kept: %v},\n", f.Name, waits, child, kept)
		}
		b.WriteString("\t}},\n")
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// plainness decides whether an object, and every object reachable through its
// fields, resolves without a resolver or a context-taking method (gqlgen runs
// those concurrently, and a dataloader behind one waits for its batch).
type plainness struct {
	objects map[string]*codegen.Object
	known   map[string]bool
}

func (p plainness) object(name string) bool {
	if v, ok := p.known[name]; ok {
		return v
	}
	o, ok := p.objects[name]
	if !ok || o.Kind != ast.Object {
		return false // interfaces and unions: not examined, so not plain
	}
	p.known[name] = false // a cycle counts as not plain while it is examined
	for _, f := range o.Fields {
		if f.IsConcurrent() {
			return false
		}
		if d := f.TypeReference.Definition; d != nil && d.Kind != ast.Scalar && d.Kind != ast.Enum && !p.object(d.Name) {
			return false
		}
	}
	p.known[name] = true
	return true
}

const (
	concurrent = "graphql.MarshalSliceConcurrently("
	sequential = "gqlexec.MarshalSlice("
)

// replaceCall replaces, in the function fn of src, its one call of
// MarshalSliceConcurrently with call, dropping the argument text drop that
// follows the call's opening parenthesis.
func replaceCall(src []byte, fn, call, drop string) ([]byte, error) {
	start := bytes.Index(src, []byte("func (ec *executionContext) "+fn+"("))
	if start < 0 {
		return nil, fmt.Errorf("marshal function %s not found", fn)
	}
	end := bytes.Index(src[start+1:], []byte("\nfunc "))
	if end < 0 {
		end = len(src) - start - 1
	}
	body := src[start : start+1+end]
	if bytes.Count(body, []byte(concurrent+drop)) != 1 {
		return nil, fmt.Errorf("%s: expected one call of %s", fn, concurrent)
	}
	replaced := bytes.Replace(body, []byte(concurrent+drop), []byte(call), 1)
	return append(src[:start:start], append(replaced, src[start+len(body):]...)...), nil
}

// rewrite makes each named marshal function in the generated source call
// gqlexec.MarshalSlice, and imports gqlexec. A function that is missing, or
// does not call MarshalSliceConcurrently exactly once, is an error: the
// generator changed and this must be looked at.
func rewrite(src []byte, funcs []string, mixed map[string]string, schema []byte) ([]byte, error) {
	var err error
	for fn, elem := range mixed {
		list := "gqlexecSchema.MarshalList(ctx, sel, " + strconv.Quote(elem) + ", "
		// MarshalSliceConcurrently(ctx, … becomes MarshalList(ctx, sel, "T", …
		if src, err = replaceCall(src, fn, list, "ctx, "); err != nil {
			return nil, err
		}
	}
	src = append(src, schema...)
	for _, fn := range funcs {
		if src, err = replaceCall(src, fn, sequential, ""); err != nil {
			return nil, err
		}
	}
	imp := []byte("import (\n")
	i := bytes.Index(src, imp)
	if i < 0 {
		return nil, fmt.Errorf("no import block")
	}
	src = append(src[:i+len(imp):i+len(imp)], append([]byte("\t\"credkeep/internal/gqlexec\"\n"), src[i+len(imp):]...)...)
	return format.Source(src)
}
