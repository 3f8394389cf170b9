// Package dump is Keranjang's portable database dump: the whole state of a store as one stream that
// every backend can write and read. `keranjang migrate` copies a bbolt database into PostgreSQL through
// it, and the PostgreSQL backend's Backup writes one (restored with `keranjang migrate --from`).
//
// # Format, version 1
//
// A dump is a gzip stream of JSON lines. The first line is the header,
//
//	{"format":"keranjang-dump","version":1,"source":"bbolt","schema":7,"created_at":"…"}
//
// then one line per item, {"k":"<kind>","v":<record>}, where the record is the JSON encoding of the
// kind's type below (the domain types keep the encoding the bbolt backend stores). Items come grouped
// by kind, in the order of Kinds: everything an item refers to (a user, a product, a link, an alert)
// comes before it, so that a reader can load the items as they come. The last line is the trailer,
// {"k":"end","v":{"counts":{"user":3,…}}}, with the number of items of each kind, so that a reader
// knows the dump is whole. Times are RFC 3339 with nanoseconds; money and counts are whole numbers.
//
// A dump holds the state, not the indexes that follow from it: pending applications are the
// applications whose status is pending, pending alerts the alerts not fanned out, the outbox's due and
// per-user lists its queued messages. It does hold what cannot be derived: the visitor salt, the
// running counters, the hourly aggregates (which outlive the clicks and orders they count) and the
// next value of every id sequence.
package dump

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// Format and Version identify the stream in its header.
const (
	Format  = "keranjang-dump"
	Version = 1
)

// Kind names the type of an item.
type Kind string

// The kinds of items, in the order they come in a dump.
const (
	KindMeta        Kind = "meta"
	KindSequence    Kind = "sequence"
	KindUser        Kind = "user"
	KindAPIKey      Kind = "api_key"
	KindApplication Kind = "application"
	KindFlow        Kind = "flow"
	KindDigest      Kind = "digest"
	KindProduct     Kind = "product"
	KindLink        Kind = "link"
	KindClick       Kind = "click"
	KindVisitor     Kind = "visitor"
	KindAggregate   Kind = "aggregate"
	KindTotal       Kind = "total"
	KindOrder       Kind = "order"
	KindFeedback    Kind = "feedback"
	KindAlert       Kind = "alert"
	KindAlertCounts Kind = "alert_counts"
	KindOutbox      Kind = "outbox"
	KindFeed        Kind = "feed"
	KindFeedItem    Kind = "feed_item"
	KindBroadcast   Kind = "broadcast"

	// kindEnd is the trailer's kind.
	kindEnd Kind = "end"
)

// kinds is every kind in dump order, with how its items are decoded.
var kinds = []struct {
	kind   Kind
	decode func(json.RawMessage) (Item, error)
}{
	{KindMeta, decodeAs[Meta]},
	{KindSequence, decodeAs[Sequence]},
	{KindUser, decodeAs[User]},
	{KindAPIKey, decodeAs[APIKey]},
	{KindApplication, decodeAs[Application]},
	{KindFlow, decodeAs[Flow]},
	{KindDigest, decodeAs[Digest]},
	{KindProduct, decodeAs[Product]},
	{KindLink, decodeAs[Link]},
	{KindClick, decodeAs[Click]},
	{KindVisitor, decodeAs[Visitor]},
	{KindAggregate, decodeAs[Aggregate]},
	{KindTotal, decodeAs[Total]},
	{KindOrder, decodeAs[Order]},
	{KindFeedback, decodeAs[Feedback]},
	{KindAlert, decodeAs[Alert]},
	{KindAlertCounts, decodeAs[AlertCounts]},
	{KindOutbox, decodeAs[OutboxMessage]},
	{KindFeed, decodeAs[Feed]},
	{KindFeedItem, decodeAs[FeedItem]},
	{KindBroadcast, decodeAs[Broadcast]},
}

// kindIndex is each kind's position in kinds.
var kindIndex = func() map[Kind]int {
	m := make(map[Kind]int, len(kinds))
	for i, k := range kinds {
		m[k.kind] = i
	}
	return m
}()

// Kinds returns every kind in the order items come in a dump.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind
	}
	return out
}

// Item is one record of a dump: a value of one of the record types of this package.
type Item interface {
	kind() Kind
}

// KindOf returns the kind of an item.
func KindOf(it Item) Kind { return it.kind() }

// Meta is the database's own record; a dump has exactly one. Salt is the visitor salt; Clicks, Bots and
// Orphans are the running counters of human clicks, bot visits and visits to unknown codes; Outbox is
// the outbox's counters by status (pruned messages stay counted).
type Meta struct {
	Salt    []byte                `json:"salt"`
	Clicks  int64                 `json:"clicks"`
	Bots    int64                 `json:"bots"`
	Orphans int64                 `json:"orphans"`
	Outbox  affiliate.OutboxStats `json:"outbox"`
}

