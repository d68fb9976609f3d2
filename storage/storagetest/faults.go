package storagetest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"

	"credkeep/internal/redact"
	"credkeep/storage"
)

// Faults stands between Stores and the embedded database, on the wire: it
// forwards every MongoDB message, and answers with an error instead the
// commands a test marks as failing, or cuts every connection during an outage.
// So the code under test meets the failures the real driver reports, through
// every layer of storage, without a hook in production code or a fake store.
//
// It reads each request's command name and collection (the first element of
// an OP_MSG body: {"insert": "audit", ...}) and, for a failing one, replies
// {ok: 0, code: 1, errmsg: "injected fault ..."} to the driver.
type Faults struct {
	db     *DB
	ln     net.Listener
	mu     sync.Mutex
	fail   map[[2]string]bool          // {command, collection}; "" in either matches any
	lose   map[[2]string]bool          // commands applied whose reply is lost
	slow   map[[2]string]time.Duration // commands applied whose reply comes this late
	down   bool
	conns  map[net.Conn]bool
	counts map[[2]string]int // commands seen, for tests that assert on them
}

// WithFaults starts a fault proxy in front of the embedded database; it stops
// when t ends. The test is skipped on MONGODB_URI.
func (db *DB) WithFaults(t testing.TB) *Faults {
	t.Helper()
	if db.Embedded == nil {
		t.Skip("the fault proxy stands in front of the embedded database")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &Faults{db: db, ln: ln, fail: map[[2]string]bool{}, lose: map[[2]string]bool{}, slow: map[[2]string]time.Duration{}, conns: map[net.Conn]bool{}, counts: map[[2]string]int{}}
	go f.accept()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
	return f
}

// Open connects a new Store through the proxy; it is closed when t ends. (The
// database is reached by URI, so the Store takes the FerretDB v1 single-instance
// path: its own document locks, which is right for one Store.)
func (f *Faults) Open(t testing.TB) *storage.Store {
	t.Helper()
	return f.db.open(t, storage.Options{
		URI:            redact.New(fmt.Sprintf("mongodb://%s/?serverSelectionTimeoutMS=500&connectTimeoutMS=1000", f.ln.Addr())),
		Timeout:        5 * time.Second,
		SingleInstance: true,
	})
}

// Fail makes every command named command on collection fail until Heal; ""
// matches any command or any collection.
func (f *Faults) Fail(command, collection string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[[2]string{command, collection}] = true
}

// LoseReply makes every command named command on collection reach the
// database, which applies it, while its reply never reaches the driver: the
// connection closes instead (the database going away mid-reply), until Heal.
func (f *Faults) LoseReply(command, collection string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lose[[2]string{command, collection}] = true
}

// SlowReply makes every command named command on collection reach the
// database at once, while its reply reaches the driver d later: a write the
// database has applied and the writer does not know of yet, until Heal.
func (f *Faults) SlowReply(command, collection string, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slow[[2]string{command, collection}] = d
}

// Outage cuts every connection and refuses new ones until Heal.
func (f *Faults) Outage() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	for c := range f.conns {
		c.Close()
	}
}

// Heal ends every fault.
func (f *Faults) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = false
	f.fail = map[[2]string]bool{}
	f.lose = map[[2]string]bool{}
	f.slow = map[[2]string]time.Duration{}
}

// Count is how many times command ran on collection (answered or failed).
func (f *Faults) Count(command, collection string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[[2]string{command, collection}]
}

func (f *Faults) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		if f.down {
			f.mu.Unlock()
			c.Close()
			continue
		}
		f.conns[c] = true
		f.mu.Unlock()
		go f.serve(c)
	}
}

