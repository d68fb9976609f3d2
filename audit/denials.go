package audit

import (
	"context"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"credkeep/authn"
)

// Bounds on ACCESS_DENIED entries, per instance: a flood of refused requests
// must not grow the log without limit.
const (
	// At most one entry per actor, target and minute; the attempts in between
	// are counted and reported in the next entry's "suppressed" detail.
	denialPerKey = time.Minute
	// At most this many entries per workspace and minute, whatever the keys,
	// counted separately for members and for outsiders, so that people outside
	// a workspace can never use up the budget that records its members'
	// refused attempts.
	denialsPerLogPerMinute = 60
)

type denialLimiter struct {
	mu   sync.Mutex
	keys *lru.Cache[string, *denialKey]
	logs map[string]*logWindow
}

type denialKey struct {
	last       time.Time
	suppressed int
}

type logWindow struct {
	minute time.Time
	n      int
}

func newDenialLimiter() *denialLimiter {
	keys, _ := lru.New[string, *denialKey](10_000)
	return &denialLimiter{keys: keys, logs: map[string]*logWindow{}}
}

// allow decides whether a denied attempt gets an entry, and how many attempts
// of the same key were suppressed since its last entry.
func (d *denialLimiter) allow(ctx context.Context, e Entry, now time.Time) (bool, int) {
	actor := ""
	if p := authn.PrincipalFrom(ctx); p != nil {
		actor = p.UserID
		if p.Token != nil {
			actor += "/" + p.Token.ID
		}
	}
	key := e.WorkspaceID + "|" + actor + "|" + e.TargetType + "|" + e.TargetID
	d.mu.Lock()
	defer d.mu.Unlock()
	k, ok := d.keys.Get(key)
	if !ok {
		k = &denialKey{}
		d.keys.Add(key, k)
	}
	if !k.last.IsZero() && now.Sub(k.last) < denialPerKey {
		k.suppressed++
		return false, 0
	}
	minute := now.Truncate(time.Minute)
	budget := e.WorkspaceID + "|member"
	if e.Outsider {
		budget = e.WorkspaceID + "|outsider"
	}
	w := d.logs[budget]
	if w == nil || !w.minute.Equal(minute) {
		if len(d.logs) > 10_000 {
			d.logs = map[string]*logWindow{}
		}
		w = &logWindow{minute: minute}
		d.logs[budget] = w
	}
	if w.n >= denialsPerLogPerMinute {
		k.suppressed++
		return false, 0
	}
	w.n++
	suppressed := k.suppressed
	k.last, k.suppressed = now, 0
	return true, suppressed
}
