package audit

import (
	"context"
	"errors"
	"sort"
	"time"

	"credkeep/storage"
)

// Head documents. A log's head document says where it ends; writers start from
// it and Verify uses it to notice a removed tail. Moving it after every round
// cost a database write per log per round (most of the writes of a burst of
// useCredential calls over many workspaces), so an instance writes the heads
// it moved at most once per headInterval, each at its latest position.
//
// A head document may therefore trail its log by up to headInterval (or more
// after a crash). Nothing depends on it being current: a writer that finds its
// number taken walks to the real end of the log (tail), and Verify writes this
// instance's pending heads before it checks. What the lag costs: a tail removed
// within headInterval of being written, by someone who can delete from the
// database, is not noticed by Verify on another instance.
const headInterval = 200 * time.Millisecond

// deferHeads remembers where moves leave each log and schedules a flush.
func (l *Log) deferHeads(moves []storage.AuditHeadMove) {
	l.hmu.Lock()
	defer l.hmu.Unlock()
	if l.heads == nil {
		l.heads = map[string]storage.AuditHead{}
	}
	for _, m := range moves {
		if cur, ok := l.heads[m.Log]; !ok || cur.Seq < m.To.Seq {
			l.heads[m.Log] = m.To
		}
	}
	if !l.headsTimer && len(l.heads) > 0 {
		l.headsTimer = true
		time.AfterFunc(headInterval, l.headsDue)
	}
}

// headsDue flushes the heads once the committer is idle. While it runs, the
// committer flushes them itself between rounds (flushHeadsIfDue): two writers
// contending for SQLite's write lock back off in sleeps of milliseconds.
func (l *Log) headsDue() {
	l.qmu.Lock()
	busy := l.writing
	l.qmu.Unlock()
	l.hmu.Lock()
	l.headsTimer = false
	if busy && len(l.heads) > 0 {
		l.headsTimer = true
		time.AfterFunc(headInterval, l.headsDue)
		l.hmu.Unlock()
		return
	}
	l.hmu.Unlock()
	_ = l.FlushHeads(context.Background())
}

// flushHeadsIfDue is the committer's flush between rounds.
func (l *Log) flushHeadsIfDue(ctx context.Context) {
	l.hmu.Lock()
	due := len(l.heads) > 0 && time.Since(l.headsFlushed) >= headInterval
	l.hmu.Unlock()
	if due {
		_ = l.FlushHeads(ctx)
	}
}

// FlushHeads writes the head documents this instance has moved and not
// written yet. Moves that fail are kept for the next flush.
func (l *Log) FlushHeads(ctx context.Context) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.hmu.Lock()
	pending := l.heads
	l.heads = nil
	l.headsFlushed = time.Now()
	l.hmu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	moves := make([]storage.AuditHeadMove, 0, len(pending))
	for log, to := range pending {
		moves = append(moves, storage.AuditHeadMove{Log: log, To: to})
	}
	sort.Slice(moves, func(i, j int) bool { return moves[i].Log < moves[j].Log })
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	if err := l.store.AdvanceAuditHeads(ctx, moves); err != nil {
		l.deferHeads(moves)
		return err
	}
	return nil
}

// readHead is where a log ends: its head document, walked forward past the
// entries written since it was last moved.
func (l *Log) readHead(ctx context.Context, log string) (storage.AuditHead, error) {
	h, err := l.store.AuditHead(ctx, log)
	if err != nil {
		return storage.AuditHead{}, err
	}
	return l.tail(ctx, log, h)
}

// tail finds the last entry of a log at or after from, by its numbers alone
// (every lookup is by _id): entries of a log are numbered without gaps, so it
// doubles the step until a number is missing, then bisects.
func (l *Log) tail(ctx context.Context, log string, from storage.AuditHead) (storage.AuditHead, error) {
	entry := func(seq int64) (storage.AuditHead, bool, error) {
		e, err := l.store.AuditEntry(ctx, log, seq)
		if errors.Is(err, storage.ErrNotFound) {
			return storage.AuditHead{}, false, nil
		}
		if err != nil {
			return storage.AuditHead{}, false, err
		}
		return storage.AuditHead{Seq: e.Seq, Hash: e.Hash}, true, nil
	}
	found := from // the last entry known present (or the start)
	var hi int64  // a number known missing
	for step := int64(1); ; step *= 2 {
		h, ok, err := entry(found.Seq + step)
		if err != nil {
			return storage.AuditHead{}, err
		}
		if !ok {
			hi = found.Seq + step
			break
		}
		found = h
	}
	for hi-found.Seq > 1 {
		mid := found.Seq + (hi-found.Seq)/2
		h, ok, err := entry(mid)
		if err != nil {
			return storage.AuditHead{}, err
		}
		if ok {
			found = h
		} else {
			hi = mid
		}
	}
	return found, nil
}
