// Package timing holds what tests need to bound how long something takes on a
// shared machine: make test runs packages in parallel under -race on two
// cores, so one run of anything can be paused for a while.
package timing

import "time"

// Fastest runs fn up to n times and returns its quickest run; it stops early
// once a run is quicker than enough. A bound on the quickest run catches work
// that is slow by construction (slow every time), not a pause of the machine.
func Fastest(n int, enough time.Duration, fn func()) time.Duration {
	best := time.Duration(1<<63 - 1)
	for i := 0; i < n; i++ {
		start := time.Now()
		fn()
		if d := time.Since(start); d < best {
			best = d
		}
		if best < enough {
			break
		}
	}
	return best
}
