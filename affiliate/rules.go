package affiliate

import (
	"strings"
	"time"
	"unicode/utf16"
)

// IsUnique reports whether a visitor's click at now on a link is a unique click, given the time of the
// same visitor's last click on that link (the zero time when there was none): it is unique when the last
// click is UniqueWindow or more before now.
func IsUnique(last, now time.Time) bool {
	return last.IsZero() || now.Sub(last) >= UniqueWindow
}

// ReminderLead is how long before a kept rate ends the affiliate is reminded that it drops.
const ReminderLead = 48 * time.Hour

// ReminderDue reports whether the affiliate of l must be reminded now that their kept rate is about to
// end: a kept rate is running, ends within ReminderLead, was not reminded yet, and is still above the
// product's current rate (a raise since the cut makes the reminder moot).
func ReminderDue(l Link, productRate BasisPoints, now time.Time) bool {
	if l.KeptRate <= 0 || l.Reminded || !now.Before(l.KeptUntil) || now.Before(l.KeptUntil.Add(-ReminderLead)) {
		return false
	}
	return EffectiveRate(productRate, l, now) > productRate
}

// ErrOwnProduct refuses a seller who tries to join one of their own products.
var ErrOwnProduct = &Error{Code: EConflict, Reason: "join_own"}

// CheckJoin applies the rules of joining product p: sellers cannot join their own products, and a paused
// product cannot be joined, except by an affiliate who joined before the pause (they get their link back).
func CheckJoin(p Product, affiliateID int64, alreadyJoined bool) error {
	if p.SellerID == affiliateID {
		return ErrOwnProduct
	}
	if !alreadyJoined && p.Status != ProductActive {
		return ErrProductPaused
	}
	return nil
}

// TextLen is the length of plain text the way Telegram counts it: in UTF-16 code units.
func TextLen(s string) int {
	n := 0
	for _, r := range s {
		if l := utf16.RuneLen(r); l > 0 {
			n += l
		} else {
			n++
		}
	}
	return n
}

// ValidateFeedbackText trims a feedback text and checks it is not empty and at most MaxFeedbackLen
// characters, counted as Telegram counts them (UTF-16 units of the text as the seller reads it).
func ValidateFeedbackText(s string) (string, error) {
	s = strings.TrimSpace(CleanText(s))
	if s == "" {
		return "", Errorf(EInvalid, "feedback_empty")
	}
	if TextLen(s) > MaxFeedbackLen {
		return "", Errorf(EInvalid, "feedback_long", MaxFeedbackLen)
	}
	return s, nil
}

// CheckFeedback applies the rules of feedback: only on a product the affiliate joined, and a valid text.
// It returns the text to store.
func CheckFeedback(joined bool, productID uint64, text string) (string, error) {
	if !joined {
		return "", Errorf(EForbidden, "feedback_not_joined", productID)
	}
	return ValidateFeedbackText(text)
}

// CheckApplication applies the rules of a new seller application by u: a seller cannot apply, and a
// pending application blocks another; a rejected applicant may apply again. existing is the user's
// current application, when found.
func CheckApplication(u User, existing Application, found bool) error {
	if u.Seller {
		return Errorf(EConflict, "already_seller")
	}
	if found && existing.Status == AppPending {
		return Errorf(EConflict, "application_pending")
	}
	return nil
}

// CheckDecision applies the rule of deciding an application: only a pending one can be approved or
// rejected.
func CheckDecision(app Application) error {
	if app.Status != AppPending {
		return Errorf(EConflict, "application_decided")
	}
	return nil
}

// ValidateProduct checks and normalizes p, a new product (old nil) or a change of old. Every rule of §3
// applies, including the allowed shop hosts (allowedHosts, KERANJANG_SHOP_HOSTS; empty allows any
// public host). On a change the host rule applies only when the URL changes, so a seller can still
// pause, rename or reprice a product whose shop was allowed when it was added.
func ValidateProduct(old, p *Product, allowedHosts []string) error {
	var err error
	if p.Name, err = ValidateProductName(p.Name); err != nil {
		return err
	}
	if p.Description, err = ValidateDescription(p.Description); err != nil {
		return err
	}
	if err := ValidatePrice(p.Price); err != nil {
		return err
	}
	if err := ValidateRate(p.Rate); err != nil {
		return err
	}
	hosts := allowedHosts
	if old != nil && old.URL == p.URL {
		hosts = nil
	}
	if p.URL, err = ValidateShopURL(p.URL, hosts); err != nil {
		return err
	}
	if p.Status != ProductActive && p.Status != ProductPaused {
		return Errorf(EInvalid, "status")
	}
	return nil
}
