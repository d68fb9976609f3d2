// Package gqlprint prints an executable GraphQL document character for
// character as graphql-js's print does. That text is what JavaScript clients
// send and hash (Apollo Client's persisted-query ids are the SHA-256 of it), so
// a server that builds trusted documents must produce the same bytes.
package gqlprint

import (
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/vektah/gqlparser/v2/ast"
)

// maxLineLength is graphql-js's limit past which a field's arguments go on
// lines of their own; it counts UTF-16 code units, as JavaScript strings do.
const maxLineLength = 80

// Print prints the operations of doc, then its fragments, each in the order
// the document holds them, separated by blank lines.
func Print(doc *ast.QueryDocument) string {
	p := printer{src: map[*ast.Source][]rune{}}
	defs := make([]string, 0, len(doc.Operations)+len(doc.Fragments))
	for _, op := range doc.Operations {
		defs = append(defs, p.operation(op))
	}
	for _, f := range doc.Fragments {
		defs = append(defs, p.fragment(f))
	}
	return join(defs, "\n\n")
}

type printer struct {
	// src holds the parsed texts, consulted only to tell `a: a` (an explicit
	// alias, which graphql-js prints) from `a` (gqlparser gives both Alias a).
	src map[*ast.Source][]rune
}

func (p printer) operation(op *ast.OperationDefinition) string {
	vars := make([]string, len(op.VariableDefinitions))
	multiline := false
	for i, v := range op.VariableDefinitions {
		vars[i] = p.variable(v)
		multiline = multiline || strings.Contains(vars[i], "\n")
	}
	varDefs := wrap("(", join(vars, ", "), ")")
	if multiline {
		varDefs = wrap("(\n", join(vars, "\n"), "\n)")
	}
	prefix := join([]string{string(op.Operation), op.Name + varDefs, p.directives(op.Directives)}, " ")
	if op.Operation == ast.Query && prefix == "query" {
		return p.selectionSet(op.SelectionSet) // the short form of an anonymous query
	}
	return join([]string{prefix, " ", p.selectionSet(op.SelectionSet)}, "")
}

func (p printer) variable(v *ast.VariableDefinition) string {
	return join([]string{"$", v.Variable, ": ", v.Type.String(), wrap(" = ", p.value(v.DefaultValue), ""), wrap(" ", p.directives(v.Directives), "")}, "")
}

func (p printer) fragment(f *ast.FragmentDefinition) string {
	vars := make([]string, len(f.VariableDefinition))
	for i, v := range f.VariableDefinition {
		vars[i] = p.variable(v)
	}
	return join([]string{"fragment ", f.Name, wrap("(", join(vars, ", "), ")"), " on ", f.TypeCondition, " ", wrap("", p.directives(f.Directives), " "), p.selectionSet(f.SelectionSet)}, "")
}

func (p printer) selectionSet(set ast.SelectionSet) string {
	items := make([]string, len(set))
	for i, s := range set {
		items[i] = p.selection(s)
	}
	return wrap("{\n", indent(join(items, "\n")), "\n}")
}

func (p printer) selection(s ast.Selection) string {
	switch s := s.(type) {
	case *ast.Field:
		prefix := s.Name
		if s.Alias != s.Name || p.explicitAlias(s) {
			prefix = s.Alias + ": " + s.Name
		}
		return join([]string{p.fieldLine(prefix, s.Arguments), wrap(" ", p.directives(s.Directives), ""), wrap(" ", p.selectionSet(s.SelectionSet), "")}, "")
	case *ast.FragmentSpread:
		return join([]string{"...", s.Name, wrap(" ", p.directives(s.Directives), "")}, "")
	case *ast.InlineFragment:
		return join([]string{"...", wrap("on ", s.TypeCondition, ""), p.directives(s.Directives), p.selectionSet(s.SelectionSet)}, " ")
	}
	panic(fmt.Sprintf("gqlprint: unknown selection %T", s))
}

// fieldLine is a field's name and arguments, the arguments one per line when
// the single line would pass maxLineLength.
func (p printer) fieldLine(prefix string, args ast.ArgumentList) string {
	if len(args) == 0 {
		return prefix
	}
	items := p.arguments(args)
	if length(prefix)+joinedLength(items, ", ")+2 > maxLineLength {
		return prefix + wrap("(\n", indent(join(items, "\n")), "\n)")
	}
	return prefix + wrap("(", join(items, ", "), ")")
}

