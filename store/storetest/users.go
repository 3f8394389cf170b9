package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

func testRegisterUser(t *testing.T, open Open) {
	f := newFixture(t, open)
	u, created, err := f.s.RegisterUser(t.Context(), affiliate.User{ID: 5, ChatID: 5, FirstName: "Sari", Lang: affiliate.LangID, TimeZone: "Asia/Jakarta", DigestMinute: 1260})
	if err != nil || !created || u.CreatedAt.IsZero() || !u.CreatedAt.Equal(u.UpdatedAt) {
		t.Fatalf("first register: %+v %v %v", u, created, err)
	}
	if _, err := f.s.UpdateUser(t.Context(), 5, func(u *affiliate.User) error {
		u.Lang, u.TimeZone, u.DigestMinute = affiliate.LangEN, "Asia/Makassar", -1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	u, created, err = f.s.RegisterUser(t.Context(), affiliate.User{ID: 5, ChatID: 55, FirstName: "Sari", LastName: "Dewi", Username: "sari", Lang: affiliate.LangID, TimeZone: "Asia/Jakarta"})
	if err != nil || created {
		t.Fatalf("second register: %v %v", created, err)
	}
	if u.ChatID != 55 || u.LastName != "Dewi" || u.Username != "sari" {
		t.Fatalf("names not refreshed: %+v", u)
	}
	if u.Lang != affiliate.LangEN || u.TimeZone != "Asia/Makassar" || u.DigestMinute != -1 {
		t.Fatalf("settings not kept: %+v", u)
	}
	if !u.UpdatedAt.After(u.CreatedAt) {
		t.Fatalf("updated_at not moved: %+v", u)
	}
	if _, _, err := f.s.RegisterUser(t.Context(), affiliate.User{ID: 0}); affiliate.ErrorCode(err) != affiliate.EInvalid {
		t.Fatalf("id 0: %v", err)
	}
}

func testGetUpdateListUsers(t *testing.T, open Open) {
	f := newFixture(t, open)
	for _, id := range []int64{300, 2, 1000000000000} {
		f.user(t, id, "U")
	}
	_, err := f.s.GetUser(t.Context(), 99)
	wantErr(t, err, affiliate.ErrUserNotFound)
	_, err = f.s.UpdateUser(t.Context(), 99, func(*affiliate.User) error { return nil })
	wantErr(t, err, affiliate.ErrUserNotFound)

	boom := errors.New("boom")
	_, err = f.s.UpdateUser(t.Context(), 2, func(u *affiliate.User) error { u.FirstName = "changed"; return boom })
	wantErr(t, err, boom)
	if u, _ := f.s.GetUser(t.Context(), 2); u.FirstName != "U" {
		t.Fatalf("aborted update was written: %+v", u)
	}
	u, err := f.s.UpdateUser(t.Context(), 2, func(u *affiliate.User) error { u.ID = 77; u.AlertsOn = false; return nil })
	if err != nil || u.ID != 2 || u.AlertsOn {
		t.Fatalf("update: %+v %v", u, err)
	}

	var ids []int64
	for after := int64(0); ; {
		page, err := f.s.ListUsers(t.Context(), after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, u := range page {
			ids = append(ids, u.ID)
		}
		after = page[len(page)-1].ID
	}
	if len(ids) != 3 || ids[0] != 2 || ids[1] != 300 || ids[2] != 1000000000000 {
		t.Fatalf("order %v", ids)
	}
}

func testApplications(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.user(t, 1, "A")
	f.user(t, 2, "B")

	_, err := f.s.ApplySeller(t.Context(), 9, "Toko")
	wantErr(t, err, affiliate.ErrUserNotFound)
	_, err = f.s.ApplySeller(t.Context(), 1, "   ")
	wantReason(t, err, "shop_name_empty")
	_, err = f.s.GetApplication(t.Context(), 1)
	wantErr(t, err, affiliate.ErrAppNotFound)
	_, _, err = f.s.DecideApplication(t.Context(), 1, true, 100)
	wantErr(t, err, affiliate.ErrAppNotFound)

	app, err := f.s.ApplySeller(t.Context(), 2, "  Toko   Dua ")
	if err != nil || app.Status != affiliate.AppPending || app.ShopName != "Toko Dua" {
		t.Fatalf("apply: %+v %v", app, err)
	}
	f.clock.Advance(time.Minute)
	if _, err := f.s.ApplySeller(t.Context(), 1, "Toko Satu"); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.ApplySeller(t.Context(), 1, "Again")
	wantReason(t, err, "application_pending")

	pending, err := f.s.PendingApplications(t.Context())
	if err != nil || len(pending) != 2 || pending[0].UserID != 2 || pending[1].UserID != 1 {
		t.Fatalf("pending: %+v %v", pending, err)
	}

	app, u, err := f.s.DecideApplication(t.Context(), 1, true, 100)
	if err != nil || app.Status != affiliate.AppApproved || app.DecidedBy != 100 || !u.Seller || u.ShopName != "Toko Satu" {
		t.Fatalf("approve: %+v %+v %v", app, u, err)
	}
	if got, _ := f.s.GetUser(t.Context(), 1); !got.Seller {
		t.Fatal("approval not stored on the user")
	}
	_, _, err = f.s.DecideApplication(t.Context(), 1, false, 100)
	wantReason(t, err, "application_decided")
	_, err = f.s.ApplySeller(t.Context(), 1, "More")
	wantReason(t, err, "already_seller")

	app, u, err = f.s.DecideApplication(t.Context(), 2, false, 100)
	if err != nil || app.Status != affiliate.AppRejected || u.Seller {
		t.Fatalf("reject: %+v %+v %v", app, u, err)
	}
	if pending, _ := f.s.PendingApplications(t.Context()); len(pending) != 0 {
		t.Fatalf("still pending: %+v", pending)
	}
	if app, err := f.s.ApplySeller(t.Context(), 2, "Toko Baru"); err != nil || app.Status != affiliate.AppPending {
		t.Fatalf("re-apply after rejection: %+v %v", app, err)
	}
	if got, err := f.s.GetApplication(t.Context(), 2); err != nil || got.ShopName != "Toko Baru" {
		t.Fatalf("get application: %+v %v", got, err)
	}
}

func testFlows(t *testing.T, open Open) {
	f := newFixture(t, open)
	if _, ok, err := f.s.GetFlow(t.Context(), 1); ok || err != nil {
		t.Fatalf("flow before save: %v %v", ok, err)
	}
	if err := f.s.SaveFlow(t.Context(), affiliate.Flow{UserID: 1, Name: "addproduct", Step: "name"}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SaveFlow(t.Context(), affiliate.Flow{UserID: 1, Name: "addproduct", Step: "rate", Data: map[string]string{"price": "1000"}}); err != nil {
		t.Fatal(err)
	}
	fl, ok, err := f.s.GetFlow(t.Context(), 1)
	if err != nil || !ok || fl.Step != "rate" || fl.Data["price"] != "1000" || fl.UpdatedAt.IsZero() {
		t.Fatalf("flow: %+v %v %v", fl, ok, err)
	}
	if err := f.s.DeleteFlow(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteFlow(t.Context(), 1); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if _, ok, _ := f.s.GetFlow(t.Context(), 1); ok {
		t.Fatal("flow survived delete")
	}
	if err := f.s.SaveFlow(t.Context(), affiliate.Flow{}); affiliate.ErrorCode(err) != affiliate.EInvalid {
		t.Fatalf("flow without user: %v", err)
	}
}

func testAPIKeys(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.user(t, 1, "Affiliate")
	f.seller(t, 2, "Toko")
	f.seller(t, 3, "Warung")

	_, err := f.s.APIKey(t.Context(), 1)
	wantErr(t, err, affiliate.ErrSellerNotFound)

	key, err := f.s.APIKey(t.Context(), 2)
	if err != nil || !validAPIKey(key) || !strings.HasPrefix(key, "ksk_") || len(key) != 36 {
		t.Fatalf("key %q, %v", key, err)
	}
	if again, _ := f.s.APIKey(t.Context(), 2); again != key {
		t.Fatalf("key changed: %q → %q", key, again)
	}
	other, _ := f.s.APIKey(t.Context(), 3)
	if other == key {
		t.Fatal("two sellers share a key")
	}
	for _, tt := range []struct {
		key  string
		want int64
	}{
		{key, 2}, {other, 3}, {"", 0}, {"ksk_short", 0}, {key[:35] + "!", 0}, {"ksk_" + strings.Repeat("A", 32), 0},
	} {
		id, err := f.s.SellerByAPIKey(t.Context(), tt.key)
		if tt.want == 0 {
			wantErr(t, err, affiliate.ErrSellerNotFound)
			continue
		}
		if err != nil || id != tt.want {
			t.Fatalf("seller by %q: %d %v", tt.key, id, err)
		}
	}

	rotated, err := f.s.RotateAPIKey(t.Context(), 2)
	if err != nil || rotated == key || !validAPIKey(rotated) {
		t.Fatalf("rotate: %q %v", rotated, err)
	}
	_, err = f.s.SellerByAPIKey(t.Context(), key)
	wantErr(t, err, affiliate.ErrSellerNotFound)
	if id, err := f.s.SellerByAPIKey(t.Context(), rotated); err != nil || id != 2 {
		t.Fatalf("rotated key: %d %v", id, err)
	}
	if got, _ := f.s.APIKey(t.Context(), 2); got != rotated {
		t.Fatalf("APIKey after rotate %q, want %q", got, rotated)
	}

	// A seller who stops being one loses the key.
	if _, err := f.s.UpdateUser(t.Context(), 3, func(u *affiliate.User) error { u.Seller = false; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.SellerByAPIKey(t.Context(), other)
	wantErr(t, err, affiliate.ErrSellerNotFound)
}

func testFeedback(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	f.seller(t, 11, "Lain")
	f.user(t, 20, "A")
	f.user(t, 21, "B")
	p := f.product(t, 10, "Kopi", 500)
	q := f.product(t, 11, "Teh", 500)

	for _, tt := range []struct {
		name   string
		fb     affiliate.Feedback
		reason string
	}{
		{"empty", affiliate.Feedback{ProductID: p.ID, AffiliateID: 20, Text: "  "}, "feedback_empty"},
		{"long", affiliate.Feedback{ProductID: p.ID, AffiliateID: 20, Text: strings.Repeat("é", affiliate.MaxFeedbackLen+1)}, "feedback_long"},
		{"no product", affiliate.Feedback{ProductID: 99, AffiliateID: 20, Text: "hi"}, "product_not_found"},
		{"no user", affiliate.Feedback{ProductID: p.ID, AffiliateID: 99, Text: "hi"}, "user_not_found"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.s.AddFeedback(t.Context(), tt.fb)
			wantReason(t, err, tt.reason)
		})
	}

	texts := []struct {
		aff  int64
		prod uint64
		text string
	}{{20, p.ID, "one"}, {21, p.ID, "two"}, {20, q.ID, "other seller"}, {20, p.ID, "three"}}
	for _, x := range texts {
		f.clock.Advance(time.Minute)
		fb, err := f.s.AddFeedback(t.Context(), affiliate.Feedback{ProductID: x.prod, AffiliateID: x.aff, SellerID: 999, Text: " " + x.text + " "})
		if err != nil || fb.ID == 0 || fb.Text != x.text || fb.At.IsZero() {
			t.Fatalf("add feedback: %+v %v", fb, err)
		}
		if fb.SellerID == 999 {
			t.Fatal("seller taken from the caller, not the product")
		}
	}
	got, err := f.s.SellerFeedback(t.Context(), 10, 0)
	if err != nil || len(got) != 3 || got[0].Text != "three" || got[2].Text != "one" {
		t.Fatalf("seller feedback: %+v %v", got, err)
	}
	if got, _ := f.s.SellerFeedback(t.Context(), 10, 2); len(got) != 2 || got[1].Text != "two" {
		t.Fatalf("limited: %+v", got)
	}
	if got, _ := f.s.SellerFeedback(t.Context(), 11, 10); len(got) != 1 || got[0].Text != "other seller" {
		t.Fatalf("other seller: %+v", got)
	}
	if got, _ := f.s.SellerFeedback(t.Context(), 12, 10); len(got) != 0 {
		t.Fatalf("seller without feedback: %+v", got)
	}

	if err := f.s.DeleteUserData(t.Context(), 20); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.s.SellerFeedback(t.Context(), 10, 0); len(got) != 1 || got[0].Text != "two" {
		t.Fatalf("after deleting user 20: %+v", got)
	}
	if got, _ := f.s.SellerFeedback(t.Context(), 11, 0); len(got) != 0 {
		t.Fatalf("after deleting user 20: %+v", got)
	}
}

func testDeleteUserDataKeepsAggregates(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	f.user(t, 20, "Budi")
	if _, err := f.s.ApplySeller(t.Context(), 20, "Mau Jualan"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SaveFlow(t.Context(), affiliate.Flow{UserID: 20, Name: "x"}); err != nil {
		t.Fatal(err)
	}
	p := f.product(t, 10, "Kopi", 500)
	l := f.join(t, 20, p.ID)
	now := f.clock.Now()
	f.record(t, click(l, "c1", now, 1), click(l, "c2", now, 2))

	if err := f.s.DeleteUserData(t.Context(), 20); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteUserData(t.Context(), 20); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	_, err := f.s.GetUser(t.Context(), 20)
	wantErr(t, err, affiliate.ErrUserNotFound)
	_, err = f.s.GetApplication(t.Context(), 20)
	wantErr(t, err, affiliate.ErrAppNotFound)
	if pending, _ := f.s.PendingApplications(t.Context()); len(pending) != 0 {
		t.Fatalf("pending after delete: %+v", pending)
	}
	if _, ok, _ := f.s.GetFlow(t.Context(), 20); ok {
		t.Fatal("flow kept")
	}
	if got, err := f.s.GetLink(t.Context(), l.Code); err != nil || got.AffiliateID != 20 {
		t.Fatalf("link: %+v %v", got, err)
	}
	if c, _ := f.s.LinkCounts(t.Context(), l.Code, time.Time{}, time.Time{}); c.Clicks != 2 {
		t.Fatalf("link counts %+v", c)
	}
	if c, _ := f.s.AffiliateCounts(t.Context(), 20, now.Add(-time.Hour), now.Add(time.Hour)); c.Clicks != 2 {
		t.Fatalf("affiliate counts %+v", c)
	}
	rows, err := f.s.AffiliateReport(t.Context(), 10, 0, now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil || len(rows) != 1 || rows[0].AffiliateName != "" || rows[0].Clicks != 2 || rows[0].AffiliateID != 20 {
		t.Fatalf("report %+v %v", rows, err)
	}
	if _, err := f.s.GetClick(t.Context(), "c1"); err != nil {
		t.Fatalf("click: %v", err)
	}
	// A deleted seller's API key stops working.
	key, _ := f.s.APIKey(t.Context(), 10)
	if err := f.s.DeleteUserData(t.Context(), 10); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.SellerByAPIKey(t.Context(), key)
	wantErr(t, err, affiliate.ErrSellerNotFound)
	if st, _ := f.s.Stats(t.Context()); st.Users != 0 || st.Sellers != 0 || st.Links != 1 || st.Clicks != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// validAPIKey reports whether key has the form of a seller API key: "ksk_" and 32 characters of
// affiliate.Alphabet.
func validAPIKey(key string) bool {
	rest, ok := strings.CutPrefix(key, "ksk_")
	return ok && len(rest) == 32 && strings.Trim(rest, affiliate.Alphabet) == ""
}
