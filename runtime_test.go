package main

import (
	"bufio"
	"maps"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestRuntimeDefaults starts the server binary and reads the runtime's
// settings from its own metrics: one P more than the CPUs where Go's default
// is the CPU count, the GC target 800 and the 256 MiB soft memory limit; and
// the environment's GOMAXPROCS, GOGC and GOMEMLIMIT when they are set.
func TestRuntimeDefaults(t *testing.T) {
	for _, v := range []string{"GOMAXPROCS", "GOGC", "GOMEMLIMIT"} {
		if _, set := os.LookupEnv(v); set {
			t.Skipf("%s is set in the tests' environment", v)
		}
	}
	settings := func(env ...string) map[string]float64 {
		t.Helper()
		p := newServerProc(t, t.TempDir())
		p.env = append(p.env, env...)
		p.start()
		defer p.kill()
		resp, err := http.Get(p.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]float64{}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			name, value, ok := strings.Cut(sc.Text(), " ")
			switch name {
			case "go_sched_gomaxprocs_threads", "go_gc_gogc_percent", "go_gc_gomemlimit_bytes":
				if f, err := strconv.ParseFloat(value, 64); ok && err == nil {
					out[name] = f
				}
			}
		}
		if len(out) != 3 {
			t.Fatalf("the runtime's settings are not all in /metrics: %v", out)
		}
		return out
	}
	// This test binary runs with Go's default; the server adds one where that is every CPU.
	procs := runtime.GOMAXPROCS(0)
	if procs == runtime.NumCPU() {
		procs++
	}
	want := map[string]float64{"go_sched_gomaxprocs_threads": float64(procs), "go_gc_gogc_percent": 800, "go_gc_gomemlimit_bytes": 256 << 20}
	if got := settings(); !maps.Equal(got, want) {
		t.Errorf("defaults: %v, want %v", got, want)
	}
	want = map[string]float64{"go_sched_gomaxprocs_threads": 1, "go_gc_gogc_percent": 100, "go_gc_gomemlimit_bytes": 512 << 20}
	if got := settings("GOMAXPROCS=1", "GOGC=100", "GOMEMLIMIT=512MiB"); !maps.Equal(got, want) {
		t.Errorf("set in the environment: %v, want %v", got, want)
	}
}
