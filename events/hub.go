// Package events streams workspaces' audit logs, the one durable event stream
// (DESIGN.md "Events"), to whoever follows them on this instance: GraphQL
// subscriptions and webhook deliverers.
//
// Each log that somebody follows has one follower per instance. It learns of
// the entries this instance writes as soon as they are durable (audit.Log's
// OnAppend hands them over: no read), and of the entries other instances write
// by looking up the next seq by _id every poll interval, which every database
// answers from its primary index. It keeps the latest entries in memory, so a
// hundred subscribers of a log cost what one does. A stream that is behind
// (resuming with afterSeq) reads its way forward by _id until it reaches them.
package events

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"credkeep/storage"
)

// Source reads a log.
type Source interface {
	// AuditEntry is the entry with this seq, or storage.ErrNotFound.
	AuditEntry(ctx context.Context, log string, seq int64) (storage.AuditEntry, error)
	// LastSeq is the seq of the log's last entry (0: none).
	LastSeq(ctx context.Context, log string) (int64, error)
}

// DefaultPoll is how often a follower looks for entries written elsewhere:
// an entry from another instance arrives within about this long.
const DefaultPoll = 250 * time.Millisecond

// keep is how many recent entries a follower holds for its streams.
const keep = 4096

// readBatch bounds the entries a stream or follower reads in one go.
const readBatch = 200

// readCacheSize is how many entries read for streams that are behind stay in
// memory: streams behind by about as much (webhooks working off a backlog at
// the same pace) read each entry from the database once between them.
const readCacheSize = 16384

// Hub holds this instance's followers.
type Hub struct {
	src  Source
	poll time.Duration
	log  *slog.Logger

	mu   sync.Mutex
	logs map[string]*follower
	// read are entries read from the database for streams behind, by _id.
	read *lru.Cache[string, storage.AuditEntry]
}

// NewHub returns a Hub; poll 0 is DefaultPoll.
func NewHub(src Source, poll time.Duration, log *slog.Logger) *Hub {
	if poll <= 0 {
		poll = DefaultPoll
	}
	read, _ := lru.New[string, storage.AuditEntry](readCacheSize)
	return &Hub{src: src, poll: poll, log: log, logs: map[string]*follower{}, read: read}
}

// Appended is audit.Log's OnAppend: entries this instance just wrote.
func (h *Hub) Appended(log string, entries []storage.AuditEntry) {
	h.mu.Lock()
	f := h.logs[log]
	h.mu.Unlock()
	if f != nil {
		f.offer(entries)
	}
}

// follower tails one log for the streams of this instance.
type follower struct {
	hub  *Hub
	name string
	refs int // streams using it; guarded by hub.mu
	stop context.CancelFunc

	mu      sync.Mutex
	recent  []storage.AuditEntry // contiguous, the last is next-1
	next    int64                // the seq it expects next
	changed chan struct{}        // closed (and replaced) when entries arrive
	wake    chan struct{}        // a read of the store is due now

	// inbox holds what the audit log handed over, until run takes it: the
	// audit log calls offer under its own lock, which must not wait for f.mu.
	inMu    sync.Mutex
	inbox   []storage.AuditEntry
	arrived chan struct{}
}

// Follow returns a stream of log's entries after seq after; nil after: only
// entries written from now on.
func (h *Hub) Follow(ctx context.Context, log string, after *int64) (*Stream, error) {
	f, err := h.acquire(ctx, log)
	if err != nil {
		return nil, err
	}
	s := &Stream{f: f}
	if after != nil {
		s.cursor = max(*after, 0)
	} else {
		f.mu.Lock()
		s.cursor = f.next - 1
		f.mu.Unlock()
	}
	return s, nil
}

func (h *Hub) acquire(ctx context.Context, log string) (*follower, error) {
	h.mu.Lock()
	if f := h.logs[log]; f != nil {
		f.refs++
		h.mu.Unlock()
		return f, nil
	}
	h.mu.Unlock()
	last, err := h.src.LastSeq(ctx, log)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.logs[log]; f != nil { // another stream started it meanwhile
		f.refs++
		return f, nil
	}
	run, stop := context.WithCancel(context.Background())
	f := &follower{hub: h, name: log, refs: 1, stop: stop, next: last + 1,
		changed: make(chan struct{}), wake: make(chan struct{}, 1), arrived: make(chan struct{}, 1)}
	// Entries written between the read of the end and now were not offered
	// to it: its first read finds them.
	f.wake <- struct{}{}
	h.logs[log] = f
	go f.run(run)
	return f, nil
}

