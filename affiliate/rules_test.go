package affiliate

import (
	"strings"
	"testing"
	"time"
)

func TestIsUnique(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		last time.Time
		want bool
	}{
		{"first click", time.Time{}, true},
		{"a second ago", now.Add(-time.Second), false},
		{"just under a day", now.Add(-UniqueWindow + time.Nanosecond), false},
		{"exactly a day", now.Add(-UniqueWindow), true},
		{"two days", now.Add(-2 * UniqueWindow), true},
		{"same instant", now, false},
	}
	for _, tt := range tests {
		if got := IsUnique(tt.last, now); got != tt.want {
			t.Errorf("%s: IsUnique = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestReminderDue(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	kept := func(until time.Duration, rate BasisPoints, reminded bool) Link {
		return Link{KeptRate: rate, KeptUntil: now.Add(until), Reminded: reminded}
	}
	tests := []struct {
		name        string
		link        Link
		productRate BasisPoints
		want        bool
	}{
		{"no kept rate", Link{}, 1000, false},
		{"ends in 47h", kept(47*time.Hour, 1500, false), 1000, true},
		{"ends in exactly the lead", kept(ReminderLead, 1500, false), 1000, true},
		{"ends in 49h: too early", kept(49*time.Hour, 1500, false), 1000, false},
		{"ends in a minute", kept(time.Minute, 1500, false), 1000, true},
		{"ended now", kept(0, 1500, false), 1000, false},
		{"ended yesterday", kept(-24*time.Hour, 1500, false), 1000, false},
		{"already reminded", kept(time.Hour, 1500, true), 1000, false},
		{"raised since to the kept rate", kept(time.Hour, 1500, false), 1500, false},
		{"raised above the kept rate", kept(time.Hour, 1500, false), 2000, false},
	}
	for _, tt := range tests {
		if got := ReminderDue(tt.link, tt.productRate, now); got != tt.want {
			t.Errorf("%s: ReminderDue = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckJoin(t *testing.T) {
	active := Product{ID: 1, SellerID: 10, Status: ProductActive}
	paused := Product{ID: 2, SellerID: 10, Status: ProductPaused}
	tests := []struct {
		name   string
		p      Product
		aff    int64
		joined bool
		want   string
	}{
		{"affiliate joins", active, 20, false, ""},
		{"seller joins own", active, 10, false, "join_own"},
		{"seller own, paused", paused, 10, false, "join_own"},
		{"paused, new", paused, 20, false, "product_paused"},
		{"paused, joined before", paused, 20, true, ""},
	}
	for _, tt := range tests {
		if got := ErrorReason(CheckJoin(tt.p, tt.aff, tt.joined)); got != tt.want {
			t.Errorf("%s: reason %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCheckFeedback(t *testing.T) {
	tests := []struct {
		name   string
		joined bool
		text   string
		want   string
	}{
		{"ok", true, " great product ", ""},
		{"not joined", false, "hi", "feedback_not_joined"},
		{"empty", true, "   ", "feedback_empty"},
		{"1000 ampersands", true, strings.Repeat("&", 1000), ""},
		{"1001 characters", true, strings.Repeat("a", 1001), "feedback_long"},
		{"500 emoji are 1000 units", true, strings.Repeat("😀", 500), ""},
		{"501 emoji are 1002 units", true, strings.Repeat("😀", 501), "feedback_long"},
	}
	for _, tt := range tests {
		text, err := CheckFeedback(tt.joined, 7, tt.text)
		if got := ErrorReason(err); got != tt.want {
			t.Errorf("%s: reason %q, want %q", tt.name, got, tt.want)
		}
		if err == nil && text != strings.TrimSpace(tt.text) {
			t.Errorf("%s: text %q not trimmed", tt.name, text)
		}
	}
}

func TestCheckApplication(t *testing.T) {
	tests := []struct {
		name  string
		u     User
		app   Application
		found bool
		want  string
	}{
		{"first application", User{ID: 1}, Application{}, false, ""},
		{"already a seller", User{ID: 1, Seller: true}, Application{}, false, "already_seller"},
		{"pending", User{ID: 1}, Application{Status: AppPending}, true, "application_pending"},
		{"rejected may apply again", User{ID: 1}, Application{Status: AppRejected}, true, ""},
		{"approved, seller since erased", User{ID: 1}, Application{Status: AppApproved}, true, ""},
	}
	for _, tt := range tests {
		if got := ErrorReason(CheckApplication(tt.u, tt.app, tt.found)); got != tt.want {
			t.Errorf("%s: reason %q, want %q", tt.name, got, tt.want)
		}
	}
	for st, want := range map[AppStatus]string{AppPending: "", AppApproved: "application_decided", AppRejected: "application_decided"} {
		if got := ErrorReason(CheckDecision(Application{Status: st})); got != want {
			t.Errorf("decide %s: reason %q, want %q", st, got, want)
		}
	}
}

func TestValidateProductHosts(t *testing.T) {
	hosts := []string{"tokopedia.com"}
	base := func(url string) Product {
		return Product{Name: "Batik", Price: 1000, Rate: 1000, URL: url, Status: ProductActive}
	}
	old := base("https://shop.example.com/a") // added before the host list was set
	tests := []struct {
		name string
		old  *Product
		p    Product
		want string
	}{
		{"new, allowed host", nil, base("https://www.tokopedia.com/x"), ""},
		{"new, other host", nil, base("https://shop.example.com/x"), "url_host_not_allowed"},
		{"change keeps the old URL", &old, base("https://shop.example.com/a"), ""},
		{"change to another disallowed URL", &old, base("https://shop.example.com/b"), "url_host_not_allowed"},
		{"change to an allowed URL", &old, base("https://tokopedia.com/b"), ""},
		{"bad status", nil, Product{Name: "x", Price: 1, Rate: 100, URL: "https://tokopedia.com", Status: "gone"}, "status"},
		{"bad rate", nil, Product{Name: "x", Price: 1, Rate: 1, URL: "https://tokopedia.com", Status: ProductActive}, "rate_range"},
	}
	for _, tt := range tests {
		p := tt.p
		if got := ErrorReason(ValidateProduct(tt.old, &p, hosts)); got != tt.want {
			t.Errorf("%s: reason %q, want %q", tt.name, got, tt.want)
		}
	}
	p := base("https://ANY.example.com./x#frag")
	if err := ValidateProduct(nil, &p, nil); err != nil || p.URL != "https://any.example.com/x" {
		t.Errorf("no host list: %v, url %q", err, p.URL)
	}
}
