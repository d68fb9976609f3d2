// Command bench is credkeep's load benchmark (`make bench`). It starts a bare
// net/http JSON handler as the baseline and the credkeep binary on a fresh
// embedded database, seeds a realistic data set, drives each scenario from this
// separate process over loopback with vegeta, and prints req/s, p50, p99 and
// server CPU per request, each as a ratio to the baseline measured in the same
// run. The table is also written as JSON. Each credkeep scenario first runs
// unmeasured for -warmup, so the table shows a warm server; the cold start
// (first reads of every credential and list) is part of the warm-up.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func main() {
	bin := flag.String("bin", "bin/credkeep", "the credkeep binary")
	duration := flag.Duration("duration", 10*time.Second, "load per scenario")
	conns := flag.Int("connections", 50, "concurrent connections")
	creds := flag.Int("credentials", 5000, "credentials to seed")
	out := flag.String("out", "bench-result.json", "JSON result file")
	only := flag.String("only", "", "run only the scenarios whose name contains this (and the baseline)")
	warmup := flag.Duration("warmup", 10*time.Second, "unmeasured load before each scenario, so that caches are warm")
	flag.IntVar(&seedWorkspaces, "workspaces", 20, "workspaces the credentials are spread over (-workspaces 100 -credentials 50000: the scale run)")
	flag.BoolVar(&skipEvents, "skip-events", false, "leave out the event scenarios")
	flag.BoolVar(&withTraces, "traces", false, "run credkeep with traces exported (OTLP/HTTP) to a receiver in this process that discards them")
	rotate := flag.Int("rotate", 0, "instead of the scenarios: rotate the data key of a workspace of this many credentials under useCredential load")
	busy := flag.Bool("busy", false, "run a CPU burner on half the cores beside the whole run (make bench-busy)")
	burnCores := flag.Int("burn", 0, "internal: be the CPU burner of -busy, on this many cores")
	flag.Parse()
	if *burnCores > 0 {
		burn(*burnCores)
		return
	}
	stopBurner := func() {}
	if *busy {
		n := defaultBurners()
		burners = n
		stop, err := startBurner(n)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		stopBurner = stop
		fmt.Fprintf(os.Stderr, "a CPU burner keeps %d of %d cores busy\n", n, runtime.NumCPU())
	}
	var err error
	if *rotate > 0 {
		err = runRotation(*bin, *rotate, *duration, *conns, *out)
	} else {
		err = run(*bin, *duration, *warmup, *conns, *creds, *out, *only)
	}
	stopBurner()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Settings of the run (flags).
var (
	seedWorkspaces = 20
	skipEvents     bool
	withTraces     bool
	burners        int // cores the CPU burner keeps busy (-busy)
)

