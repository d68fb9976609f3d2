// Package embedded runs credkeep's zero-setup database: FerretDB v1 with its
// SQLite backend, inside the process. It also holds what exists only because
// of that database: the index FerretDB forgets to use (sqliteid.go), and the
// locks its writes need (package writelock), shared by every Store connected
// to it; storage applies them to every write through one collection wrapper.
// storage does not import this package (a Server is passed to storage.Open),
// so what links storage's types does not link FerretDB. (storage links SQLite
// itself: on this database it keeps its hottest records in a file of its own.)
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"

	"credkeep/storage/writelock"
)

// maxUnixSocketPath keeps a socket path under the kernel's sun_path limit (108 bytes).
const maxUnixSocketPath = 100

// Server is a FerretDB (SQLite backend) running inside this process. It listens
// on a unix socket in the data directory (mode 0600), or on a random loopback
// port when the path cannot be a socket, so several instances run side by side.
type Server struct {
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
	stop   sync.Once
	// locks are shared by every Store connected to this database, which is
	// enough because an embedded database has no clients outside this process.
	locks  *writelock.Locker
	dbDir  string // where the SQLite files are
	socket string // the unix socket's path, "" when it listens on TCP
	// lock holds the data directory for this process (see lockDir).
	lock *os.File
}

// newMu serializes ferretdb.New (see Start).
var newMu sync.Mutex

// pageCache bounds the page cache of each of FerretDB's SQLite connections
// (SQLite's default is 2 MiB a connection, outside Go's heap and its memory
// limit). FerretDB keeps up to 100 connections, and the cold scans of many
// workspaces' lists at once use them all: at 50,000 credentials the default
// took the server past 400 MiB. Those scans read far more than any cache
// holds; what a cache keeps warm is the interior pages of the tables and the
// _id index, which 512 KiB holds.
const pageCache = "cache_size(-512)" // KiB

// Start starts FerretDB with its SQLite files under dir/db.
func Start(dir string, logger *slog.Logger) (*Server, error) {
	dbDir, err := filepath.Abs(filepath.Join(dir, "db"))
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	lock, err := lockDir(filepath.Dir(dbDir))
	if err != nil {
		return nil, err
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
	// ferretdb.New writes a package-level variable (its version record), so two
	// starts at once race (found by -race with parallel tests): one at a time.
	newMu.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  listener,
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dbDir + "/?" + url.Values{"_pragma": {pageCache}}.Encode(),
	})
	newMu.Unlock()
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("start embedded database: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Server{cancel: cancel, done: make(chan struct{}), locks: writelock.New(true), dbDir: dbDir, lock: lock}
	go func() {
		defer close(e.done)
		_ = f.Run(ctx)
	}()
	e.uri = f.MongoDBURI()
	e.socket = listener.Unix
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
func (e *Server) URI() string { return e.uri }

// Addr is where the database listens, for net.Dial.
func (e *Server) Addr() (network, address string) {
	if e.socket != "" {
		return "unix", e.socket
	}
	u, err := url.Parse(e.uri)
	if err != nil {
		return "tcp", ""
	}
	return "tcp", u.Host
}

// Stop shuts the database down and waits until its files are closed.
func (e *Server) Stop() {
	e.stop.Do(func() {
		e.cancel()
		<-e.done
		_ = e.lock.Close() // releases the directory
	})
}

// lockDir takes the data directory for this process, or fails when another
// process (or another Server of this one) has it. Everything about the
// embedded database assumes it is this process's alone: its writes are made
// safe by locks in this process (writelock), and caches trust that every
// write is their own. A second server on the same files would take over the
// socket and break both. The kernel releases the lock when the process
// ends, however it ends.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "credkeep.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another credkeep process: the embedded database serves one process", dir)
		}
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	return f, nil
}

// Locker is the writers' locks of this database.
func (e *Server) Locker() *writelock.Locker { return e.locks }

// File is the SQLite file of a database (tests read query plans from it).
func (e *Server) File(dbName string) string { return filepath.Join(e.dbDir, dbName+".sqlite") }

// StorageFile is the SQLite file that storage keeps for database dbName
// beside FerretDB's files rather than in them (storage/sqlitefile.go). Its
// name does not end in ".sqlite", so FerretDB does not take it for a database.
func (e *Server) StorageFile(dbName string) string {
	return filepath.Join(e.dbDir, dbName+".storage.db")
}
