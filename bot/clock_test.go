package bot

import (
	"time"

	"github.com/keranjang/keranjang/internal/clocktest"
)

func fixedClock() *clocktest.Clock {
	return clocktest.New(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
}