func (p printer) arguments(args ast.ArgumentList) []string {
	items := make([]string, len(args))
	for i, a := range args {
		items[i] = join([]string{a.Name, ": ", p.value(a.Value)}, "")
	}
	return items
}

func (p printer) directives(ds ast.DirectiveList) string {
	items := make([]string, len(ds))
	for i, d := range ds {
		items[i] = join([]string{"@", d.Name, wrap("(", join(p.arguments(d.Arguments), ", "), ")")}, "")
	}
	return join(items, " ")
}

func (p printer) value(v *ast.Value) string {
	if v == nil {
		return ""
	}
	switch v.Kind {
	case ast.Variable:
		return "$" + v.Raw
	case ast.StringValue:
		return quote(v.Raw)
	case ast.BlockValue:
		return blockQuote(v.Raw)
	case ast.NullValue:
		return "null"
	case ast.ListValue:
		items := make([]string, len(v.Children))
		for i, c := range v.Children {
			items[i] = p.value(c.Value)
		}
		return "[" + join(items, ", ") + "]"
	case ast.ObjectValue:
		items := make([]string, len(v.Children))
		for i, c := range v.Children {
			items[i] = join([]string{c.Name, ": ", p.value(c.Value)}, "")
		}
		return "{" + join(items, ", ") + "}"
	default: // IntValue, FloatValue, BooleanValue, EnumValue: their source text
		return v.Raw
	}
}

// explicitAlias reports whether a field whose alias equals its name was
// written with the alias (`name: name`), by looking for the colon after it.
func (p printer) explicitAlias(f *ast.Field) bool {
	if f.Alias != f.Name || f.Position == nil || f.Position.Src == nil {
		return false
	}
	src, ok := p.src[f.Position.Src]
	if !ok {
		src = []rune(f.Position.Src.Input)
		p.src[f.Position.Src] = src
	}
	for i := f.Position.End; i < len(src); i++ {
		switch c := src[i]; {
		case c == ':':
			return true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '\ufeff':
		case c == '#':
			for i < len(src) && src[i] != '\n' && src[i] != '\r' {
				i++
			}
		default:
			return false
		}
	}
	return false
}

// join joins the non-empty items with sep.
func join(items []string, sep string) string {
	var b strings.Builder
	for _, s := range items {
		if s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
	}
	return b.String()
}

// wrap is start+s+end, or nothing when s is empty.
func wrap(start, s, end string) string {
	if s == "" {
		return ""
	}
	return start + s + end
}

// indent indents every line of s by two spaces, those inside block strings
// included (graphql-js does the same).
func indent(s string) string {
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

// length is the length of s as JavaScript counts it, in UTF-16 code units.
func length(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func joinedLength(items []string, sep string) int {
	n := 0
	for _, s := range items {
		if s != "" {
			if n > 0 {
				n += len(sep)
			}
			n += length(s)
		}
	}
	return n
}

// quote prints a string value, escaping what graphql-js escapes: control
// characters, the quote, the backslash, and U+007F to U+009F.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// blockQuote prints a block string value as graphql-js's printBlockString does.
func blockQuote(value string) string {
	escaped := strings.ReplaceAll(value, `"""`, `\"""`)
	lines := strings.Split(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(escaped), "\n")
	single := len(lines) == 1
	isSpace := func(s string) bool { return s != "" && (s[0] == ' ' || s[0] == '\t') }
	forceLeadingNewline := len(lines) > 1
	for _, l := range lines[1:] {
		if l != "" && !isSpace(l) {
			forceLeadingNewline = false
		}
	}
	trailingTripleQuotes := strings.HasSuffix(escaped, `\"""`)
	forceTrailingNewline := (strings.HasSuffix(value, `"`) && !trailingTripleQuotes) || strings.HasSuffix(value, `\`)
	multiline := !single || length(value) > 70 || forceTrailingNewline || forceLeadingNewline || trailingTripleQuotes
	var b strings.Builder
	b.WriteString(`"""`)
	if (multiline && !(single && isSpace(value))) || forceLeadingNewline {
		b.WriteByte('\n')
	}
	b.WriteString(escaped)
	if multiline || forceTrailingNewline {
		b.WriteByte('\n')
	}
	b.WriteString(`"""`)
	return b.String()
}
