// Package writelock holds the locks that writes to a FerretDB v1 database need
// (the embedded one, or one at a URI used by a single instance). storage's
// collection wrapper applies them to every write.
package writelock

import "sync"

// Locker holds the locks that writes to a FerretDB v1 database need.
//
// Documents: FerretDB applies an update by reading the document, applying the
// update in Go and writing it back, so two concurrent compare-and-set updates
// of one document can both succeed, and concurrent $inc lose counts (measured:
// 3 of 50 racing compare-and-set updates won, 9 of 50 $inc were kept). Updates
// of a document therefore hold its lock: one of a fixed set of stripes chosen
// by key hash, bounded memory for any number of documents at the cost of rare
// false sharing.
//
// Writer: the writes that run all the time under load (audit entries and
// heads, use counters, rate-limit counts) also take one writer lock on the
// embedded database, so that they queue here instead of meeting in SQLite,
// whose busy handler makes the loser sleep whole milliseconds (1, 2, 5, 10 ms)
// before it tries again.
type Locker struct {
	stripes [256]sync.Mutex
	writer  *sync.Mutex // nil: hot writes are not queued (a FerretDB at a URI)
}

// New returns a Locker; queueHot makes hot writes take the writer lock.
func New(queueHot bool) *Locker {
	l := &Locker{}
	if queueHot {
		l.writer = &sync.Mutex{}
	}
	return l
}

// Lock takes the locks of a write: the documents' (keys), every document's when
// all is set (an update whose documents are not known by id), and the writer
// lock when hot is set. It returns the function that releases them.
//
// Stripes are taken in ascending order and before the writer lock, by every
// caller, so two writes cannot deadlock.
func (l *Locker) Lock(keys []string, all, hot bool) func() {
	var held [256]bool
	for _, k := range keys {
		held[stripe(k)] = true
	}
	for i := range held {
		if all || held[i] {
			held[i] = true
			l.stripes[i].Lock()
		}
	}
	if hot && l.writer != nil {
		l.writer.Lock()
	}
	return func() {
		if hot && l.writer != nil {
			l.writer.Unlock()
		}
		for i := range held {
			if held[i] {
				l.stripes[i].Unlock()
			}
		}
	}
}

func stripe(key string) int {
	// FNV-1a, inline: cheap and well spread for short ids.
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % 256)
}