// Sequence names for Sequence items: the id sequences of products, feedback, outbox messages, alerts
// and broadcasts.
const (
	SeqProducts   = "products"
	SeqFeedback   = "feedback"
	SeqOutbox     = "outbox"
	SeqAlerts     = "alerts"
	SeqBroadcasts = "broadcasts"
)

// Sequences lists the sequence names a dump carries, each once.
func Sequences() []string {
	return []string{SeqProducts, SeqFeedback, SeqOutbox, SeqAlerts, SeqBroadcasts}
}

// Sequence is the next value an id sequence gives (1 for a sequence never used). Ids already given
// out may be gone (a broadcast keeps no row, a pruned message neither), so a restored database must
// not give them again: its sequence continues at Next or past the largest id stored, whichever is
// larger.
type Sequence struct {
	Name string `json:"name"`
	Next uint64 `json:"next"`
}

// User is a user record.
type User struct{ affiliate.User }

// APIKey is a seller's API key (a seller who never asked for one has no item).
type APIKey struct {
	SellerID int64  `json:"seller_id"`
	Key      string `json:"key"`
}

// Application is a seller application, pending or decided.
type Application struct{ affiliate.Application }

// Flow is a user's multi-step flow in progress.
type Flow struct{ affiliate.Flow }

// Digest is a user's entry in the digest schedule: users whose digest is on have one, under the time
// zone and local minute of their record ("" for users without a zone). Handled is the local date of the
// last digest handled ("" for none).
type Digest struct {
	Zone    string `json:"zone"`
	Minute  int    `json:"minute"`
	UserID  int64  `json:"user_id"`
	Handled string `json:"handled"`
}

// Product is a product.
type Product struct{ affiliate.Product }

// Link is an affiliate's link to a product.
type Link struct{ affiliate.Link }

// Click is a logged click (bot visits are counted, never logged), with the link's product, affiliate
// and seller as they were when it was recorded.
type Click struct{ affiliate.Click }

// Visitor is a visitor mark: when a visitor (the hash of IP and user agent) last clicked a link, which
// decides whether their next click is unique.
type Visitor struct {
	Code    string    `json:"code"`
	Visitor uint64    `json:"visitor"`
	Last    time.Time `json:"last"`
}

// AggregateOf says what an hourly aggregate counts.
type AggregateOf string

// The hourly aggregates: per link (Code), per affiliate, per product and per seller (ID).
const (
	AggLink      AggregateOf = "link"
	AggAffiliate AggregateOf = "affiliate"
	AggProduct   AggregateOf = "product"
	AggSeller    AggregateOf = "seller"
)

// Aggregate is the counts of one link, affiliate, product or seller in one unix hour (time.Unix()/3600).
type Aggregate struct {
	Of     AggregateOf      `json:"of"`
	Code   string           `json:"code,omitempty"`
	ID     int64            `json:"id,omitempty"`
	Hour   int64            `json:"hour"`
	Counts affiliate.Counts `json:"counts"`
}

// Total is a link's all-time counts.
type Total struct {
	Code   string           `json:"code"`
	Counts affiliate.Counts `json:"counts"`
}

// Order is an order.
type Order struct{ affiliate.Order }

// Feedback is an affiliate's comment to a seller.
type Feedback struct{ affiliate.Feedback }

// Alert is a policy alert and how far its fan-out has gone; an alert not fanned out is pending.
type Alert struct {
	affiliate.Alert
	Progress affiliate.AlertProgress `json:"progress"`
}

// AlertCounts are the delivery counts of an alert's messages.
type AlertCounts struct {
	AlertID uint64                `json:"alert_id"`
	Counts  affiliate.AlertCounts `json:"counts"`
}

// OutboxMessage is a message of the outbox in any status, with its idempotency key. For a finished
// message, NextAt is when it finished (SentAt for a sent one).
type OutboxMessage struct{ affiliate.OutboxMessage }

// Feed is a policy feed read at least once.
type Feed struct {
	URL         string    `json:"url"`
	FirstPolled time.Time `json:"first_polled"`
	LastPolled  time.Time `json:"last_polled"`
}

// FeedItem is an item seen in a feed, and the alert it became (0: seen at the feed's first read).
type FeedItem struct {
	FeedURL string `json:"feed_url"`
	ItemID  string `json:"item_id"`
	AlertID uint64 `json:"alert_id"`
}

// Broadcast is when a seller last broadcast.
type Broadcast struct {
	SellerID int64     `json:"seller_id"`
	Last     time.Time `json:"last"`
}