func (f *Faults) serve(client net.Conn) {
	defer func() {
		f.mu.Lock()
		delete(f.conns, client)
		f.mu.Unlock()
		client.Close()
	}()
	network, addr := f.db.Embedded.Addr()
	server, err := net.Dial(network, addr)
	if err != nil {
		return
	}
	defer server.Close()
	var writeMu sync.Mutex // the client gets whole replies from one writer at a time
	losing := false        // the next reply is lost (under writeMu)
	var delayMu sync.Mutex
	delays := map[uint32]time.Duration{} // by the request id a reply answers
	go func() {
		defer client.Close()
		for {
			msg, err := readMessage(server)
			if err != nil {
				return
			}
			responseTo := binary.LittleEndian.Uint32(msg[8:12])
			delayMu.Lock()
			d := delays[responseTo]
			delete(delays, responseTo)
			delayMu.Unlock()
			time.Sleep(d)
			writeMu.Lock()
			if losing {
				writeMu.Unlock()
				return // the deferred Close cuts the connection instead of replying
			}
			_, err = client.Write(msg)
			writeMu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	for {
		msg, err := readMessage(client)
		if err != nil {
			return
		}
		command, collection := commandOf(msg)
		f.mu.Lock()
		f.counts[[2]string{command, collection}]++
		failing := f.fail[[2]string{command, collection}] || f.fail[[2]string{command, ""}] ||
			f.fail[[2]string{"", collection}] || f.fail[[2]string{"", ""}]
		lose := f.lose[[2]string{command, collection}]
		slow := f.slow[[2]string{command, collection}]
		f.mu.Unlock()
		if slow > 0 { // readMessage returns whole headers (16 bytes at least)
			delayMu.Lock()
			delays[binary.LittleEndian.Uint32(msg[4:8])] = slow // requestID
			delayMu.Unlock()
		}
		if lose {
			writeMu.Lock()
			losing = true
			writeMu.Unlock()
		}
		if failing {
			writeMu.Lock()
			_, err = client.Write(errorReply(msg, command, collection))
			writeMu.Unlock()
		} else {
			_, err = server.Write(msg)
		}
		if err != nil {
			return
		}
	}
}

const opMsg = 2013

// readMessage reads one wire protocol message: a 16-byte header whose first
// field is the whole length.
func readMessage(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(size[:])
	if n < 16 || n > 48<<20 {
		return nil, errors.New("bad message length")
	}
	msg := make([]byte, n)
	copy(msg, size[:])
	_, err := io.ReadFull(r, msg[4:])
	return msg, err
}

// commandOf returns an OP_MSG's command name and the collection it names
// ("" for anything else).
func commandOf(msg []byte) (command, collection string) {
	// header (16) + flagBits (4) + section kind (1) + the body document
	if binary.LittleEndian.Uint32(msg[12:16]) != opMsg || len(msg) < 26 || msg[20] != 0 {
		return "", ""
	}
	doc := bson.Raw(msg[21:])
	elems, err := doc.Elements()
	if err != nil || len(elems) == 0 {
		return "", ""
	}
	command = elems[0].Key()
	collection, _ = elems[0].Value().StringValueOK()
	return command, collection
}

// errorReply is an OP_MSG answering request msg with a command error.
func errorReply(msg []byte, command, collection string) []byte {
	body, _ := bson.Marshal(bson.D{
		{Key: "ok", Value: 0.0},
		{Key: "errmsg", Value: fmt.Sprintf("injected fault: %s on %s", command, collection)},
		{Key: "code", Value: int32(1)},
		{Key: "codeName", Value: "InternalError"},
	})
	out := make([]byte, 16+4+1+len(body))
	binary.LittleEndian.PutUint32(out[0:], uint32(len(out)))
	binary.LittleEndian.PutUint32(out[4:], binary.LittleEndian.Uint32(msg[4:8])^0x5a5a) // any request id
	binary.LittleEndian.PutUint32(out[8:], binary.LittleEndian.Uint32(msg[4:8]))        // responseTo
	binary.LittleEndian.PutUint32(out[12:], opMsg)
	// flagBits 0, section kind 0
	copy(out[21:], body)
	return out
}
