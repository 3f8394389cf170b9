package affiliate

import "time"

// OutboxStatus is where a queued message stands.
type OutboxStatus string

// Outbox states. A message is queued until Telegram confirms it (sent), refuses it for good or runs out of
// retries (failed), or its user turns out unreachable (dropped: the user blocked the bot).
const (
	OutboxQueued  OutboxStatus = "queued"
	OutboxSent    OutboxStatus = "sent"
	OutboxFailed  OutboxStatus = "failed"
	OutboxDropped OutboxStatus = "dropped"
)

// Button is a rendered callback button of a queued message.
type Button struct {
	Text string `json:"text"`
	Data string `json:"data"`
}

// OutboxMessage is one message the bot sends on its own, durable in the outbox until it is sent, fails or
// is dropped. Its text is rendered (HTML, in the recipient's language) when it is queued.
type OutboxMessage struct {
	ID      uint64       `json:"id"`
	Key     string       `json:"key"` // idempotency key, unique over the outbox (Notice.ID)
	Kind    string       `json:"kind"`
	AlertID uint64       `json:"alert_id,omitempty"`
	UserID  int64        `json:"user_id"`
	ChatID  int64        `json:"chat_id"`
	Group   bool         `json:"group,omitempty"` // a group chat: paced at 20 messages a minute
	Text    string       `json:"text"`
	Buttons [][]Button   `json:"buttons,omitempty"`
	Status  OutboxStatus `json:"status"`
	// Attempts counts failed tries; NextAt is when the message may be tried next.
	Attempts  int       `json:"attempts,omitempty"`
	NextAt    time.Time `json:"next_at"`
	LastError string    `json:"last_error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	SentAt    time.Time `json:"sent_at,omitzero"`
}

// OutboxStats are the outbox's counters, for /stats and metrics.
type OutboxStats struct {
	Queued  int64 `json:"queued"`
	Sent    int64 `json:"sent"`
	Failed  int64 `json:"failed"`
	Dropped int64 `json:"dropped"`
}

// Audience is who a policy alert goes to.
type Audience string

// Alert audiences.
const (
	AudienceAll        Audience = "all"
	AudienceAffiliates Audience = "affiliates"
	AudienceSellers    Audience = "sellers"
)

// Alert is a policy-change alert (PRODUCT.md §4, §5).
type Alert struct {
	ID        uint64    `json:"id"`
	Title     string    `json:"title"`
	Body      string    `json:"body"`
	URL       string    `json:"url,omitempty"`
	Audience  Audience  `json:"audience"`
	Source    string    `json:"source"` // "admin:<user id>", "api", "feed:<url>"
	CreatedAt time.Time `json:"created_at"`
	// FannedOut is set once a message for every user of the audience is queued (or skipped).
	FannedOut bool `json:"fanned_out"`
}

// AlertCounts are an alert's delivery counts (GET /api/v1/alerts/{id}).
type AlertCounts struct {
	Queued      int64 `json:"queued"`
	Delivered   int64 `json:"delivered"`
	Unreachable int64 `json:"unreachable"`
	Failed      int64 `json:"failed"`
	Skipped     int64 `json:"skipped"` // alerts off
}

// Of is the field of c that counts messages in status st: a sent message was delivered, a dropped one
// found its user unreachable.
func (c *AlertCounts) Of(st OutboxStatus) *int64 {
	switch st {
	case OutboxSent:
		return &c.Delivered
	case OutboxFailed:
		return &c.Failed
	case OutboxDropped:
		return &c.Unreachable
	}
	return &c.Queued
}

// ValidateOutbox checks a batch of messages before it is queued: each needs an idempotency key, a chat
// and a text. The error's argument is the index of the first bad message.
func ValidateOutbox(msgs []OutboxMessage) error {
	for i, m := range msgs {
		switch {
		case m.Key == "":
			return Errorf(EInvalid, "outbox_key", i)
		case m.ChatID == 0:
			return Errorf(EInvalid, "outbox_chat", i)
		case m.Text == "":
			return Errorf(EInvalid, "outbox_text", i)
		}
	}
	return nil
}
