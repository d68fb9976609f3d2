// Command credkeep is the credential service: a GraphQL API that keeps a
// workspace's third-party credentials encrypted and lets people and machines use
// them without a person seeing a secret again.
//
//	credkeep [serve]                     start the server (configuration: environment, SPEC.md §7)
//	credkeep token --sub ID [flags]      print a JWT signed with CREDKEEP_JWT_SECRET, for local use
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"credkeep/app"
	"credkeep/authn"
	"credkeep/connection"
	"credkeep/graph"
	"credkeep/httpapi"
	"credkeep/internal/config"
	"credkeep/internal/keyfile"
	"credkeep/internal/logging"
	"credkeep/internal/persisted"
	"credkeep/internal/redact"
	"credkeep/kms"
	"credkeep/storage"
	"credkeep/storage/embedded"
	"credkeep/tracing"
	"credkeep/usecount"
)

// Exit codes: 2 for bad configuration (SPEC.md §7), 1 for anything else.
const (
	exitFailure = 1
	exitConfig  = 2
)

// devTokenTTL is how long the development admin JWT printed at start-up lasts.
const devTokenTTL = 24 * time.Hour

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(stdout, stderr)
	case "token":
		return mintToken(args, stdout, stderr)
	case "manifest":
		return buildManifest(args, stdout, stderr)
	case "keys":
		return keysCommand(args, stdout, stderr)
	case "help":
		fmt.Fprintln(stdout, "usage: credkeep [serve] | credkeep token --sub ID [--email E] [--name N] [--admin] [--ttl 1h] | credkeep manifest DIR [-o FILE] | credkeep keys rewrap")
		return 0
	}
	fmt.Fprintf(stderr, "credkeep: unknown command %q (want serve, token, manifest or keys)\n", cmd)
	return exitConfig
}

// configError prints one line naming the variable at fault and returns exit code 2.
func configError(stderr io.Writer, variable string, err error) int {
	fmt.Fprintf(stderr, "credkeep: %s: %v\n", variable, err)
	return exitConfig
}

// kmsConfigError reports a kms.New error under the variable it names.
func kmsConfigError(stderr io.Writer, err error) int {
	var ce *config.Error
	if errors.As(err, &ce) {
		return configError(stderr, ce.Var, errors.New(ce.Msg))
	}
	return configError(stderr, "CREDKEEP_KMS_PROVIDER", err)
}

// devMasterKey is where a development server keeps its local master key.
func devMasterKey(cfg *config.Config) string { return filepath.Join(cfg.DataDir, "master.key") }

// localKey is the local master key configured (CREDKEEP_MASTER_KEY) or, in
// development, the one in the data directory if there is one; empty when
// there is neither (nothing is created here).
func localKey(cfg *config.Config) (redact.Bytes, error) {
	if cfg.MasterKey.Len() > 0 {
		return cfg.MasterKey, nil
	}
	if _, err := os.Stat(devMasterKey(cfg)); err != nil {
		return redact.Bytes{}, nil
	}
	key, _, err := keyfile.LoadOrCreate(devMasterKey(cfg), config.MasterKeyLen)
	return key, err
}

// defaultGCPercent is the collector's target when GOGC is not set. A request
// allocates a few hundred short-lived objects (GraphQL field contexts, BSON), and
// at Go's default of 100 the collector takes a large share of the CPU under load;
// at 800 the heap may grow to nine times the live data, so that under load the
// memory limit below, not the live data, decides how often it runs: with a
// smaller cache a lower target made the collector run more often for the same
// work (the figures: docs/performance.md). GOGC (and GOMEMLIMIT) still win when set.
const defaultGCPercent = 800

// defaultMemoryLimit is the collector's soft memory limit when GOMEMLIMIT is
// not set: the heap grows to nine times the live data (defaultGCPercent) only
// while that stays under it; past it the collector runs as often as it must
// (at most half the CPU: Go's own guard). So a busy server keeps the cheap
// collections of a small heap without growing to several hundred MiB.
// GOMEMLIMIT overrides it ("off": no limit).
const defaultMemoryLimit = 256 << 20

