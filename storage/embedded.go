package storage

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// maxUnixSocketPath keeps a socket path under the kernel's sun_path limit (108 bytes).
const maxUnixSocketPath = 100

// Embedded is a FerretDB (SQLite backend) running inside this process. It listens
// on a unix socket in the data directory (mode 0600), or on a random loopback
// port when the path cannot be a socket, so several instances run side by side.
type Embedded struct {
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
	stop   sync.Once

	// locks serializes conditional updates per document: FerretDB applies an
	// update by reading, filtering in Go and writing back, so two concurrent
	// compare-and-set updates could both succeed. Every Store connected to this
	// database shares these locks, which is enough because an embedded database
	// has no clients outside this process.
	locks *stripedLock
	// writer is held around the writes that run all the time under load (audit
	// entries and heads, use counters, rate-limit counts), so that they queue
	// here instead of meeting in SQLite, whose busy handler makes the loser
	// sleep whole milliseconds (1, 2, 5, 10 ms...) before it tries again.
	writer sync.Mutex
	dbDir  string // where the SQLite files are
}

// StartEmbedded starts FerretDB with its SQLite files under dir/db.
func StartEmbedded(dir string, logger *slog.Logger) (*Embedded, error) {
	dbDir, err := filepath.Abs(filepath.Join(dir, "db"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	listener := ferretdb.ListenerConfig{}
	sock := filepath.Join(filepath.Dir(dbDir), "ferretdb.sock")
	// The driver lowercases addresses (socket paths included), so a path with
	// capitals cannot be dialled; those, and paths too long for a socket, fall
	// back to a random loopback port.
	if len(sock) <= maxUnixSocketPath && sock == strings.ToLower(sock) {
		_ = os.Remove(sock) // left by a previous run that was killed
		listener.Unix = sock
	} else {
		listener.TCP = "127.0.0.1:0"
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  listener,
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dbDir + "/",
	})
	if err != nil {
		return nil, fmt.Errorf("start embedded database: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Embedded{cancel: cancel, done: make(chan struct{}), locks: newStripedLock(), dbDir: dbDir}
	go func() {
		defer close(e.done)
		_ = f.Run(ctx)
	}()
	e.uri = f.MongoDBURI()
	if listener.Unix != "" {
		// Only this user may connect to the socket.
		if err := os.Chmod(sock, 0o600); err != nil {
			e.Stop()
			return nil, fmt.Errorf("protect database socket: %w", err)
		}
	}
	return e, nil
}

// URI is the connection string of the embedded database.
func (e *Embedded) URI() string { return e.uri }

// Stop shuts the database down and waits until its files are closed.
func (e *Embedded) Stop() {
	e.stop.Do(func() {
		e.cancel()
		<-e.done
	})
}

// stripedLock is a fixed set of mutexes chosen by key hash: bounded memory for
// any number of documents, at the cost of rare false sharing between keys.
type stripedLock struct {
	stripes [256]sync.Mutex
}

func newStripedLock() *stripedLock { return &stripedLock{} }

func (l *stripedLock) lock(key string) func() {
	m := &l.stripes[l.stripe(key)]
	m.Lock()
	return m.Unlock
}

// lockAll locks the stripes of keys in ascending order. Every other holder
// takes one stripe at a time (locks never nest), so this cannot deadlock.
func (l *stripedLock) lockAll(keys []string) func() {
	var held [256]bool
	for _, k := range keys {
		held[l.stripe(k)] = true
	}
	for i := range held {
		if held[i] {
			l.stripes[i].Lock()
		}
	}
	return func() {
		for i := range held {
			if held[i] {
				l.stripes[i].Unlock()
			}
		}
	}
}

func (l *stripedLock) stripe(key string) uint32 {
	// FNV-1a, inline: cheap and well spread for short ids.
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return h % uint32(len(l.stripes))
}
