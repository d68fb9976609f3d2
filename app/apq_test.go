package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"credkeep/internal/persisted"
)

// APQ keeps only documents that parse and validate, of at most 16 KiB, and at
// most CREDKEEP_APQ_MAX of them, the least recently used evicted.
func TestAPQStoresOnlyValidBoundedDocuments(t *testing.T) {
	e := newEnvWith(t, func(e *env) { e.apqMax = 3 })
	second := e.instance().srv
	tok := e.token("alice")
	register := func(q string) response { return e.post(e.srv.URL, tok, "application/json", apq(q, persisted.Hash(q))) }
	known := func(srv, q string) bool {
		return e.post(srv, tok, "application/json", apq("", persisted.Hash(q))).code() != "PERSISTED_QUERY_NOT_FOUND"
	}
	count := func() int64 {
		n, err := e.store.PersistedQueryCount(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	for name, q := range map[string]string{
		"does not parse":    `{ viewer { isAdmin }`,
		"does not validate": `{ viewer { nosuchfield } }`,
		"not GraphQL":       `SELECT * FROM credentials`,
	} {
		register(q)
		if known(e.srv.URL, q) {
			t.Errorf("%s: stored", name)
		}
	}
	big := "query Big { viewer { isAdmin } }\n#" + strings.Repeat("x", persisted.MaxPersistedQuery)
	wantCode(t, register(big), "BAD_USER_INPUT")
	if known(e.srv.URL, big) {
		t.Errorf("a document over 16 KiB was stored")
	}
	if n := count(); n != 0 {
		t.Fatalf("%d documents stored after refusals", n)
	}

	qs := make([]string, 5)
	for i := range qs {
		qs[i] = fmt.Sprintf("query Q%d { viewer { isAdmin } }", i)
	}
	for _, q := range qs[:3] {
		mustOK(t, register(q))
		e.clock.Advance(time.Second)
	}
	// Q0 is used (through the other instance, which reads it from the store) and so is recent.
	if !known(second.URL, qs[0]) {
		t.Fatal("Q0 unknown on the second instance")
	}
	e.clock.Advance(time.Second)
	mustOK(t, register(qs[3]))
	e.clock.Advance(time.Second)
	mustOK(t, register(qs[4]))
	if n := count(); n != 3 {
		t.Errorf("%d documents stored, want the bound of 3", n)
	}
	// A fresh instance has nothing in memory: it sees the shared store as it is.
	third := e.instance().srv
	for i, want := range []bool{true, false, false, true, true} {
		if got := known(third.URL, qs[i]); got != want {
			t.Errorf("Q%d known = %v, want %v", i, got, want)
		}
	}
}
