package affiliate

import (
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// ProductStatus is active or paused.
type ProductStatus string

// Product states.
const (
	ProductActive ProductStatus = "active"
	ProductPaused ProductStatus = "paused"
)

// Product limits (PRODUCT.md §3).
const (
	MaxProductNameLen = 100
	MaxDescriptionLen = 1000
	MaxURLLen         = 2048
)

// RateProtection is how long affiliates already enrolled keep their rate after a cut.
const RateProtection = 30 * 24 * time.Hour

// Product is something a seller sells, with the commission rate offered to affiliates.
type Product struct {
	ID          uint64        `json:"id"`
	SellerID    int64         `json:"seller_id"`
	Name        string        `json:"name"`
	Description string        `json:"description,omitempty"`
	Price       Rupiah        `json:"price"`
	Rate        BasisPoints   `json:"rate_bp"`
	URL         string        `json:"url"`
	PhotoFileID string        `json:"photo_file_id,omitempty"`
	Status      ProductStatus `json:"status"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// ValidateProductName trims and checks a product name.
func ValidateProductName(s string) (string, error) {
	s = strings.Join(strings.Fields(CleanText(s)), " ")
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return "", Errorf(EInvalid, "name_empty")
	}
	if n > MaxProductNameLen {
		return "", Errorf(EInvalid, "name_long", MaxProductNameLen)
	}
	return s, nil
}

// ValidateDescription trims and checks a description (may be empty).
func ValidateDescription(s string) (string, error) {
	s = strings.TrimSpace(CleanText(s))
	if utf8.RuneCountInString(s) > MaxDescriptionLen {
		return "", Errorf(EInvalid, "description_long", MaxDescriptionLen)
	}
	return s, nil
}

// ValidatePrice checks 1 … 10^12 rupiah.
func ValidatePrice(p Rupiah) error {
	if p < MinPrice || p > MaxPrice {
		return Errorf(EInvalid, "price_range")
	}
	return nil
}

// ValidateRate checks 1%–80%.
func ValidateRate(r BasisPoints) error {
	if r < MinRate || r > MaxRate {
		return Errorf(EInvalid, "rate_range")
	}
	return nil
}

// ValidateShopURL checks a shop URL and returns it normalized: https only, no user-info, no IP-literal
// or localhost host, and, when allowedHosts is not empty, a host that is one of them or a subdomain.
func ValidateShopURL(raw string, allowedHosts []string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > MaxURLLen {
		return "", Errorf(EInvalid, "url_invalid")
	}
	for _, c := range raw {
		if c <= ' ' || c == 0x7f {
			return "", Errorf(EInvalid, "url_invalid")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", Errorf(EInvalid, "url_invalid")
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return "", Errorf(EInvalid, "url_not_https")
	}
	if u.User != nil {
		return "", Errorf(EInvalid, "url_userinfo")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "" || !validHostname(host) && net.ParseIP(host) == nil {
		return "", Errorf(EInvalid, "url_invalid")
	}
	if net.ParseIP(host) != nil || strings.HasPrefix(u.Host, "[") || isNumericHost(host) {
		return "", Errorf(EInvalid, "url_ip_host")
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || !strings.Contains(host, ".") {
		return "", Errorf(EInvalid, "url_local_host")
	}
	if p := u.Port(); p != "" && p != "443" {
		return "", Errorf(EInvalid, "url_port")
	}
	if len(allowedHosts) > 0 && !HostAllowed(host, allowedHosts) {
		return "", Errorf(EInvalid, "url_host_not_allowed")
	}
	u.Scheme = "https"
	u.Host = host // lower-cased, without the trailing dot and the default port
	u.Fragment = ""
	u.RawFragment = ""
	return u.String(), nil
}

// validHostname checks DNS name syntax: 1–253 bytes of dot-separated labels, each 1–63 bytes of ASCII
// letters, digits and inner hyphens. Internationalized names must be given in their xn-- form, since a
// redirect's Location cannot carry raw Unicode hosts.
func validHostname(host string) bool {
	if len(host) > 253 {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z') {
				return false
			}
		}
	}
	return true
}

// isNumericHost catches hosts such as "2130706433" or "0x7f.1" that resolvers may read as IPv4.
func isNumericHost(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if strings.HasPrefix(last, "0x") {
		return true
	}
	for _, c := range last {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// HostAllowed reports whether host is one of allowed or a subdomain of one.
func HostAllowed(host string, allowed []string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, a := range allowed {
		a = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(a), "."))
		if a == "" {
			continue
		}
		if host == a || strings.HasSuffix(host, "."+a) {
			return true
		}
	}
	return false
}

// EditProduct applies a seller's edit fn to a copy of old and checks the result: the id, the seller and
// the creation time never change, the product must stay valid (ValidateProduct against old, with the
// shop hosts), and UpdatedAt becomes now. retarget reports whether the edit changes where its basket
// links lead (the URL) or whether they lead anywhere (the status). Both backends' UpdateProduct run it
// inside their transaction, on the stored product.
func EditProduct(old Product, fn func(*Product) error, shopHosts []string, now time.Time) (p Product, retarget bool, err error) {
	p = old
	if err := fn(&p); err != nil {
		return Product{}, false, err
	}
	p.ID, p.SellerID, p.CreatedAt = old.ID, old.SellerID, old.CreatedAt
	if err := ValidateProduct(&old, &p, shopHosts); err != nil {
		return Product{}, false, err
	}
	p.UpdatedAt = now
	return p, p.URL != old.URL || p.Status != old.Status, nil
}
