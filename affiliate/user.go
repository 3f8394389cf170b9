package affiliate

import (
	"strings"
	"time"
)

// Lang is a user's language.
type Lang string

// Supported languages: Bahasa Indonesia is the default, English the second.
const (
	LangID Lang = "id"
	LangEN Lang = "en"
)

// LangFromCode maps Telegram's language_code to a Lang: "id…" is Indonesian, anything else English.
func LangFromCode(code string) Lang {
	if strings.HasPrefix(strings.ToLower(code), "id") {
		return LangID
	}
	return LangEN
}

// ParseLang accepts "id" or "en" (any case).
func ParseLang(s string) (Lang, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "id":
		return LangID, true
	case "en":
		return LangEN, true
	}
	return "", false
}

// Role is a set of roles as bit flags.
type Role uint8

// Roles. Every registered user is an affiliate; sellers are approved; admins come from configuration.
const (
	RoleAffiliate Role = 1 << iota
	RoleSeller
	RoleAdmin
)

// Has reports whether r includes all of want.
func (r Role) Has(want Role) bool { return r&want == want }

// DefaultDigestMinute is 21:00, the default local time of the daily digest, in minutes after midnight.
const DefaultDigestMinute = 21 * 60

// User is a registered person. Admin rights are not stored: they come from configuration at run time.
type User struct {
	ID        int64  `json:"id"`
	ChatID    int64  `json:"chat_id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name,omitempty"`
	Username  string `json:"username,omitempty"`
	Lang      Lang   `json:"lang"`
	TimeZone  string `json:"time_zone"`
	Seller    bool   `json:"seller"`
	ShopName  string `json:"shop_name,omitempty"`
	// DigestMinute is the local time of the daily digest in minutes after midnight; -1 means off.
	DigestMinute int       `json:"digest_minute"`
	AlertsOn     bool      `json:"alerts_on"`
	Reachable    bool      `json:"reachable"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Roles returns the stored roles of u (never RoleAdmin; see User).
func (u *User) Roles() Role {
	r := RoleAffiliate
	if u.Seller {
		r |= RoleSeller
	}
	return r
}

// DisplayName is the name to show to others: first and last name, or the username.
func (u *User) DisplayName() string {
	name := strings.TrimSpace(u.FirstName + " " + u.LastName)
	if name == "" && u.Username != "" {
		name = "@" + u.Username
	}
	return name
}

// Location loads the user's time zone, falling back to fallback when it is empty or unknown.
func (u *User) Location(fallback *time.Location) *time.Location {
	if u.TimeZone != "" {
		if loc, err := time.LoadLocation(u.TimeZone); err == nil {
			return loc
		}
	}
	return fallback
}

// ParseTimeZone accepts WIB, WITA, WIT (Indonesia's three zones) or an IANA name and returns the IANA
// name to store.
func ParseTimeZone(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch strings.ToUpper(s) {
	case "WIB":
		return "Asia/Jakarta", nil
	case "WITA":
		return "Asia/Makassar", nil
	case "WIT":
		return "Asia/Jayapura", nil
	}
	if s == "" || len(s) > 64 || strings.EqualFold(s, "local") || strings.ContainsAny(s, " .\\") && !strings.Contains(s, "/") {
		return "", Errorf(EInvalid, "timezone_unknown")
	}
	loc, err := time.LoadLocation(s)
	if err != nil || loc.String() == "Local" {
		return "", Errorf(EInvalid, "timezone_unknown")
	}
	return loc.String(), nil
}

// ParseClock reads "HH:MM" (24-hour) and returns minutes after midnight.
func ParseClock(s string) (int, error) {
	s = strings.TrimSpace(strings.Replace(s, ".", ":", 1))
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return 0, Errorf(EInvalid, "clock_format")
	}
	hh, mm := 0, 0
	for _, c := range h {
		if c < '0' || c > '9' {
			return 0, Errorf(EInvalid, "clock_format")
		}
		hh = hh*10 + int(c-'0')
	}
	for _, c := range m {
		if c < '0' || c > '9' {
			return 0, Errorf(EInvalid, "clock_format")
		}
		mm = mm*10 + int(c-'0')
	}
	if hh > 23 || mm > 59 {
		return 0, Errorf(EInvalid, "clock_format")
	}
	return hh*60 + mm, nil
}

// AppStatus is the state of a seller application.
type AppStatus string

// Application states.
const (
	AppPending  AppStatus = "pending"
	AppApproved AppStatus = "approved"
	AppRejected AppStatus = "rejected"
)

// MaxShopNameLen is the longest shop name accepted, in characters.
const MaxShopNameLen = 64

// Application is a request to become a seller.
type Application struct {
	UserID    int64     `json:"user_id"`
	ShopName  string    `json:"shop_name"`
	Status    AppStatus `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	DecidedBy int64     `json:"decided_by,omitempty"`
}

// ValidateShopName trims and checks a shop name.
func ValidateShopName(s string) (string, error) {
	s = strings.Join(strings.Fields(CleanText(s)), " ")
	n := len([]rune(s))
	if n == 0 {
		return "", Errorf(EInvalid, "shop_name_empty")
	}
	if n > MaxShopNameLen {
		return "", Errorf(EInvalid, "shop_name_long", MaxShopNameLen)
	}
	return s, nil
}

// Flow is the state of a multi-step conversation (for example the guided /addproduct), persisted so it
// survives a restart.
type Flow struct {
	UserID    int64             `json:"user_id"`
	Name      string            `json:"name"`
	Step      string            `json:"step"`
	Data      map[string]string `json:"data,omitempty"`
	UpdatedAt time.Time         `json:"updated_at"`
}
