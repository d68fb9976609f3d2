package main

//go:generate go run ./internal/gqlexec/gqlgen -config gqlgen.yml