func (h *Hub) release(f *follower) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f.refs--
	if f.refs == 0 {
		delete(h.logs, f.name)
		f.stop()
	}
}

// offer takes entries this instance wrote, for run to add (take).
func (f *follower) offer(entries []storage.AuditEntry) {
	f.inMu.Lock()
	f.inbox = append(f.inbox, entries...)
	f.inMu.Unlock()
	select {
	case f.arrived <- struct{}{}:
	default:
	}
}

// take moves the inbox into the follower: in place when it continues the
// follower's entries, otherwise (some were written elsewhere first) a read of
// the store fills the gap.
func (f *follower) take() {
	f.inMu.Lock()
	entries := f.inbox
	f.inbox = nil
	f.inMu.Unlock()
	if len(entries) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, e := range entries {
		if e.Seq == f.next {
			f.add(entries[i:])
			return
		}
	}
	if entries[len(entries)-1].Seq >= f.next {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// add appends contiguous entries starting at next and tells the streams; f.mu is held.
func (f *follower) add(entries []storage.AuditEntry) {
	for _, e := range entries {
		if e.Seq != f.next {
			break
		}
		f.recent = append(f.recent, e)
		f.next++
	}
	if n := len(f.recent); n > keep {
		f.recent = append([]storage.AuditEntry(nil), f.recent[n-keep/2:]...)
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *follower) run(ctx context.Context) {
	tick := time.NewTicker(f.hub.poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.arrived:
			f.take()
			continue
		case <-tick.C:
		case <-f.wake:
		}
		f.take()
		if err := f.read(ctx); err != nil && ctx.Err() == nil {
			f.hub.log.WarnContext(ctx, "could not read an audit log for its subscribers", "error", err)
		}
	}
}

// read looks up entries from next on until one is missing.
func (f *follower) read(ctx context.Context) error {
	for {
		f.mu.Lock()
		seq := f.next
		f.mu.Unlock()
		var got []storage.AuditEntry
		for len(got) < readBatch {
			e, err := f.hub.src.AuditEntry(ctx, f.name, seq)
			if errors.Is(err, storage.ErrNotFound) {
				break
			}
			if err != nil {
				return err
			}
			got = append(got, e)
			seq++
		}
		if len(got) == 0 {
			return nil
		}
		f.mu.Lock()
		for i, e := range got {
			if e.Seq == f.next {
				f.add(got[i:])
				break
			}
		}
		f.mu.Unlock()
		if len(got) < readBatch {
			return nil
		}
	}
}

// Stream is one reader's position in a log.
type Stream struct {
	f      *follower
	cursor int64 // the last seq returned
	closed bool
}

// Close ends the stream.
func (s *Stream) Close() {
	if !s.closed {
		s.closed = true
		s.f.hub.release(s.f)
	}
}

// Next returns the entries after the last one returned, in seq order (at
// least one), waiting until there are some or ctx ends.
func (s *Stream) Next(ctx context.Context) ([]storage.AuditEntry, error) {
	for {
		f := s.f
		f.mu.Lock()
		switch {
		case s.cursor+1 >= f.next: // caught up: wait
			changed := f.changed
			f.mu.Unlock()
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-changed:
			}
		case len(f.recent) > 0 && s.cursor+1 >= f.recent[0].Seq: // in memory
			from := int(s.cursor + 1 - f.recent[0].Seq)
			out := append([]storage.AuditEntry(nil), f.recent[from:min(len(f.recent), from+readBatch)]...)
			f.mu.Unlock()
			s.cursor = out[len(out)-1].Seq
			return out, nil
		default: // behind what the follower holds: read the store
			until := f.next - 1
			if len(f.recent) > 0 {
				until = f.recent[0].Seq - 1
			}
			f.mu.Unlock()
			out, err := s.read(ctx, min(until, s.cursor+readBatch))
			if err != nil {
				return nil, err
			}
			return out, nil
		}
	}
}

// read returns the entries after the cursor up to seq until (which exist:
// the follower has seen the log reach further).
func (s *Stream) read(ctx context.Context, until int64) ([]storage.AuditEntry, error) {
	out := make([]storage.AuditEntry, 0, until-s.cursor)
	h := s.f.hub
	for seq := s.cursor + 1; seq <= until; seq++ {
		id := storage.AuditEntryID(s.f.name, seq)
		e, ok := h.read.Get(id)
		if !ok {
			var err error
			if e, err = h.src.AuditEntry(ctx, s.f.name, seq); err != nil {
				return nil, err
			}
			h.read.Add(id, e)
		}
		out = append(out, e)
	}
	s.cursor = until
	return out, nil
}
