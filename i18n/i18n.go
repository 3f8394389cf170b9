// Package i18n holds Keranjang's message catalogues (Bahasa Indonesia first, English second) and the
// formatting of money, rates and dates. Messages are HTML templates for Telegram's HTML parse mode:
// arguments that came from users must be escaped by the caller before they are passed in.
package i18n

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// T returns the message key in lang, formatted with args (fmt verbs). An unknown language falls back to
// Indonesian; an unknown key returns the key itself so a gap is visible, never a crash.
func T(lang affiliate.Lang, key string, args ...any) string {
	m, ok := catalogue[key]
	if !ok {
		return key
	}
	s := m.id
	if lang == affiliate.LangEN {
		s = m.en
	}
	if !strings.Contains(s, "%") {
		return s // a message without verbs ignores arguments rather than printing %!(EXTRA …)
	}
	if len(args) == 0 {
		return strings.ReplaceAll(s, "%%", "%")
	}
	return fmt.Sprintf(s, args...)
}

// Has reports whether key is in the catalogue.
func Has(key string) bool {
	_, ok := catalogue[key]
	return ok
}

// Money formats rupiah the Indonesian way in both languages: Rp150.000, -Rp2.500.
func Money(r affiliate.Rupiah) string {
	neg := r < 0
	u := uint64(r)
	if neg {
		u = uint64(-r)
	}
	digits := strconv.FormatUint(u, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteString("Rp")
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Rate formats a commission rate: "12,5%" in Indonesian, "12.5%" in English.
func Rate(lang affiliate.Lang, r affiliate.BasisPoints) string {
	s := r.Percent()
	if lang != affiliate.LangEN {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + "%"
}

var monthsID = [...]string{"Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
	"September", "Oktober", "November", "Desember"}

// Date formats a day: "26 November 2026" in Indonesian, "26 November 2026" in English (same order; month
// names differ).
func Date(lang affiliate.Lang, t time.Time) string {
	if lang == affiliate.LangEN {
		return t.Format("2 January 2006")
	}
	return fmt.Sprintf("%d %s %d", t.Day(), monthsID[t.Month()-1], t.Year())
}

var weekdaysID = [...]string{"Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"}

// DayDate names a day with its weekday, without the year: "Senin, 30 November" in Indonesian, "Monday,
// 30 November" in English.
func DayDate(lang affiliate.Lang, t time.Time) string {
	if lang == affiliate.LangEN {
		return t.Format("Monday, 2 January")
	}
	return fmt.Sprintf("%s, %d %s", weekdaysID[t.Weekday()], t.Day(), monthsID[t.Month()-1])
}

// Clock formats minutes after midnight as HH:MM.
func Clock(minute int) string {
	return fmt.Sprintf("%02d:%02d", minute/60, minute%60)
}

// Duration formats an attribution window in days or hours: "7 hari" / "7 days".
func Duration(lang affiliate.Lang, d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		n := int(d / (24 * time.Hour))
		if lang == affiliate.LangEN {
			if n == 1 {
				return "1 day"
			}
			return fmt.Sprintf("%d days", n)
		}
		return fmt.Sprintf("%d hari", n)
	}
	h := d.Round(time.Minute).Hours()
	hs := strconv.FormatFloat(h, 'f', -1, 64)
	if lang == affiliate.LangEN {
		if h == 1 {
			return "1 hour"
		}
		return hs + " hours"
	}
	return strings.Replace(hs, ".", ",", 1) + " jam"
}

// Reason turns a domain error's reason key into a message: catalogue key "err."+reason, with the error's
// arguments, or the generic failure text.
func Reason(lang affiliate.Lang, err error) string {
	reason := affiliate.ErrorReason(err)
	if reason != "" && Has("err."+reason) {
		var args []any
		var e *affiliate.Error
		if asError(err, &e) {
			args = e.Args
		}
		return T(lang, "err."+reason, args...)
	}
	return T(lang, "err.internal")
}
