package main

// End-to-end tests: the real system (store, bot edge, commands, HTTP server, scheduler) runs against the
// strict fake Bot API. Tests act as Telegram users through the fake and as buyers and shops through real
// HTTP, and assert on what the bot sent. No test waits a fixed time: every wait is for a condition, with a
// generous deadline.
//
// Every test starts its own system on a temporary database and builds the state it needs with the
// fixtures in e2e_fixtures_test.go, so any one runs alone:
//
//	go test -run 'TestE2E/bbolt/Catalogue/join_by_button' ./cmd/keranjang/
//
// Each suite runs once per backend (forEachBackend): on a bbolt file, and on a PostgreSQL schema of its
// own when KERANJANG_TEST_POSTGRES names a server (.ci/run sets it).
//
// When a test ends, startE2E checks that the fake refused none of the bot's calls and that every button
// pressed was answered exactly once.

import "testing"

// TestE2E is the end-to-end suite, one group per concern; the groups live in e2e_<concern>_test.go.
func TestE2E(t *testing.T) {
	forEachBackend(t, func(t *testing.T) {
		t.Run("Account", testAccount)
		t.Run("Sellers", testSellers)
		t.Run("Catalogue", testCatalogue)
		t.Run("Tracking", testTracking)
		t.Run("API", testAPI)
		t.Run("Edge", testEdge)
		t.Run("Lifecycle", testLifecycle)
	})
}
