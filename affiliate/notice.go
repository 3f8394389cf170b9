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
	// ID is the notice's idempotency key in the outbox (for example "order:<seller>:<order_id>:<status>",
	// "digest:<user>:<local date>", "alert:<id>:<user>"): a notice is queued at most once per ID, however
	// often the event behind it is handled. Empty: a fresh key is made, so the notice is always queued.
	ID string
	// Kind groups messages in metrics and reports: "notice" (the default), "digest", "alert",
	// "broadcast".
	Kind string
	// AlertID is the policy alert the message belongs to, so that its delivery can be counted; 0 for none.
	AlertID uint64
}

// NoticeButton is a callback button of a notice: a catalogue key for its label and its callback data.
type NoticeButton struct {
	Key  string
	Data string
}