// Row is one scenario's result.
type Row struct {
	Scenario   string  `json:"scenario"`
	Requests   uint64  `json:"requests"`
	Success    float64 `json:"success"`
	RPS        float64 `json:"rps"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	CPUusPerRq float64 `json:"server_cpu_us_per_request"`
	Ratio      float64 `json:"ratio_to_baseline"`
	// The server's own means for the window (credkeep scenarios): a
	// request's time in the handler, and an audit entry's wait until durable.
	HandlerMs   float64 `json:"server_handler_mean_ms,omitempty"`
	AuditWaitMs float64 `json:"audit_wait_mean_ms,omitempty"`
}

// pageQuery is the page scenario's query: the first page of a workspace's
// credentials with fields and owner (also timed cold, bench/cold.go).
const pageQuery = `query($ws: ID!) { workspace(id: $ws) { credentials(first: 50) { totalCount edges { node { id name owner { id email } fields { key value isSet hint } } } } } }`

func run(bin string, duration, warmup time.Duration, conns, nCreds int, out, only string) error {
	baseline, stopBase := startBaseline()
	defer stopBase()
	srv, err := startCredkeep(bin)
	if err != nil {
		return err
	}
	defer srv.stop()

	fmt.Fprintf(os.Stderr, "seeding %d credentials ...\n", nCreds)
	seed, err := seedData(srv, nCreds)
	if err != nil {
		return err
	}
	waited := settle(srv.pid())
	fmt.Fprintf(os.Stderr, "the server settled %s after seeding\n", waited.Round(time.Second))

	scenarios := []struct {
		name    string
		url     string
		auth    string
		targets func(i int) []byte
		pid     int
	}{
		{"baseline net/http JSON", baseline + "/", "", func(int) []byte { return []byte(`{"query":"{ viewer { isAdmin } }"}`) }, 0},
		{"credential(id) with fields", srv.base + "/graphql", srv.jwt, func(i int) []byte {
			return gqlBody(`query($id: ID!) { credential(id: $id) { id name status fields { key value isSet hint } } }`, map[string]any{"id": seed.creds[i%len(seed.creds)]})
		}, srv.pid()},
		{"page of 50 with fields and owner", srv.base + "/graphql", srv.jwt, func(i int) []byte {
			return gqlBody(pageQuery, map[string]any{"ws": seed.workspaces[i%len(seed.workspaces)]})
		}, srv.pid()},
		{"APQ hash-only viewer", srv.base + "/graphql", srv.jwt, func(int) []byte { return seed.apq }, srv.pid()},
		{"useCredential by token", srv.base + "/graphql", seed.token, func(i int) []byte {
			return gqlBody(`mutation($id: ID!) { useCredential(id: $id) { fields { key value } } }`, map[string]any{"id": seed.creds[i%len(seed.creds)]})
		}, srv.pid()},
	}
	var rows []Row
	var firstPage *firstPageResult
	for i, sc := range scenarios {
		if i > 0 && !strings.Contains(sc.name, only) {
			continue
		}
		fmt.Fprintf(os.Stderr, "%s ...\n", sc.name)
		var first chan firstPageResult
		if strings.HasPrefix(sc.name, "page of 50") {
			first = make(chan firstPageResult, 1)
			go func() { first <- timeFirstPage(srv, seed.workspaces[0]) }()
		}
		if warmup > 0 && i > 0 {
			attack(sc.name, sc.url, sc.auth, sc.targets, warmup, conns, 0)
		}
		if first != nil {
			r := <-first
			firstPage = &r
		}
		// A scrape that fails leaves the row without the server's means.
		before, scraped := histogramTotals{}, error(nil)
		if sc.pid > 0 {
			before, scraped = scrapeTotals(srv.base)
		}
		row := attack(sc.name, sc.url, sc.auth, sc.targets, duration, conns, sc.pid)
		if sc.pid > 0 && scraped == nil {
			if after, err := scrapeTotals(srv.base); err == nil {
				after.meansSince(before, &row)
			}
		}
		if len(rows) > 0 && rows[0].RPS > 0 {
			row.Ratio = row.RPS / rows[0].RPS
		} else {
			row.Ratio = 1
		}
		rows = append(rows, row)
		// Each row as it is measured: a run that fails later (the scale
		// run did) still says what it measured.
		fmt.Fprintf(os.Stderr, "  %.0f req/s, %.1f%% ok, p99 %.1f ms, %.0f µs/req%s\n", row.RPS, row.Success*100, row.P99ms, row.CPUusPerRq, row.serverMeans())
	}
	cold, coldErr := coldLists(srv, seed)
	var events map[string]any
	if !skipEvents && (only == "" || strings.Contains("useCredential, events", only)) {
		evRows, extra, err := eventScenarios(srv, duration, warmup, conns, rows[0].RPS)
		if err != nil {
			return err
		}
		rows, events = append(rows, evRows...), extra
	}
	fmt.Printf("\n%-34s %9s %8s %9s %9s %12s %8s\n", "scenario", "req/s", "ok", "p50 ms", "p99 ms", "cpu µs/req", "ratio")
	for _, r := range rows {
		cpu := "-"
		if r.CPUusPerRq > 0 {
			cpu = fmt.Sprintf("%.0f", r.CPUusPerRq)
		}
		fmt.Printf("%-34s %9.0f %7.1f%% %9.2f %9.2f %12s %7.3fx\n", r.Scenario, r.RPS, r.Success*100, r.P50ms, r.P99ms, cpu, r.Ratio)
	}
	if firstPage != nil {
		fmt.Printf("first page with every list cold, beside the page scenario's load: %s\n", firstPage)
	}
	peak := peakRSS(srv.pid())
	fmt.Printf("credkeep peak resident memory: %d MiB\n", peak>>20)
	restarted, settledIn := firstPageAfterRestart(srv, bin, seed.workspaces[0])
	fmt.Printf("first page after a restart, once the server settled (%s after it started): %s; its peak resident memory %d MiB\n",
		settledIn.Round(time.Second), restarted, peakRSS(srv.pid())>>20)
	result := map[string]any{"at": time.Now().UTC(), "duration": duration.String(), "connections": conns, "credentials": nCreds,
		"workspaces": seedWorkspaces, "traces": withTraces, "busy_cores": burners, "server_peak_rss_bytes": peak, "rows": rows, "events": events, "cold_list": cold, "first_page": firstPage,
		"first_page_after_restart": restarted}
	if coldErr != nil {
		fmt.Printf("first page of a workspace after a write in it: failed: %v\n", coldErr)
		result["cold_list_error"] = coldErr.Error()
	} else {
		fmt.Printf("first page of a workspace after a write in it (%d credentials in it): median %.1f ms, max %.1f ms\n", cold.Credentials, cold.MedianMs, cold.MaxMs)
	}
	b, _ := json.MarshalIndent(result, "", "  ")
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return coldErr
}

func runRotation(bin string, n int, d time.Duration, conns int, out string) error {
	srv, err := startCredkeep(bin)
	if err != nil {
		return err
	}
	defer srv.stop()
	res, err := rotateScenario(srv, n, d, conns)
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(map[string]any{"at": time.Now().UTC(), "rotation": res}, "", "  ")
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

func gqlBody(q string, vars map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
	return b
}

// attack runs one scenario at full speed with conns connections.
func attack(name, url, auth string, body func(int) []byte, d time.Duration, conns, pid int) Row {
	return attackUntil(name, url, auth, body, d, conns, pid, nil)
}

// attackUntil is attack that also ends when stop is closed.
func attackUntil(name, url, auth string, body func(int) []byte, d time.Duration, conns, pid int, stop <-chan struct{}) Row {
	header := http.Header{"Content-Type": {"application/json"}}
	if auth != "" {
		header.Set("Authorization", "Bearer "+auth)
	}
	var mu sync.Mutex
	i := 0
	targeter := func(t *vegeta.Target) error {
		mu.Lock()
		i++
		n := i
		mu.Unlock()
		t.Method, t.URL, t.Body, t.Header = http.MethodPost, url, body(n), header
		return nil
	}
	atk := vegeta.NewAttacker(vegeta.Workers(uint64(conns)), vegeta.MaxWorkers(uint64(conns)), vegeta.Connections(conns), vegeta.KeepAlive(true))
	cpu0 := cpuTime(pid)
	var m vegeta.Metrics
	if stop != nil {
		go func() { <-stop; atk.Stop() }()
	}
	for res := range atk.Attack(targeter, vegeta.Rate{Freq: 0}, d, name) {
		if res.Code == http.StatusOK && bytes.Contains(res.Body, []byte(`"errors"`)) {
			res.Code, res.Error = 0, "graphql error"
		}
		m.Add(res)
	}
	m.Close()
	row := Row{Scenario: name, Requests: m.Requests, Success: m.Success, RPS: m.Throughput,
		P50ms: float64(m.Latencies.P50.Microseconds()) / 1000, P99ms: float64(m.Latencies.P99.Microseconds()) / 1000}
	if pid > 0 && m.Requests > 0 {
		row.CPUusPerRq = float64((cpuTime(pid) - cpu0).Microseconds()) / float64(m.Requests)
	}
	return row
}

// settle waits until the server uses less than a tenth of a core over 5 s
// (at most 5 minutes), and returns how long it waited: what seeding set off
// in the background (the deadline scheduler's rounds, counter flushes) ends
// before anything is measured. At 5,000 credentials that is at once; at
// 50,000 on the embedded database, a round reading every credential can
// take a minute.
func settle(pid int) time.Duration {
	start := time.Now()
	for time.Since(start) < 5*time.Minute {
		before := cpuTime(pid)
		time.Sleep(5 * time.Second)
		if cpuTime(pid)-before < 500*time.Millisecond {
			break
		}
	}
	return time.Since(start)
}

// cpuTime is a process's user+system CPU time from /proc (0 where unknown).
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which is in parentheses): utime is the 14th, stime the 15th.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ = 100
}

// peakRSS is a process's peak resident set size (VmHWM) from /proc, in bytes (0 where unknown).
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func startBaseline() (string, func()) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	s := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"viewer": map[string]any{"isAdmin": true}}})
	})}
	go func() { _ = s.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = s.Close() }
}

type server struct {
	cmd  *exec.Cmd
	base string
	jwt  string
	dir  string
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) stop() {
	_ = s.cmd.Process.Kill()
	_, _ = s.cmd.Process.Wait()
	_ = os.RemoveAll(s.dir)
}

func startCredkeep(bin string) (*server, error) {
	dir, err := os.MkdirTemp("", "ckbench")
	if err != nil {
		return nil, err
	}
	return startCredkeepIn(bin, dir)
}

// restart stops the server as an operator would (SIGTERM) and starts it again
// on the same data.
func (s *server) restart(bin string) error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_, _ = s.cmd.Process.Wait()
	again, err := startCredkeepIn(bin, s.dir)
	if err != nil {
		return err
	}
	*s = *again
	return nil
}

// startCredkeepIn starts credkeep on the data in dir (made if new).
func startCredkeepIn(bin, dir string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	secret := "bench-secret-bench-secret-bench-secret"
	env := append(os.Environ(), "CREDKEEP_ADDR="+addr, "CREDKEEP_DATA_DIR="+filepath.Join(dir, "data"), "MONGODB_URI=",
		"CREDKEEP_JWT_SECRET="+secret, "CREDKEEP_MASTER_KEY="+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, 96)),
		"CREDKEEP_TOKEN_RATE_LIMIT=1000000000", "CREDKEEP_LOG_LEVEL=error",
		// The event scenarios' webhook receivers are on loopback; 100 subscribers are one caller.
		"CREDKEEP_ALLOW_PRIVATE_TARGETS=true", "CREDKEEP_MAX_SUBSCRIPTIONS=200")
	if withTraces {
		env = append(env, "OTEL_EXPORTER_OTLP_ENDPOINT="+traceSink())
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with the bench, even interrupted
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, base: "http://" + addr, dir: dir}
	for i := 0; ; i++ {
		if r, err := http.Get(s.base + "/readyz"); err == nil && r.StatusCode == http.StatusOK {
			r.Body.Close()
			break
		}
		if i > 300 {
			s.stop()
			return nil, fmt.Errorf("credkeep did not become ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	tok := exec.Command(bin, "token", "--sub", "bench-owner", "--email", "owner@bench.local", "--ttl", "2h")
	tok.Env = env
	b, err := tok.Output()
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("mint token: %w", err)
	}
	s.jwt = strings.TrimSpace(string(b))
	return s, nil
}
