package coherence

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGetNeverOlderThanTheCall: a value written before Get was called is always
// seen, however reads are shared.
func TestGetNeverOlderThanTheCall(t *testing.T) {
	var version, reads atomic.Int64
	g := New(func(ctx context.Context, keys []string) (map[string]int64, error) {
		reads.Add(1)
		v := version.Load()
		time.Sleep(2 * time.Millisecond) // a read takes a while: later callers pile up
		out := map[string]int64{}
		for _, k := range keys {
			out[k] = v
		}
		return out, nil
	})
	var wg sync.WaitGroup
	var stale, calls atomic.Int64
	for w := 0; w < 50; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				if w == 0 {
					version.Add(1) // one writer among the readers
				}
				before := version.Load()
				got, err := g.Get(context.Background(), fmt.Sprint("k", w%5))
				if err != nil {
					t.Error(err)
					return
				}
				calls.Add(1)
				if got < before {
					stale.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if stale.Load() != 0 {
		t.Fatalf("%d of %d calls saw a value older than their call", stale.Load(), calls.Load())
	}
	if r, c := reads.Load(), calls.Load(); r*4 > c {
		t.Fatalf("%d reads for %d calls: reads are not shared", r, c)
	} else {
		t.Logf("%d reads for %d calls", r, c)
	}
}

func TestKeysAndErrors(t *testing.T) {
	boom := errors.New("boom")
	g := New(func(ctx context.Context, keys []string) (map[string]string, error) {
		out := map[string]string{}
		for _, k := range keys {
			if k == "bad" {
				return nil, boom
			}
			if k != "absent" {
				out[k] = "value of " + k
			}
		}
		return out, nil
	})
	if v, err := g.Get(context.Background(), "a"); err != nil || v != "value of a" {
		t.Fatalf("a: %q %v", v, err)
	}
	if v, err := g.Get(context.Background(), "absent"); err != nil || v != "" {
		t.Fatalf("absent: %q %v", v, err)
	}
	if _, err := g.Get(context.Background(), "bad"); !errors.Is(err, boom) {
		t.Fatalf("bad: %v", err)
	}
}

func TestCallerContextBoundsOnlyItsWait(t *testing.T) {
	release := make(chan struct{})
	g := New(func(ctx context.Context, keys []string) (map[string]int, error) {
		<-release
		return map[string]int{"k": 7}, ctx.Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := g.Get(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the caller's deadline, got %v", err)
	}
	close(release)
	// The read that the timed-out caller started finishes for nobody; the next
	// caller gets a read of its own, which succeeds.
	if v, err := g.Get(context.Background(), "k"); err != nil || v != 7 {
		t.Fatalf("after: %d %v", v, err)
	}
}

// With a linger, a stream of callers shares fewer reads, and still no caller gets
// a value older than its call; a caller that finds the group idle is not delayed.
func TestLingerUnderLoad(t *testing.T) {
	run := func(linger time.Duration) (reads, calls, stale int64) {
		var version, nReads atomic.Int64
		g := New(func(ctx context.Context, keys []string) (map[string]int64, error) {
			nReads.Add(1)
			v := version.Load()
			time.Sleep(200 * time.Microsecond)
			return map[string]int64{"k": v}, nil
		}).WithLinger(linger)
		var wg sync.WaitGroup
		var nStale, nCalls atomic.Int64
		for w := 0; w < 20; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					if w == 0 {
						version.Add(1)
					}
					before := version.Load()
					got, err := g.Get(context.Background(), "k")
					if err != nil {
						t.Error(err)
						return
					}
					nCalls.Add(1)
					if got < before {
						nStale.Add(1)
					}
					// The rest of a request, of another length for each worker,
					// so that arrivals spread out instead of coming back together
					// after each read (then they share reads without a linger).
					time.Sleep(time.Millisecond + time.Duration(w)*97*time.Microsecond)
				}
			}()
		}
		wg.Wait()
		return nReads.Load(), nCalls.Load(), nStale.Load()
	}
	r0, c0, s0 := run(0)
	r1, c1, s1 := run(2 * time.Millisecond)
	t.Logf("no linger: %d reads for %d calls; 2 ms linger: %d reads for %d calls", r0, c0, r1, c1)
	if s0 != 0 || s1 != 0 {
		t.Fatalf("stale values: %d without linger, %d with", s0, s1)
	}
	if r1*10 > r0*9 {
		t.Errorf("linger did not share reads: %d reads against %d without", r1, r0)
	}

	g := New(func(ctx context.Context, keys []string) (map[string]int, error) {
		return map[string]int{"k": 1}, nil
	}).WithLinger(time.Second)
	start := time.Now()
	if v, err := g.Get(context.Background(), "k"); err != nil || v != 1 {
		t.Fatalf("Get = %v, %v", v, err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("an idle group lingered: %v", d)
	}
}
