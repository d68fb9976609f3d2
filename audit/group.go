package audit

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"credkeep/storage"
)

// Group commit. Concurrent appends to one log (a burst of useCredential calls
// on one workspace) share one ordered insert and one head update instead of
// taking turns: the first caller starts a committer, callers that arrive while
// it writes queue up and go together in the next batch. Each caller still
// returns only when its own entry is durable, or with the error that stopped it.

// maxBatch bounds one insert.
const maxBatch = 256

// commitTimeout bounds one batch's writes: a caller that gave up does not
// take the others' entries down with it, so writes run on a detached context.
const commitTimeout = 10 * time.Second

type pending struct {
	doc  storage.AuditEntry
	done chan error
}

// commit queues doc on its log and waits until it is written or has failed.
func (l *Log) commit(ctx context.Context, doc storage.AuditEntry) error {
	st := l.state(doc.Log)
	p := &pending{doc: doc, done: make(chan error, 1)}
	st.qmu.Lock()
	st.queue = append(st.queue, p)
	if !st.writing {
		st.writing = true
		go l.committer(context.WithoutCancel(ctx), st)
	}
	st.qmu.Unlock()
	// Not bounded by ctx: the entry may be written after all, and the caller
	// must not proceed (or report failure) without knowing.
	return <-p.done
}

// committer writes batches until the log's queue is empty.
func (l *Log) committer(ctx context.Context, st *logState) {
	for {
		st.qmu.Lock()
		batch := st.queue
		if len(batch) > maxBatch {
			batch = batch[:maxBatch]
		}
		st.queue = st.queue[len(batch):]
		if len(batch) == 0 {
			st.writing = false
			st.qmu.Unlock()
			return
		}
		st.qmu.Unlock()
		l.writeBatch(ctx, st, batch)
	}
}

// writeBatch chains and inserts a batch. When the insert fails, the entries
// that did land are found by reading them back; when another instance took
// the next numbers, the rest is chained again on top of its entries.
func (l *Log) writeBatch(ctx context.Context, st *logState, batch []*pending) {
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	st.mu.Lock()
	defer st.mu.Unlock()
	log := batch[0].doc.Log
	for attempt := 0; ; attempt++ {
		if st.head == nil {
			h, err := l.store.AuditHead(ctx, log)
			if err != nil {
				finish(batch, err)
				return
			}
			st.head = &h
		}
		from := *st.head
		docs := chain(from, batch)
		err := l.store.InsertAuditEntries(ctx, docs)
		if err == nil {
			last := docs[len(docs)-1]
			st.head = &storage.AuditHead{Seq: last.Seq, Hash: last.Hash}
			// The entries are durable; a head document left behind is moved on by
			// the next writer that collides with them.
			_ = l.store.AdvanceAuditHead(ctx, log, from, *st.head)
			finish(batch, nil)
			return
		}
		landed := 0
		for _, d := range docs {
			got, rerr := l.store.AuditEntry(ctx, d.Log, d.Seq)
			if rerr != nil || got.Hash != d.Hash {
				break
			}
			landed++
		}
		st.head = nil
		if landed > 0 {
			last := docs[landed-1]
			h := storage.AuditHead{Seq: last.Seq, Hash: last.Hash}
			st.head = &h
			_ = l.store.AdvanceAuditHead(ctx, log, from, h)
			finish(batch[:landed], nil)
			batch = batch[landed:]
		}
		if len(batch) == 0 {
			return
		}
		if !errors.Is(err, storage.ErrConflict) {
			finish(batch, err)
			return
		}
		if attempt >= maxAppendAttempts {
			finish(batch, errors.New("audit log too busy: entry not written"))
			return
		}
		// Another instance took the next number: move past its entries (its head
		// document, or at least the entry in the way), then try again after a
		// short random pause so that two instances do not collide in step.
		taken, terr := l.store.AuditEntry(ctx, log, docs[landed].Seq)
		if terr != nil {
			finish(batch, terr)
			return
		}
		head := storage.AuditHead{Seq: taken.Seq, Hash: taken.Hash}
		if h, herr := l.store.AuditHead(ctx, log); herr == nil && h.Seq > head.Seq {
			head = h
		}
		st.head = &head
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
	}
}

// chain numbers and hashes a batch on top of head.
func chain(head storage.AuditHead, batch []*pending) []storage.AuditEntry {
	docs := make([]storage.AuditEntry, len(batch))
	for i, p := range batch {
		d := p.doc
		d.Seq = head.Seq + 1
		d.Hash = ChainHash(head.Hash, d)
		docs[i] = d
		head = storage.AuditHead{Seq: d.Seq, Hash: d.Hash}
	}
	return docs
}

func finish(batch []*pending, err error) {
	for _, p := range batch {
		p.done <- err
	}
}