// oneMoreProc gives the scheduler one P more than the machine has CPUs when
// GOMAXPROCS is not set and nothing (a container's CPU quota) lowered Go's
// default below the CPU count. A request makes calls that leave their P
// (libmongocrypt through cgo, each audit round's fsync, SQLite's writes), and
// under load the runtime hands that P to another goroutine; coming back, the
// call's goroutine waits for a P in the global queue, behind every goroutine
// already runnable, and the audit committer's wait is every waiting use's.
// With a spare P it finds one sooner, and useCredential's tail is shorter
// (docs/performance.md, tenth round). Under a CPU quota an extra thread would
// be throttled instead, so the default stays there.
func oneMoreProc() {
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		return
	}
	if n := runtime.GOMAXPROCS(0); n == runtime.NumCPU() {
		runtime.GOMAXPROCS(n + 1)
	}
}

func serve(stdout, stderr io.Writer) int {
	// Every file and folder the server creates (the embedded database's SQLite
	// files, its socket, generated keys) is its user's alone: 0600 and 0700.
	syscall.Umask(0o077)
	oneMoreProc()
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "credkeep: %v\n", err)
		return exitConfig
	}
	log := logging.New(stderr, cfg.LogFormat, cfg.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var warnings []string
	// With another provider, data keys may still be wrapped by this local key
	// until `credkeep keys rewrap` ran.
	masterKey, err := localKey(cfg)
	if err != nil {
		return configError(stderr, "CREDKEEP_DATA_DIR", err)
	}
	if masterKey.Len() == 0 && cfg.KMS.Provider == "local" {
		var created bool
		masterKey, created, err = keyfile.LoadOrCreate(devMasterKey(cfg), config.MasterKeyLen)
		if err != nil {
			return configError(stderr, "CREDKEEP_DATA_DIR", err)
		}
		how := "using"
		if created {
			how = "generated"
		}
		warnings = append(warnings, fmt.Sprintf("%s a development master key in %s: set CREDKEEP_MASTER_KEY in production, or secrets are only as safe as that file",
			how, devMasterKey(cfg)))
	}
	jwtSecret := cfg.JWTSecret
	if cfg.DevAuth() {
		key, _, err := keyfile.LoadOrCreate(filepath.Join(cfg.DataDir, "dev-jwt.key"), 32)
		if err != nil {
			return configError(stderr, "CREDKEEP_DATA_DIR", err)
		}
		jwtSecret = redact.New(string(key.Reveal()))
	}

	kmsSettings, err := kms.New(cfg.KMS, masterKey)
	if err != nil {
		return kmsConfigError(stderr, err)
	}

	var tracer *tracing.Tracing // nil: no traces, nothing wrapped
	if tracing.Enabled(os.LookupEnv) {
		if tracer, err = tracing.New(ctx, os.LookupEnv, buildVersion(), log); err != nil {
			return configError(stderr, "OTEL_EXPORTER_OTLP_ENDPOINT", err)
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tracer.Shutdown(ctx); err != nil {
				log.Warn("traces not sent at shutdown", "error", err)
			}
		}()
	}

	var db storage.Embedded
	if cfg.Embedded() {
		e, err := embedded.Start(cfg.DataDir, logging.AtLeast(log, slog.LevelError).With("component", "ferretdb"))
		if err != nil {
			return configError(stderr, "CREDKEEP_DATA_DIR", err)
		}
		defer e.Stop() // last: after the store has closed
		db = e
	}
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	store, err := storage.Open(openCtx, storage.Options{
		URI:      cfg.MongoURI,
		Embedded: db,
		DBName:   cfg.DBName,
		KMS:      &kmsSettings,
		Logger:   log,
		// SingleInstance: FerretDB v1 at MONGODB_URI is refused unless this is the only instance.
		SingleInstance: cfg.SingleInstance,
		SecretVersions: cfg.SecretVersions,
		Monitor:        tracer.Monitor(),
	})
	cancel()
	if err != nil {
		variable := "MONGODB_URI"
		if cfg.Embedded() {
			variable = "CREDKEEP_DATA_DIR"
		}
		return configError(stderr, variable, err)
	}
	defer store.Close(context.Background())
	// Runs before the store closes (defers run last first): pending use counts are written.
	uses := usecount.New(store, log).Start()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := uses.Close(ctx); err != nil {
			log.Error("use counts not written at shutdown", "error", err)
		}
	}()

	var trusted *persisted.Trusted
	if cfg.PersistedQueries != "" {
		if trusted, err = persisted.LoadManifest(cfg.PersistedQueries, graph.NewExecutableSchema(graph.Config{}).Schema()); err != nil {
			return configError(stderr, "CREDKEEP_PERSISTED_QUERIES", err)
		}
		log.Info("trusted documents loaded", "operations", trusted.Len())
	}

	jwtConfig := authn.JWTConfig{Secret: jwtSecret, JWKSURL: cfg.JWKSURL, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience}
	var console *httpapi.ConsoleOptions
	if cfg.Console {
		console = &httpapi.ConsoleOptions{DevSignIn: cfg.DevAuth()}
	}
	if cfg.OIDC.Enabled() {
		provider, err := authn.DiscoverOIDC(ctx, cfg.OIDC.Issuer, nil)
		if err != nil {
			return configError(stderr, "CREDKEEP_OIDC_ISSUER", err)
		}
		// The provider's tokens: its keys, its issuer, for this client (or the
		// audience the console asks for).
		if jwtConfig.JWKSURL == "" {
			jwtConfig.JWKSURL = provider.JWKSURI
		}
		if jwtConfig.Issuer == "" {
			jwtConfig.Issuer = provider.Issuer
		}
		if jwtConfig.Audience == "" {
			jwtConfig.Audience = cmp.Or(cfg.OIDC.Audience, cfg.OIDC.ClientID)
		}
		if console != nil {
			console.OIDC = &httpapi.ConsoleOIDC{Issuer: provider.Issuer, ClientID: cfg.OIDC.ClientID, Scopes: cfg.OIDC.Scopes,
				Audience: cfg.OIDC.Audience, AuthorizationEndpoint: provider.AuthorizationEndpoint,
				TokenEndpoint: provider.TokenEndpoint, EndSessionEndpoint: provider.EndSessionEndpoint}
		}
		log.Info("people sign in with OpenID Connect", "issuer", provider.Issuer)
	}

	// The handler's background work (the deadline scheduler, resumed key
	// rotations, JWKS refresh) stops before the store closes: this defer runs
	// before the store's.
	background, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	handler, err := app.NewHandler(background, app.Options{
		Store:                store,
		Uses:                 uses,
		JWT:                  jwtConfig,
		Console:              console,
		Logger:               log,
		Dev:                  cfg.Dev,
		Playground:           cfg.Playground,
		TokenRateLimit:       cfg.TokenRateLimit,
		APQMax:               cfg.APQMax,
		ExpiryWarning:        cfg.ExpiryWarning,
		DeadlinesEvery:       time.Minute,
		WarmCache:            true,
		WebhooksEvery:        time.Second,
		MaxSubscriptions:     cfg.MaxSubscriptions,
		WebhookRateUnderLoad: cfg.WebhookRate,
		TrustedProxies:       cfg.TrustedProxies,
		CORSOrigins:          cfg.CORSOrigins,
		CORSHeaders:          cfg.CORSHeaders,
		Trusted:              trusted,
		Outbound: connection.Config{
			RedirectURL: cfg.OAuthRedirectURL,
			BaseURLs:    cfg.ProviderBaseURLs,
		},
		AllowPrivateTargets: cfg.AllowPrivateTargets,
	})
	if err != nil {
		return configError(stderr, "CREDKEEP_JWT_JWKS_URL", err)
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return configError(stderr, "CREDKEEP_ADDR", err)
	}
	srv := &http.Server{
		Handler:           tracer.Handler(handler),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	log.Info("credkeep listening", "addr", ln.Addr().String(), "embedded_db", cfg.Embedded())
	if cfg.DevAuth() {
		if err := printDevBanner(stdout, jwtSecret, cfg, ln.Addr()); err != nil {
			log.Error("mint development token", "error", err)
			return exitFailure
		}
	}

	if cfg.PprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		pp := &http.Server{Addr: cfg.PprofAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = pp.ListenAndServe() }()
		defer pp.Close()
		log.Warn("profiling endpoints enabled", "addr", cfg.PprofAddr)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		log.Error("server stopped", "error", err)
		return exitFailure
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("shutdown", "error", err)
	}
	return 0
}

