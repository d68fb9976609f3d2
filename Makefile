# credkeep: the two commands are `make run` and `make test`.
# Everything builds with the `cse` tag (client-side field encryption, libmongocrypt).

GO       ?= go
TAGS     := cse
BIN      := bin/credkeep
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PKGS := libmongocrypt-dev pkg-config gcc

.PHONY: run test build generate lint deps clean check-generated manifest playground console fuzz conformance browser soak bench bench-busy bench-rotate

## run: install what is missing, build, and start the server on the embedded database (:8080, ./data)
run: deps build
	./$(BIN)

## test: every test, with the race detector
test: deps
	$(GO) test -tags $(TAGS) -race -count=1 ./...

## build: the server binary in bin/
build: deps
	$(GO) build -tags $(TAGS) -o $(BIN) .

## generate: regenerate graph/ from schema.graphqls (never edit graph/ by hand)
generate:
	$(GO) generate ./...

## check-generated: fail if graph/ or the tests' typed client is not what `make generate` makes of schema.graphqls
check-generated: generate
	git diff --exit-code -- graph/ app/client_gen_test.go

## lint: gofmt and go vet (graph/ is generated and skipped by gofmt)
lint: deps
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^graph/')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags $(TAGS) ./...

## deps: install the C library for field encryption (Debian/Ubuntu apt, macOS brew) if it is missing
deps:
	@command -v $(GO) >/dev/null || { echo "Go is required: https://go.dev/dl (see go.mod for the version)"; exit 1; }
	@if pkg-config --exists libmongocrypt 2>/dev/null && command -v gcc >/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
	  echo "installing $(APT_PKGS)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_PKGS) >/dev/null; \
	elif command -v brew >/dev/null; then brew install libmongocrypt pkg-config; \
	else echo "install libmongocrypt (>= 1.7) and pkg-config with your package manager"; exit 1; fi

clean:
	rm -rf bin

## manifest: build a trusted-documents manifest from a folder of .graphql operations
##   make manifest DIR=operations OUT=persisted-queries.json
manifest: deps
	$(GO) run -tags $(TAGS) . manifest $(DIR) -o $(OUT)

## playground: rebuild the embedded GraphiQL from the pinned npm packages (needs Node; the output is committed)
playground:
	cd playground && npm ci --no-audit --no-fund && npm run build

## console: rebuild the web console (needs Node; the output in httpapi/console/ is committed): its
##   operations' manifest, their types, a tsc --strict check, the bundle
console: deps
	$(GO) run -tags $(TAGS) . manifest console/src/operations -o httpapi/console/manifest.json
	cd console && npm ci --no-audit --no-fund && npm run codegen && npm run typecheck && npm run bundle

FUZZTIME ?= 500000x
FUZZ_TARGETS := apitoken/tokenformat:FuzzValid authn:FuzzVerify credential:FuzzValidate credential:FuzzCursor internal/persisted:FuzzParseManifest internal/netguard:FuzzAllowedString internal/names:FuzzText

## fuzz: run every fuzz target for FUZZTIME: a count of executions (500000x; CI 50000x), not a duration,
## because Go 1.26's fuzz coordinator can fail a duration run at its deadline with "context deadline
## exceeded" under CPU load (golang/go#75804); a duration still works: make fuzz FUZZTIME=1m
fuzz: deps
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
	  echo "fuzz $$pkg $$fn"; $(GO) test -tags $(TAGS) -run XXX -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) ./$$pkg/ || exit 1; done

## conformance: the client checks against started servers (needs Node): the graphql-http audit,
##   Apollo Client, and a settings page built with Codegen's client preset and Apollo's persisted queries
conformance: deps
	./conformance/run.sh

## browser: the pages in Debian's chromium through playwright-core, against a started server
##   (needs Node and chromium: apt-get install chromium)
browser: deps
	./browser/run.sh

## soak: the long reliability tests, repeated
soak: deps
	$(GO) test -tags $(TAGS) -count=3 -run 'Outage|CrashSafety|Concurrent' -v ./ ./app/ | grep -E '^(=== RUN|--- |ok|FAIL)|outage_test|crash_test|concurrency_test'

## bench-rotate: rotate the data key of a workspace of 5,000 credentials under useCredential load (a few minutes)
bench-rotate: build
	$(GO) run ./bench -bin $(BIN) -rotate 5000 -out bench-rotate.json

## bench: the load benchmark: baseline vs credkeep scenarios, one table and bench-result.json (a few minutes)
bench: build
	$(GO) run ./bench -bin $(BIN) -out bench-result.json

## bench-busy: the same with a CPU burner on half the cores beside the whole run, baseline included
bench-busy: build
	$(GO) run ./bench -bin $(BIN) -busy -out bench-busy.json
