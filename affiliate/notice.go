package affiliate

// Notice is a message the bot sends to a user on its own (not as a reply to them): a catalogue key, its
// arguments and optional buttons, rendered in the recipient's language and time zone when it is sent.
//
// Args are typed, not pre-formatted: Rupiah is shown as money, BasisPoints as a rate, time.Time as a
// date in the recipient's zone, string as user text (HTML-escaped); integers as they are. HTML is the
// renderer's business, never the caller's.
type Notice struct {
	Key     string
	Args    []any
	Buttons [][]NoticeButton
}

// NoticeButton is a callback button of a notice: a catalogue key for its label and its callback data.
type NoticeButton struct {
	Key  string
	Data string
}
