// Command gqlgen is `make generate`: gqlgen's generator with three additions.
// After gqlgen has written graph/generated.go, the lists whose elements are
// plain (no resolver or context-taking method anywhere below them) are
// marshaled with gqlexec.MarshalSlice instead of a goroutine per element;
// fields that read a scalar or enum struct field marshal it directly instead
// of through graphql.ResolveField (leaves.go); the resolver fields of
// inline.go, which never wait for a batch, run in the caller's goroutine; and
// the objects of rendered.go are marshaled through gqlexec.Schema.Render,
// which keeps their renderings. Everything else is exactly what
// `go run github.com/99designs/gqlgen generate` makes.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen/config"
)

func main() {
	configFile := flag.String("config", "gqlgen.yml", "gqlgen config file")
	flag.Parse()
	if err := run(*configFile); err != nil {
		fmt.Fprintln(os.Stderr, "gqlgen:", err)
		os.Exit(1)
	}
}

func run(configFile string) error {
	cfg, err := config.LoadConfig(configFile)
	if err != nil {
		return err
	}
	lists, leaves := &sequentialLists{}, &leafFields{}
	if err := api.Generate(cfg, api.AddPlugin(lists), api.AddPlugin(leaves)); err != nil {
		return err
	}
	src, err := os.ReadFile(cfg.Exec.Filename)
	if err != nil {
		return err
	}
	src, err = rewriteLeaves(src, leaves.funcs)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.Exec.Filename, err)
	}
	if src, err = rewriteInline(src, inlineFields); err != nil {
		return fmt.Errorf("%s: %w", cfg.Exec.Filename, err)
	}
	if src, err = rewriteRendered(src, renderedObjects); err != nil {
		return fmt.Errorf("%s: %w", cfg.Exec.Filename, err)
	}
	out, err := rewrite(src, lists.funcs, lists.mixed, lists.schema)
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.Exec.Filename, err)
	}
	return os.WriteFile(cfg.Exec.Filename, out, 0o644)
}