// printDevBanner prints the development-mode warning, an admin JWT and the URLs.
// It goes to stdout, not the log: a token must never land in log storage.
func printDevBanner(w io.Writer, secret redact.Secret, cfg *config.Config, addr net.Addr) error {
	tok, err := authn.MintHS256(secret, authn.MintOptions{
		Subject: "dev-admin", Email: "admin@localhost", Name: "Dev Admin", Admin: true,
		TTL: devTokenTTL, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
	})
	if err != nil {
		return err
	}
	base := "http://" + displayAddr(addr)
	fmt.Fprintf(w, `
WARNING: development mode. No CREDKEEP_JWT_SECRET or CREDKEEP_JWT_JWKS_URL is set, so
credkeep signs its own JWTs with a key in %s. Do not expose this server.

Console:    %s/
Sign in:    %s/#token=%s
            (the token travels in the URL fragment, which the browser never sends)

Dev admin JWT (valid %v hours), send it as "Authorization: Bearer <token>":
%s

GraphQL:    %s/graphql
Playground: %s/playground

`, cfg.DataDir, base, base, tok.Reveal(), devTokenTTL.Hours(), tok.Reveal(), base, base)
	return nil
}

func displayAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() || ip.IsLoopback() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func mintToken(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sub := fs.String("sub", "", "user id (the JWT sub claim); required")
	email := fs.String("email", "", "e-mail claim")
	name := fs.String("name", "", "name claim")
	admin := fs.Bool("admin", false, `add roles: ["admin"] (platform admin)`)
	ttl := fs.Duration("ttl", time.Hour, "lifetime of the token")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	if *sub == "" {
		fmt.Fprintln(stderr, "credkeep token: --sub is required")
		return exitConfig
	}
	if *ttl <= 0 || *ttl > 30*24*time.Hour {
		fmt.Fprintln(stderr, "credkeep token: --ttl must be between 1s and 720h")
		return exitConfig
	}
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "credkeep token: %v\n", err)
		return exitConfig
	}
	secret := cfg.JWTSecret
	if secret.IsZero() && cfg.DevAuth() {
		// A development server (make run) signs with the key in its data directory.
		devKey := filepath.Join(cfg.DataDir, "dev-jwt.key")
		if _, err := os.Stat(devKey); err == nil {
			key, _, err := keyfile.LoadOrCreate(devKey, 32)
			if err != nil {
				fmt.Fprintf(stderr, "credkeep token: %v\n", err)
				return exitConfig
			}
			secret = redact.New(string(key.Reveal()))
		}
	}
	if secret.IsZero() {
		fmt.Fprintln(stderr, "credkeep token: CREDKEEP_JWT_SECRET is not set (nor a development server's key in CREDKEEP_DATA_DIR); the token must be signed with the secret the server verifies with")
		return exitConfig
	}
	tok, err := authn.MintHS256(secret, authn.MintOptions{
		Subject: *sub, Email: *email, Name: *name, Admin: *admin, TTL: *ttl,
		Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
	})
	if err != nil {
		fmt.Fprintf(stderr, "credkeep token: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(stdout, tok.Reveal())
	return 0
}

// buildManifest turns a folder of .graphql operations into an Apollo persisted
// query manifest (for CREDKEEP_PERSISTED_QUERIES), checked against the schema.
func buildManifest(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("manifest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the manifest to this file (default: stdout)")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	// The folder may come before the flags: parse what follows it too.
	dir := fs.Arg(0)
	if err := fs.Parse(fs.Args()[min(1, fs.NArg()):]); err != nil {
		return exitConfig
	}
	if dir == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "credkeep manifest: usage: credkeep manifest DIR [-o FILE]")
		return exitConfig
	}
	m, err := persisted.BuildManifest(dir, graph.NewExecutableSchema(graph.Config{}).Schema())
	if err != nil {
		fmt.Fprintf(stderr, "credkeep manifest: %v\n", err)
		return exitFailure
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "credkeep manifest: %v\n", err)
		return exitFailure
	}
	b = append(b, '\n')
	if *out == "" {
		_, _ = stdout.Write(b)
		return 0
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintf(stderr, "credkeep manifest: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "credkeep manifest: %d operations written to %s\n", len(m.Operations), *out)
	return 0
}

// buildVersion is the module version the binary was built from ("devel" for
// a build from a work tree), for the service.version of traces.
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "devel"
}