func (Meta) kind() Kind          { return KindMeta }
func (Sequence) kind() Kind      { return KindSequence }
func (User) kind() Kind          { return KindUser }
func (APIKey) kind() Kind        { return KindAPIKey }
func (Application) kind() Kind   { return KindApplication }
func (Flow) kind() Kind          { return KindFlow }
func (Digest) kind() Kind        { return KindDigest }
func (Product) kind() Kind       { return KindProduct }
func (Link) kind() Kind          { return KindLink }
func (Click) kind() Kind         { return KindClick }
func (Visitor) kind() Kind       { return KindVisitor }
func (Aggregate) kind() Kind     { return KindAggregate }
func (Total) kind() Kind         { return KindTotal }
func (Order) kind() Kind         { return KindOrder }
func (Feedback) kind() Kind      { return KindFeedback }
func (Alert) kind() Kind         { return KindAlert }
func (AlertCounts) kind() Kind   { return KindAlertCounts }
func (OutboxMessage) kind() Kind { return KindOutbox }
func (Feed) kind() Kind          { return KindFeed }
func (FeedItem) kind() Kind      { return KindFeedItem }
func (Broadcast) kind() Kind     { return KindBroadcast }

func decodeAs[T Item](raw json.RawMessage) (Item, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// Counts is the number of items of each kind.
type Counts map[Kind]int64

// Equal reports whether c and o have the same count for every kind (a missing kind counts zero).
func (c Counts) Equal(o Counts) bool {
	for k, n := range c {
		if o[k] != n {
			return false
		}
	}
	for k, n := range o {
		if c[k] != n {
			return false
		}
	}
	return true
}

// Header is a dump's first line.
type Header struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Source names the backend the dump was made from ("bbolt", "postgres") and Schema its schema
	// version there.
	Source    string    `json:"source"`
	Schema    int       `json:"schema"`
	CreatedAt time.Time `json:"created_at"`
}

// line is the envelope of an item.
type line struct {
	K Kind `json:"k"`
	V any  `json:"v"`
}

// rawLine is line as read.
type rawLine struct {
	K Kind            `json:"k"`
	V json.RawMessage `json:"v"`
}

// trailer is the value of the last line.
type trailer struct {
	Counts Counts `json:"counts"`
}

// Writer writes a dump. Items must be written grouped by kind in the order of Kinds, and exactly one
// Meta; Close writes the trailer. A Writer is not safe for concurrent use.
type Writer struct {
	gz     *gzip.Writer
	buf    *bufio.Writer
	enc    *json.Encoder
	last   int // index in kinds of the last kind written
	counts Counts
	err    error
	closed bool
}

// NewWriter starts a dump on w with the header h (its Format and Version are set here, and CreatedAt
// when zero). The stream is compressed for speed rather than size: a dump of a large database is
// written while a migration or a backup waits for it.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	gz, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	buf := bufio.NewWriterSize(gz, 64<<10)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	h.Format, h.Version = Format, Version
	if h.CreatedAt.IsZero() {
		h.CreatedAt = time.Now()
	}
	h.CreatedAt = h.CreatedAt.UTC()
	dw := &Writer{gz: gz, buf: buf, enc: enc, counts: Counts{}}
	if err := enc.Encode(h); err != nil {
		return nil, fmt.Errorf("dump header: %w", err)
	}
	return dw, nil
}

// Write appends one item.
func (w *Writer) Write(it Item) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("dump: write after close")
	}
	k := it.kind()
	i := kindIndex[k]
	switch {
	case i < w.last:
		return fmt.Errorf("dump: a %s item after %s items: items must come in the order of dump.Kinds", k, kinds[w.last].kind)
	case k == KindMeta && w.counts[KindMeta] > 0:
		return errors.New("dump: a second meta item")
	}
	if err := w.enc.Encode(line{K: k, V: it}); err != nil {
		w.err = fmt.Errorf("dump: write %s: %w", k, err)
		return w.err
	}
	w.last = i
	w.counts[k]++
	return nil
}

// Counts returns the number of items written so far, by kind.
func (w *Writer) Counts() Counts {
	out := make(Counts, len(w.counts))
	for k, n := range w.counts {
		out[k] = n
	}
	return out
}

// Close writes the trailer and flushes the stream. It does not close the writer given to NewWriter. A
// dump without its meta item is refused.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	if w.counts[KindMeta] != 1 {
		w.err = errors.New("dump: no meta item")
		return w.err
	}
	if err := w.enc.Encode(line{K: kindEnd, V: trailer{Counts: w.Counts()}}); err != nil {
		w.err = fmt.Errorf("dump: write trailer: %w", err)
		return w.err
	}
	if err := w.buf.Flush(); err != nil {
		w.err = fmt.Errorf("dump: %w", err)
		return w.err
	}
	if err := w.gz.Close(); err != nil {
		w.err = fmt.Errorf("dump: %w", err)
		return w.err
	}
	return nil
}

