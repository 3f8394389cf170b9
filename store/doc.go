// Package store is Keranjang's database: one bbolt file behind one concrete *Store.
//
// # The store contract
//
// The rest of the program depends on what *Store does, not on bbolt, so that a second backend (for
// example PostgreSQL) can take its place. Every backend must guarantee what follows; the conformance
// suite in store/storetest checks it, and each backend runs that suite unchanged (bbolt: in
// bbolt_conformance_test.go).
//
// Cancellation. Every method that touches the data takes a context first. A backend checks it before
// each transaction or statement it starts, and a method that works in several transactions (keyset
// pages, PruneClicks' chunks, Backup's copy) checks it between them. A method given a context that is
// already done returns an error that wraps ctx.Err() (errors.Is(err, context.Canceled)) and writes
// nothing. Work inside one transaction is not interrupted: bbolt cannot, and a PostgreSQL statement
// that is cancelled rolls back, which is the same to the caller.
//
// Errors. Domain failures are affiliate errors (affiliate.ErrUserNotFound, affiliate.Errorf with a code
// and a reason) and are matched with errors.Is or affiliate.ErrorCode, wrapped with a short lowercase
// context naming the method. Validation happens before any transaction, so invalid input fails the same
// way on every backend.
//
// Keyset paging. ListUsers and ListLinks return up to limit rows after a key (user id, link code) in key
// order, each page in a short read of its own, so a caller may walk everything and write between pages;
// rows added or removed between pages may or may not show up, but no row is returned twice and none that
// stays is skipped. A limit of 0 or less returns nothing.
//
// Clicks. RecordClicks accepts clicks in any order. Within a batch, clicks are judged in time order
// (input order among equal times); across batches, in the order the batches were recorded. A click is
// unique when the same visitor's latest click on the same link judged before it is at least
// affiliate.UniqueWindow older, or there is none (PruneVisitors forgets clicks older than the time it is
// given). So a click that arrives in a later batch than a newer click of the same visitor and link is
// never unique. A click whose id is already logged is not counted again. Aggregates are by the click's
// own unix hour, whatever the order. Bot visits are counted, never logged. PruneClicks(before) deletes at
// least the logged clicks of every batch whose clicks are all before before, never a click at or after
// it, and returns how many it deleted; a backend that stores a batch as one record may keep the older
// clicks of a batch that spans the limit until a later prune.
//
// Orders. An order is unique per (seller, order id). RecordOrder validates a report before any
// transaction, then attributes a first report (by click id within Options.AttributionWindow of the
// order, or by link code without a window; the link's product must be the reporting seller's, and
// another seller's link or click is as unknown as a missing one) or applies a later one by the rules in
// affiliate, and writes the order with every aggregate it moves (per link, affiliate, product and seller
// by the unix hour of the order's time, and the link's totals) in one transaction that is durable before
// it returns. The same report again changes and writes nothing (changed false). Aggregates move by the
// difference of affiliate.Order.Counts before and after, so every aggregate is always the sum over the
// orders in it; a change that would take a stored count below zero is an internal error and writes
// nothing. ImportOrders does the same for a batch in one transaction, with a result per row. Reports read
// aggregates only, never the orders; clicks count in the per-product and per-seller aggregates too.
// SellerOrders pages like ListUsers, by (whole second of the order's time, order id).
//
// Outbox. Enqueue queues each message at most once per idempotency key, in one transaction per call;
// a key stays taken while its message is kept (queued, sent, failed or dropped), and PruneOutbox never
// deletes a message that finished within OutboxKeyRetention (two days), whatever limit it is given.
// DueMessages returns queued messages whose NextAt has come, soonest first. Every status change moves the
// outbox counters (OutboxStats, never a scan) and, for a message with an AlertID, the alert's counts
// (AlertCounts) in the same transaction. SetReachable(false) sets the user's flag and drops their queued
// messages in one transaction; Enqueue for a stored unreachable user records the message as dropped.
// MarkSent is final: Telegram's confirmation wins over any other state, and a sent message is never
// returned by DueMessages again.
//
// Backup. Backup writes a consistent snapshot of the whole database to an io.Writer in the backend's
// own format (for bbolt, a bbolt file that Open accepts) and returns the number of bytes written. It
// never holds up writers or Close while the writer is slow or blocked: a backend takes its snapshot to
// local storage first and copies it to the writer outside any transaction, checking ctx between writes.
//
// Options. Now and Rand are for every backend: the clock of every timestamp the store sets, and the
// source of link codes, API keys and click ids the store makes up (they need not be safe for concurrent
// use). Timeout is bbolt-only: how long Open waits for the file lock that another process holds.
//
// Target cache. Target serves the redirect and may answer from memory in the process. An answer may not
// be staler than the last committed change made through this process's store that changes it:
// UpdateProduct (URL or status) drops the affected entries after its commit, and a lookup that read the
// database before such a commit never puts its stale answer back. A link's code, affiliate, product and
// seller never change once stored, so nothing else invalidates. Changes made by another process (a
// second instance on a shared database) are not seen until restart; that is allowed only for backends
// where several processes can share the data, and such a backend must then bound the staleness itself.
//
// Schema. Open creates or upgrades the data to SchemaLatest before it returns (see migrations in
// store.go); a database of a newer schema is refused. Count records are versioned (see counts.go), so
// that new tallies arrive by migration.
package store
