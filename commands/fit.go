package commands

import (
	"github.com/keranjang/keranjang/bot"
)

// textLen measures a message text the way its limit is checked.
var textLen = bot.UTF16Len

// maxText is the longest message text Telegram accepts.
const maxText = bot.MaxTextLen

// fitRows builds a list message: head, then as many rows as fit in one Telegram message, then, when
// rows were left out, more(omitted). Each row and the tail carry their own leading separator. The result
// never exceeds maxText as measured by textLen.
func fitRows(head string, rows []string, more func(omitted int) string) string {
	text, _ := fitRowsN(head, rows, 0, more)
	return text
}

// fitRowsN is fitRows for a list of which only the first rows were rendered and hidden more were left
// out already (a cap on the rows worth reading); it also returns how many rows it kept (the first n), so
// that buttons can follow the rows shown.
func fitRowsN(head string, rows []string, hidden int, more func(omitted int) string) (string, int) {
	n := textLen(head)
	shown := 0
	for i, r := range rows {
		need := n + textLen(r)
		if omitted := len(rows) - i - 1 + hidden; omitted > 0 {
			need += textLen(more(omitted))
		}
		if need > maxText {
			break
		}
		n += textLen(r)
		shown++
	}
	tail := ""
	if omitted := len(rows) - shown + hidden; omitted > 0 {
		tail = more(omitted)
	}
	text := head
	for _, r := range rows[:shown] {
		text += r
	}
	text += tail
	if textLen(text) > maxText { // only when head and tail alone are too long
		text = cutText(text, maxText)
	}
	return text, shown
}

// cutText shortens text, rune by rune, to at most limit as measured by textLen. It is the last resort
// for a head that alone breaks the limit; a cut tag or entity would be refused, so callers keep heads
// short.
func cutText(text string, limit int) string {
	r := []rune(text)
	for len(r) > 0 && textLen(string(r)) > limit {
		r = r[:len(r)-max(1, (textLen(string(r))-limit)/2)]
	}
	return string(r)
}
