package commands

import "github.com/keranjang/keranjang/bot"

// fitLines builds a list reply that fits in one Telegram message (see bot.FitLines): head, the rows that
// fit, and more(omitted) when rows were left out, hidden of them before rendering.
func fitLines(head string, rows []string, hidden int, more func(omitted int) string) (string, int) {
	return bot.FitLines(head, rows, hidden, more, 0)
}
