package main

import (
	"testing"
	"time"

	"github.com/keranjang/keranjang/scheduler"
)

// TestE2EDigest runs the daily digest through the whole binary (PRODUCT.md §5): an affiliate in WIT gets
// hers at 21:00 WIT, which is 19:00 in Jakarta, and one in WIB at 21:00 WIB; each covers the day with its
// order; a second run and a run after a restart send nothing more. The clock stands still unless the test
// moves it, and the job is run by hand, never waited for.
func TestE2EDigest(t *testing.T) { forEachBackend(t, testDigestEndToEnd) }

func testDigestEndToEnd(t *testing.T) {
	clock := standingClock() // 10:00 in Jakarta today
	s := newShopWith(t, Options{Now: clock.Now, RateBurst: scripted})
	s.addTas(t)
	s.readKeys(t)
	aniCode := basketCode(t, s.say(t, s.ani, "/join 1"))
	joeCode := basketCode(t, s.say(t, s.joe, "/start p_1"))
	mustContain(t, s.say(t, s.joe, "/timezone WIT").PlainText, "WIT")
	order := func(id, code string) string {
		return `{"order_id":"` + id + `","link_code":"` + code + `","amount":123457,"status":"pending"}`
	}
	before := s.sent(s.ani.ID)
	s.report(t, s.budi.ID, s.budiKey, order("D-1", aniCode))
	s.waitNew(t, s.ani.ID, before, 1)
	before = s.sent(s.joe.ID)
	s.report(t, s.budi.ID, s.budiKey, order("D-2", joeCode))
	s.waitNew(t, s.joe.ID, before, 1)

	jkt, err := time.LoadLocation("Asia/Jakarta")
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now().In(jkt)
	at := func(hour int) { clock.Set(time.Date(now.Year(), now.Month(), now.Day(), hour, 0, 0, 0, jkt)) }
	run := func() {
		t.Helper()
		if err := s.sb.app.sched.RunNow(t.Context(), scheduler.JobDigest); err != nil {
			t.Fatalf("digest run: %v", err)
		}
	}

	// 19:00 WIB is 21:00 WIT: Joe's digest time, not Ani's.
	at(19)
	aniBefore, joeBefore := s.sent(s.ani.ID), s.sent(s.joe.ID)
	run()
	mustContain(t, s.waitNew(t, s.joe.ID, joeBefore, 1)[0].PlainText, "Today so far", "Orders: 1", "Rp12.345", "Tas Anyaman")
	s.settle(t)
	if got := s.sent(s.ani.ID) - aniBefore; got != 0 {
		t.Fatalf("Ani got %d messages at 19:00 WIB, before her digest time", got)
	}

	// 21:00 WIB: Ani's.
	at(21)
	run()
	mustContain(t, s.waitNew(t, s.ani.ID, aniBefore, 1)[0].PlainText, "Ringkasan hari ini", "Pesanan: 1", "Rp12.345", "Tas Anyaman")

	// Again, and after a restart: nothing more the same day.
	run()
	s.restart(t)
	run()
	s.settle(t)
	if got := s.sent(s.ani.ID) - aniBefore; got != 1 {
		t.Fatalf("Ani got %d digests, want 1", got)
	}
	if got := s.sent(s.joe.ID) - joeBefore; got != 1 {
		t.Fatalf("Joe got %d digests, want 1", got)
	}
}
