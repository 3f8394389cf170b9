package track

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"net/netip"
	"sync"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// ClickIDLen is the length of a click id; see affiliate.ClickIDLen for the layout.
const ClickIDLen = affiliate.ClickIDLen

const (
	clickIDTimeLen = affiliate.ClickIDTimeLen
	maxClickMilli  = affiliate.MaxClickMilli
)

// randBufSize is how many random bytes one generator reads from crypto/rand at a time. Rejection sampling
// uses about 9.3 bytes per id, so one read serves about 110 ids.
const randBufSize = 1024

// idGen turns bulk reads from crypto/rand into click ids (affiliate.PutClickID reads it). It is not safe
// for concurrent use; idPool hands one to each caller, so the hot path shares no lock and makes one system
// call per ~110 ids.
type idGen struct {
	buf [randBufSize]byte
	pos int
	// id is where the id is built: it lives in the pooled generator, so handing it to the io.Reader
	// interface does not move the caller's array to the heap.
	id [ClickIDLen]byte
}

var idPool = sync.Pool{New: func() any { return &idGen{pos: randBufSize} }}

// Read copies the next random bytes into p, refilling the buffer when it is used up. It never fails.
func (g *idGen) Read(p []byte) (int, error) {
	if g.pos == len(g.buf) {
		// crypto/rand.Read never fails on supported platforms (it crashes the program instead).
		_, _ = rand.Read(g.buf[:])
		g.pos = 0
	}
	n := copy(p, g.buf[g.pos:])
	g.pos += n
	return n, nil
}

// putClickID writes a fresh click id for a click at t into id.
func putClickID(id *[ClickIDLen]byte, t time.Time) {
	g := idPool.Get().(*idGen)
	// Reading from an idGen never fails.
	_ = affiliate.PutClickID(g.id[:], t, g)
	*id = g.id
	idPool.Put(g)
}

// newClickID returns a fresh click id for a click at t.
func newClickID(t time.Time) string {
	var id [ClickIDLen]byte
	putClickID(&id, t)
	return string(id[:])
}

// visitorHasher computes visitor hashes: HMAC-SHA256 keyed with the store's visitor salt over the client
// address and the user agent, truncated to 64 bits. The raw address is never stored or logged; the salt
// makes the hash useless outside this database.
type visitorHasher struct {
	pool sync.Pool
}

type visitorState struct {
	mac     hash.Hash
	scratch []byte
	sum     [sha256.Size]byte
}

func newVisitorHasher(salt []byte) *visitorHasher {
	key := append([]byte(nil), salt...)
	v := &visitorHasher{}
	v.pool.New = func() any {
		return &visitorState{mac: hmac.New(sha256.New, key), scratch: make([]byte, 0, 512)}
	}
	return v
}

// hash returns the 64-bit visitor hash of ip and ua.
func (v *visitorHasher) hash(ip netip.Addr, ua string) uint64 {
	st := v.pool.Get().(*visitorState)
	b := ip.AppendTo(st.scratch[:0])
	b = append(b, 0)
	b = append(b, ua...)
	st.mac.Reset()
	st.mac.Write(b)
	sum := st.mac.Sum(st.sum[:0])
	h := binary.BigEndian.Uint64(sum[:8])
	if cap(b) <= 4096 {
		st.scratch = b[:0]
	}
	v.pool.Put(st)
	return h
}