// ErrNotDump is returned by NewReader for a stream that is not a Keranjang dump.
var ErrNotDump = errors.New("not a keranjang dump")

// Reader reads a dump written by Writer. Next checks as it goes that items come in the order of Kinds,
// and at the end that the trailer is there and agrees with what was read, and that the gzip stream is
// whole; so a dump cut short or changed is an error, never a smaller database.
type Reader struct {
	gz     *gzip.Reader
	dec    *json.Decoder
	header Header
	last   int
	counts Counts
	done   bool
	err    error
}

// NewReader starts reading a dump from r and reads its header. A stream that is not a dump gives an
// error wrapping ErrNotDump; a dump of a version this binary does not read, an error saying so.
func NewReader(r io.Reader) (*Reader, error) {
	gz, err := gzip.NewReader(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotDump, err)
	}
	dec := json.NewDecoder(gz)
	var h Header
	if err := dec.Decode(&h); err != nil || h.Format != Format {
		return nil, fmt.Errorf("%w: no dump header", ErrNotDump)
	}
	if h.Version != Version {
		return nil, fmt.Errorf("dump version %d: this keranjang reads version %d", h.Version, Version)
	}
	return &Reader{gz: gz, dec: dec, header: h, counts: Counts{}}, nil
}

// Header returns the dump's header.
func (r *Reader) Header() Header { return r.header }

// Counts returns the number of items read so far, by kind; after Next has returned io.EOF, the whole
// dump's.
func (r *Reader) Counts() Counts {
	out := make(Counts, len(r.counts))
	for k, n := range r.counts {
		out[k] = n
	}
	return out
}

// Next returns the next item, or io.EOF after the last one once the trailer and the stream's end have
// been checked. Any other error is final.
func (r *Reader) Next() (Item, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.done {
		return nil, io.EOF
	}
	it, err := r.next()
	if err != nil && err != io.EOF {
		r.err = err
	}
	return it, err
}

func (r *Reader) next() (Item, error) {
	var l rawLine
	if err := r.dec.Decode(&l); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errors.New("dump: cut short: the trailer is missing")
		}
		return nil, fmt.Errorf("dump: item %d: %w", r.total()+1, err)
	}
	if l.K == kindEnd {
		return nil, r.end(l.V)
	}
	i, ok := kindIndex[l.K]
	switch {
	case !ok:
		return nil, fmt.Errorf("dump: item %d: unknown kind %q", r.total()+1, l.K)
	case i < r.last:
		return nil, fmt.Errorf("dump: item %d: a %s item after %s items", r.total()+1, l.K, kinds[r.last].kind)
	case l.K == KindMeta && r.counts[KindMeta] > 0:
		return nil, fmt.Errorf("dump: item %d: a second meta item", r.total()+1)
	}
	it, err := kinds[i].decode(l.V)
	if err != nil {
		return nil, fmt.Errorf("dump: item %d (%s): %w", r.total()+1, l.K, err)
	}
	if err := check(it); err != nil {
		return nil, fmt.Errorf("dump: item %d (%s): %w", r.total()+1, l.K, err)
	}
	r.last = i
	r.counts[l.K]++
	return it, nil
}

// end checks the trailer and that nothing follows it, reading the gzip stream to its end so that its
// checksum is verified.
func (r *Reader) end(raw json.RawMessage) error {
	var t trailer
	if err := json.Unmarshal(raw, &t); err != nil {
		return fmt.Errorf("dump: trailer: %w", err)
	}
	if !t.Counts.Equal(r.counts) {
		return fmt.Errorf("dump: the trailer counts %v items, the dump holds %v", t.Counts, r.counts)
	}
	if r.counts[KindMeta] != 1 {
		return errors.New("dump: no meta item")
	}
	if _, err := r.dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the trailer")
		}
		return fmt.Errorf("dump: %w", err)
	}
	r.done = true
	return io.EOF
}

func (r *Reader) total() int64 {
	var n int64
	for _, c := range r.counts {
		n += c
	}
	return n
}

// check refuses items that no store can hold.
func check(it Item) error {
	switch v := it.(type) {
	case Aggregate:
		switch v.Of {
		case AggLink:
			if v.Code == "" || v.ID != 0 {
				return errors.New("a link aggregate names a code, not an id")
			}
		case AggAffiliate, AggProduct, AggSeller:
			if v.Code != "" {
				return fmt.Errorf("a %s aggregate names an id, not a code", v.Of)
			}
		default:
			return fmt.Errorf("unknown aggregate %q", v.Of)
		}
	case Sequence:
		for _, s := range Sequences() {
			if v.Name == s {
				return nil
			}
		}
		return fmt.Errorf("unknown sequence %q", v.Name)
	}
	return nil
}
