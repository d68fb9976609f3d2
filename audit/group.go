package audit

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"time"

	"credkeep/storage"
)

// Group commit. Concurrent appends (a burst of useCredential calls, on one
// workspace or many) share rounds: one ordered insert of every waiting entry,
// whatever its log, and one bulk update of the logs' heads, instead of an
// insert and a head update per entry. The first caller starts a committer;
// callers that arrive while it writes go together in the next round. Each
// caller still returns only when its own entry is durable, or with the error
// that stopped it. A round that fails falls back to each log on its own
// (writeBatch), which finds what landed and chains the rest again.

// maxRound bounds one insert.
const maxRound = 256

// commitTimeout bounds one round's writes: a caller that gave up does not take
// the others' entries down with it, so writes run on a detached context.
const commitTimeout = 10 * time.Second

type pending struct {
	doc  storage.AuditEntry
	done chan error
}

// commit queues doc and waits until it is written or has failed.
func (l *Log) commit(ctx context.Context, doc storage.AuditEntry) error {
	p := &pending{doc: doc, done: make(chan error, 1)}
	l.qmu.Lock()
	l.queue = append(l.queue, p)
	if !l.writing {
		l.writing = true
		go l.committer(context.WithoutCancel(ctx))
	}
	l.qmu.Unlock()
	// Not bounded by ctx: the entry may be written after all, and the caller
	// must not proceed (or report failure) without knowing.
	return <-p.done
}

// committer writes rounds until the queue is empty.
func (l *Log) committer(ctx context.Context) {
	for {
		l.qmu.Lock()
		round := l.queue
		if len(round) > maxRound {
			round = round[:maxRound]
		}
		l.queue = l.queue[len(round):]
		if len(round) == 0 {
			l.writing = false
			l.qmu.Unlock()
			return
		}
		l.qmu.Unlock()
		l.writeRound(ctx, round)
		l.flushHeadsIfDue(ctx)
	}
}

// writeRound writes one round: every log's entries chained on its head, one
// insert, one bulk head update.
func (l *Log) writeRound(ctx context.Context, round []*pending) {
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	byLog := map[string][]*pending{}
	var logs []string
	for _, p := range round {
		if _, ok := byLog[p.doc.Log]; !ok {
			logs = append(logs, p.doc.Log)
		}
		byLog[p.doc.Log] = append(byLog[p.doc.Log], p)
	}
	slices.Sort(logs) // locks in a fixed order
	states := make([]*logState, len(logs))
	for i, log := range logs {
		states[i] = l.state(log)
		states[i].mu.Lock()
	}
	unlock := func() {
		for _, st := range states {
			st.mu.Unlock()
		}
	}
	var docs []storage.AuditEntry
	moves := make([]storage.AuditHeadMove, len(logs))
	for i, log := range logs {
		st := states[i]
		if st.head == nil {
			h, err := l.readHead(ctx, log)
			if err != nil {
				unlock()
				finish(round, err)
				return
			}
			st.head = &h
		}
		chained := chain(*st.head, byLog[log])
		last := chained[len(chained)-1]
		moves[i] = storage.AuditHeadMove{Log: log, From: *st.head, To: storage.AuditHead{Seq: last.Seq, Hash: last.Hash}}
		docs = append(docs, chained...)
	}
	if err := l.store.InsertAuditEntries(ctx, docs); err != nil {
		// Each log on its own, from where this round started it: what landed is
		// recognized by its hash, and the rest chained again.
		for i, st := range states {
			from := moves[i].From
			st.head = &from
		}
		unlock()
		for i, log := range logs {
			l.writeBatch(ctx, states[i], byLog[log])
		}
		return
	}
	for i, st := range states {
		to := moves[i].To
		st.head = &to
	}
	for _, log := range logs {
		l.tell(log, docsOf(docs, log))
	}
	unlock()
	// The entries are durable. Their head moves are pending before the callers
	// go on, so a flush (Verify's) that follows a Record includes its entry;
	// the head documents follow within headInterval (heads.go).
	l.deferHeads(moves)
	finish(round, nil)
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
			h, err := l.readHead(ctx, log)
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
			l.tell(log, docs)
			l.deferHeads([]storage.AuditHeadMove{{Log: log, From: from, To: *st.head}})
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
			l.tell(log, docs[:landed])
			l.deferHeads([]storage.AuditHeadMove{{Log: log, From: from, To: h}})
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
		// Another instance took the next number: move past its entries to the
		// log's end, then try again after a short random pause so that two
		// instances do not collide in step.
		head, terr := l.tail(ctx, log, from)
		if terr != nil {
			finish(batch, terr)
			return
		}
		st.head = &head
		time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
	}
}

// docsOf is the entries of one log in a round (contiguous: chained per log).
func docsOf(docs []storage.AuditEntry, log string) []storage.AuditEntry {
	start := slices.IndexFunc(docs, func(d storage.AuditEntry) bool { return d.Log == log })
	end := start
	for end < len(docs) && docs[end].Log == log {
		end++
	}
	return docs[start:end]
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
