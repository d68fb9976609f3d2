package writelock

import (
	"sync"
	"testing"
	"time"
)

// TestLockerExcludesWritesOfOneDocument: two writes of a document never run
// together, writes of different documents do, and a write of unknown documents
// excludes every other.
func TestLockerExcludesWritesOfOneDocument(t *testing.T) {
	l := New(true)
	held := func(keys []string, all, hot bool) chan struct{} {
		got := make(chan struct{})
		go func() {
			unlock := l.Lock(keys, all, hot)
			close(got)
			unlock()
		}()
		return got
	}
	waits := func(got chan struct{}) bool {
		select {
		case <-got:
			return false
		case <-time.After(50 * time.Millisecond):
			return true
		}
	}

	unlock := l.Lock([]string{"credentials/a"}, false, false)
	if !waits(held([]string{"credentials/a"}, false, false)) {
		t.Error("a second write of the same document did not wait")
	}
	other := "credentials/b"
	for stripe(other) == stripe("credentials/a") {
		other += "x"
	}
	if waits(held([]string{other}, false, false)) {
		t.Error("a write of another document waited")
	}
	if !waits(held(nil, true, false)) {
		t.Error("a write of unknown documents did not wait")
	}
	if waits(held(nil, false, true)) {
		t.Error("a hot insert waited for a document lock")
	}
	unlock()

	unlock = l.Lock(nil, false, true)
	if !waits(held(nil, false, true)) {
		t.Error("a second hot write did not wait for the writer lock")
	}
	unlock()
}

// TestLockerNeverDeadlocks: writes of overlapping sets of documents, some hot,
// some of every document, all finish.
func TestLockerNeverDeadlocks(t *testing.T) {
	l := New(true)
	keys := []string{"a/1", "a/2", "b/1", "b/2", "c/3"}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				set := []string{keys[(i+j)%len(keys)], keys[(i*7+j)%len(keys)]}
				l.Lock(set, j%50 == 0, j%3 == 0)()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("writes deadlocked")
	}
}
