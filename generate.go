package main

//go:generate go run ./gqlexec/gqlgen -config gqlgen.yml
