package affiliate

import "strconv"

// Rupiah is an amount of Indonesian rupiah. Money is always whole rupiah; never floating point.
type Rupiah int64

// Price limits (PRODUCT.md §3).
const (
	MinPrice Rupiah = 1
	MaxPrice Rupiah = 1_000_000_000_000
)

// BasisPoints is a commission rate: 1% = 100 bp.
type BasisPoints int32

// Commission-rate limits: 1% to 80%.
const (
	MinRate BasisPoints = 100
	MaxRate BasisPoints = 8000
)

// Commission is amount × rate, rounded down to the rupiah. Amounts up to MaxPrice at MaxRate fit
// comfortably in int64 (8·10^15).
func Commission(amount Rupiah, rate BasisPoints) Rupiah {
	if amount <= 0 || rate <= 0 {
		return 0
	}
	return amount * Rupiah(rate) / 10000
}

// Percent renders a rate as a percentage with up to two decimals: 1250 → "12.5", 1000 → "10".
// Localized formatting (decimal comma) is the i18n package's job.
func (r BasisPoints) Percent() string {
	whole := int64(r) / 100
	frac := int64(r) % 100
	s := strconv.FormatInt(whole, 10)
	switch {
	case frac == 0:
	case frac%10 == 0:
		s += "." + strconv.FormatInt(frac/10, 10)
	default:
		s += "." + strconv.FormatInt(frac/10, 10) + strconv.FormatInt(frac%10, 10)
	}
	return s
}
