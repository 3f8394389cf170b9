package affiliate

import (
	"strings"
)

// ParseRupiah reads an amount the way Indonesians write it: "150000", "150.000", "Rp 150.000",
// "150,000" or "Rp150.000,-". Dots, commas and spaces are accepted only as thousands separators (groups of
// three digits); fractions of a rupiah are refused. The result is not range-checked.
func ParseRupiah(s string) (Rupiah, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, ",-")
	s = strings.TrimSuffix(s, ",00")
	if len(s) >= 2 && strings.EqualFold(s[:2], "rp") {
		s = strings.TrimSpace(strings.TrimPrefix(s[2:], "."))
	}
	if s == "" {
		return 0, Errorf(EInvalid, "amount_format")
	}
	var (
		n         int64
		digits    int // digits since the last separator
		groups    int // separators seen
		separator rune
	)
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			if n > (1<<63-1-9)/10 {
				return 0, Errorf(EInvalid, "amount_range")
			}
			n = n*10 + int64(c-'0')
			digits++
		case c == '.' || c == ',' || c == ' ' || c == '\u00a0':
			if i == 0 || (groups > 0 && digits != 3) || (groups == 0 && (digits == 0 || digits > 3)) {
				return 0, Errorf(EInvalid, "amount_format")
			}
			if separator != 0 && c != separator {
				return 0, Errorf(EInvalid, "amount_format")
			}
			separator = c
			groups++
			digits = 0
		default:
			return 0, Errorf(EInvalid, "amount_format")
		}
	}
	if groups > 0 && digits != 3 {
		return 0, Errorf(EInvalid, "amount_format")
	}
	return Rupiah(n), nil
}

// ParseRate reads a commission percentage: "10", "10%", "12.5", "12,5 %". At most two decimals. The result
// is not range-checked; see ValidateRate.
func ParseRate(s string) (BasisPoints, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	if s == "" || len(s) > 8 {
		return 0, Errorf(EInvalid, "rate_format")
	}
	whole, frac, hasFrac := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	if whole == "" || len(frac) > 2 || (hasFrac && frac == "") {
		return 0, Errorf(EInvalid, "rate_format")
	}
	var bp int64
	for _, c := range whole {
		if c < '0' || c > '9' {
			return 0, Errorf(EInvalid, "rate_format")
		}
		bp = bp*10 + int64(c-'0')
	}
	bp *= 100
	for i, c := range frac {
		if c < '0' || c > '9' {
			return 0, Errorf(EInvalid, "rate_format")
		}
		if i == 0 {
			bp += int64(c-'0') * 10
		} else {
			bp += int64(c - '0')
		}
	}
	return BasisPoints(bp), nil
}
