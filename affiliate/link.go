package affiliate

import (
	"net/url"
	"strings"
	"time"
)

// LinkCodeLen is the length of a basket-link code: 8 characters of [A-Za-z0-9].
const LinkCodeLen = 8

// Alphabet is the character set of link codes, click ids and API keys.
const Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// ValidCode reports whether s looks like a link code, without touching the store.
func ValidCode(s string) bool {
	return len(s) == LinkCodeLen && isAlnum(s)
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// Link enrols one affiliate in one product: the basket link. When the seller cuts the rate, an enrolled
// affiliate keeps KeptRate until KeptUntil (see EffectiveRate).
type Link struct {
	Code        string      `json:"code"`
	AffiliateID int64       `json:"affiliate_id"`
	ProductID   uint64      `json:"product_id"`
	SellerID    int64       `json:"seller_id"`
	KeptRate    BasisPoints `json:"kept_rate_bp,omitempty"`
	KeptUntil   time.Time   `json:"kept_until,omitzero"`
	// Reminded is set once the affiliate was reminded that KeptRate is about to end.
	Reminded  bool      `json:"reminded,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// EffectiveRate is the rate that counts for this affiliate at time t: the product's rate, or the kept
// rate when a cut is still within its protection period and the kept rate is higher.
func EffectiveRate(productRate BasisPoints, l Link, t time.Time) BasisPoints {
	if l.KeptRate > productRate && t.Before(l.KeptUntil) {
		return l.KeptRate
	}
	return productRate
}

// ApplyRateChange returns the link as it must be after the product's rate goes from oldRate to newRate at
// now, and whether the affiliate must be told. A raise applies at once (nothing to keep). A cut keeps the
// affiliate's current effective rate for RateProtection, unless a protection is already running, which
// is not extended.
func ApplyRateChange(l Link, oldRate, newRate BasisPoints, now time.Time) (Link, bool) {
	if newRate >= oldRate {
		return l, false
	}
	current := EffectiveRate(oldRate, l, now)
	if current <= newRate {
		return l, false
	}
	if l.KeptRate > oldRate && now.Before(l.KeptUntil) {
		return l, true // already protected at a higher rate; the clock keeps running
	}
	l.KeptRate = current
	l.KeptUntil = now.Add(RateProtection)
	l.Reminded = false
	return l, true
}

// ClickURL adds kclid=<clickID> to the stored product URL, keeping its query. The product URL was
// validated when stored; a URL that no longer parses is returned unchanged with the parameter appended.
func ClickURL(productURL, clickID string) string {
	u, err := url.Parse(productURL)
	if err != nil {
		sep := "?"
		if strings.Contains(productURL, "?") {
			sep = "&"
		}
		return productURL + sep + "kclid=" + url.QueryEscape(clickID)
	}
	q := u.RawQuery
	if q != "" && !strings.HasSuffix(q, "&") {
		q += "&"
	}
	u.RawQuery = q + "kclid=" + url.QueryEscape(clickID)
	return u.String()
}

// Click is one visit to a basket link. Visitor is a salted hash of IP and user agent; the raw values are
// never stored. Bot visits (HEAD, crawlers, link previews) are kept apart and never count as clicks.
type Click struct {
	ID          string    `json:"id"`
	Code        string    `json:"code"`
	ProductID   uint64    `json:"product_id"`
	AffiliateID int64     `json:"affiliate_id"`
	SellerID    int64     `json:"seller_id"`
	At          time.Time `json:"at"`
	Visitor     uint64    `json:"visitor"`
	Unique      bool      `json:"unique"`
	Bot         bool      `json:"bot"`
}

// UniqueWindow is how long a visitor's repeat clicks on one link are not unique.
const UniqueWindow = 24 * time.Hour

// Counts are the click and order tallies of a link, an affiliate, a product, a seller or a report row.
type Counts struct {
	Clicks       int64 `json:"clicks"`
	UniqueClicks int64 `json:"unique_clicks"`
	BotVisits    int64 `json:"bot_visits"`
	OrderCounts
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Clicks += o.Clicks
	c.UniqueClicks += o.UniqueClicks
	c.BotVisits += o.BotVisits
	c.OrderCounts.Add(o.OrderCounts)
}

// Target is what the redirect needs to know about a link code: where to send the visitor and whom the
// click belongs to.
type Target struct {
	Code        string
	URL         string
	ProductID   uint64
	AffiliateID int64
	SellerID    int64
}

// ReportRow is one affiliate's activity on one product over a period.
type ReportRow struct {
	AffiliateID   int64  `json:"affiliate_id"`
	AffiliateName string `json:"affiliate_name,omitempty"`
	ProductID     uint64 `json:"product_id"`
	ProductName   string `json:"product_name,omitempty"`
	Code          string `json:"link_code"`
	Counts
}

// Feedback is a comment an affiliate sent to a product's seller.
type Feedback struct {
	ID          uint64    `json:"id"`
	ProductID   uint64    `json:"product_id"`
	SellerID    int64     `json:"seller_id"`
	AffiliateID int64     `json:"affiliate_id"`
	Text        string    `json:"text"`
	At          time.Time `json:"at"`
}

// MaxFeedbackLen is the longest feedback text accepted, in characters.
const MaxFeedbackLen = 1000

// Stats are the admin's counters.
type Stats struct {
	Users int64 `json:"users"`
	// Reachable counts the users who have not blocked the bot.
	Reachable int64 `json:"reachable_users"`
	Sellers   int64 `json:"sellers"`
	Pending   int64 `json:"pending_applications"`
	Products  int64 `json:"products"`
	Links     int64 `json:"links"`
	Clicks    int64 `json:"clicks"`
	Bots      int64 `json:"bot_visits"`
	Orphans   int64 `json:"orphan_visits"`
	Orders    int64 `json:"orders"`
	Outbox    int64 `json:"outbox"`
}
