package affiliate

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Limits of a policy alert, in characters.
const (
	MaxAlertTitleLen = 200
	MaxAlertBodyLen  = 3000
)

// ErrAlertNotFound is returned for an alert id that does not exist.
var ErrAlertNotFound = &Error{Code: ENotFound, Reason: "alert_not_found"}

// ParseAudience reads "all", "affiliates" or "sellers" (any case).
func ParseAudience(s string) (Audience, bool) {
	switch a := Audience(strings.ToLower(strings.TrimSpace(s))); a {
	case AudienceAll, AudienceAffiliates, AudienceSellers:
		return a, true
	}
	return "", false
}

// InAudience reports whether u belongs to an alert's audience. Every registered user is an affiliate,
// so "affiliates" means the users who are not (approved) sellers, and "sellers" the approved sellers; the
// two together are "all". Admins are users like any other here.
func InAudience(u *User, a Audience) bool {
	switch a {
	case AudienceAll:
		return true
	case AudienceAffiliates:
		return !u.Seller
	case AudienceSellers:
		return u.Seller
	}
	return false
}

// AlertFate is what the fan-out does with one user of an alert's audience.
type AlertFate int

// Alert fates. Users outside the audience are not counted at all.
const (
	AlertNotAudience AlertFate = iota
	// AlertQueue: a message is queued. For a user stored as unreachable (who blocked the bot) the outbox
	// records it as dropped at once, so that the alert counts them unreachable and nothing is sent.
	AlertQueue
	// AlertSkipOff: nothing is queued and the user is counted as skipped; they turned alerts off.
	AlertSkipOff
)

// AlertFateOf decides what happens to u when an alert for audience a fans out.
func AlertFateOf(u *User, a Audience) AlertFate {
	switch {
	case !InAudience(u, a):
		return AlertNotAudience
	case !u.AlertsOn:
		return AlertSkipOff
	}
	return AlertQueue
}

// AlertKey is the outbox idempotency key of alert id's message to a user.
func AlertKey(alertID uint64, userID int64) string {
	return "alert:" + strconv.FormatUint(alertID, 10) + ":" + strconv.FormatInt(userID, 10)
}

// AlertProgress is how far an alert's fan-out has gone: every user with an id up to Cursor has been
// queued or counted as skipped.
type AlertProgress struct {
	Cursor int64 `json:"cursor"`
}

// NewAlert checks and normalizes a policy alert: a title of 1–MaxAlertTitleLen characters, a body of at
// most MaxAlertBodyLen, an optional https URL (see ValidateShopURL) and a known audience.
func NewAlert(title, body, url string, aud Audience, source string) (Alert, error) {
	title = strings.Join(strings.Fields(CleanText(title)), " ")
	body = strings.TrimSpace(CleanText(body))
	switch n := len([]rune(title)); {
	case n == 0:
		return Alert{}, Errorf(EInvalid, "alert_title_empty")
	case n > MaxAlertTitleLen:
		return Alert{}, Errorf(EInvalid, "alert_title_long", MaxAlertTitleLen)
	}
	if len([]rune(body)) > MaxAlertBodyLen {
		return Alert{}, Errorf(EInvalid, "alert_body_long", MaxAlertBodyLen)
	}
	if url = strings.TrimSpace(url); url != "" {
		u, err := ValidateShopURL(url, nil)
		if err != nil {
			return Alert{}, err
		}
		url = u
	}
	if _, ok := ParseAudience(string(aud)); !ok {
		return Alert{}, Errorf(EInvalid, "alert_audience")
	}
	return Alert{Title: title, Body: body, URL: url, Audience: aud, Source: source}, nil
}

// SplitPolicyText splits an admin's /policy text: the first non-empty line is the title, the rest the
// body.
func SplitPolicyText(text string) (title, body string) {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	title, body, _ = strings.Cut(text, "\n")
	return strings.TrimSpace(title), strings.TrimSpace(body)
}

// maxFeedItemIDLen is the longest feed item id kept as it is; longer ones are replaced by a hash.
const maxFeedItemIDLen = 200

// FeedItemID identifies a feed item across polls: its GUID, else its link, else its title and date.
// An id longer than maxFeedItemIDLen is hashed, so that it stays a small key. "" means the item cannot
// be told apart from others and is ignored.
func FeedItemID(guid, link, title string, date time.Time) string {
	var id string
	switch {
	case strings.TrimSpace(guid) != "":
		id = "g:" + strings.TrimSpace(guid)
	case strings.TrimSpace(link) != "":
		id = "l:" + strings.TrimSpace(link)
	case strings.TrimSpace(title) != "":
		id = "t:" + strings.TrimSpace(title)
		if !date.IsZero() {
			id += "|" + date.UTC().Format(time.RFC3339)
		}
	default:
		return ""
	}
	if len(id) > maxFeedItemIDLen {
		sum := sha256.Sum256([]byte(id))
		id = "h:" + hex.EncodeToString(sum[:])
	}
	return id
}

// FeedItem is a new item of a policy feed and the alert it becomes (without id).
type FeedItem struct {
	ID    string
	Alert Alert
}

// PlainText turns a feed's HTML fragment into plain text: tags removed, common entities decoded, runs of
// white space collapsed (paragraphs kept), cut to max characters with an ellipsis.
func PlainText(s string, max int) string {
	var b strings.Builder
	inTag := false
	for _, r := range s {
		switch {
		case r == '<':
			inTag = true
		case r == '>' && inTag:
			inTag = false
			b.WriteByte(' ')
		case !inTag:
			b.WriteRune(r)
		}
	}
	text := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&#39;", "'", "&nbsp;", " ").
		Replace(b.String())
	var paras []string
	for _, p := range strings.Split(text, "\n\n") {
		if p = strings.Join(strings.FieldsFunc(p, unicode.IsSpace), " "); p != "" {
			paras = append(paras, p)
		}
	}
	text = strings.Join(paras, "\n\n")
	if r := []rune(text); len(r) > max {
		text = strings.TrimSpace(string(r[:max-1])) + "…"
	}
	return text
}

// BroadcastInterval is the least time between two broadcasts of one seller.
const BroadcastInterval = time.Hour

// MaxBroadcastLen is the longest broadcast text, in characters.
const MaxBroadcastLen = 2000

// NextBroadcast is when a seller whose last broadcast was at last may send the next one (zero last: at
// once).
func NextBroadcast(last time.Time) time.Time {
	if last.IsZero() {
		return time.Time{}
	}
	return last.Add(BroadcastInterval)
}

// BroadcastAllowed reports whether a seller whose last broadcast was at last may broadcast at now.
func BroadcastAllowed(last, now time.Time) bool { return !now.Before(NextBroadcast(last)) }

// BroadcastKey is the outbox idempotency key of seller's broadcast id to a user.
func BroadcastKey(sellerID int64, broadcastID uint64, userID int64) string {
	return "broadcast:" + strconv.FormatInt(sellerID, 10) + ":" + strconv.FormatUint(broadcastID, 10) + ":" +
		strconv.FormatInt(userID, 10)
}

// ValidateBroadcast trims and checks a broadcast text.
func ValidateBroadcast(s string) (string, error) {
	s = strings.TrimSpace(CleanText(s))
	n := len([]rune(s))
	if n == 0 {
		return "", Errorf(EInvalid, "broadcast_empty")
	}
	if n > MaxBroadcastLen {
		return "", Errorf(EInvalid, "broadcast_long", MaxBroadcastLen)
	}
	return s, nil
}
