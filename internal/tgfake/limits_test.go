package tgfake

import (
	"errors"
	"strconv"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"
)

func TestLimits(t *testing.T) {
	f := newFake(t, WithLimits(Limits{Global: 3, PrivateGap: time.Hour, Group: 2}))
	group := Chat{ID: -500, Type: "group", Title: "G"}
	for _, c := range []Chat{{ID: 1}, {ID: 2}, {ID: 3}, {ID: 4}, group} {
		f.KnowChat(c)
	}
	send := func(chat int64) map[string]any {
		a := rawCall(t, f, "sendMessage", map[string]string{"chat_id": strconv.FormatInt(chat, 10), "text": "hi"})
		if a.OK {
			return nil
		}
		if a.ErrorCode != 429 {
			t.Fatalf("chat %d: error %d %s, want 429", chat, a.ErrorCode, a.Description)
		}
		return a.Parameters
	}
	if p := send(1); p != nil {
		t.Fatalf("first send refused: %v", p)
	}
	if p := send(1); p == nil || p["retry_after"].(float64) < 1 {
		t.Fatalf("second send to one private chat: %v, want 429 with retry_after", p)
	}
	if send(-500) != nil || send(-500) != nil {
		t.Fatalf("two sends to a group refused")
	}
	// The group had 2 in the minute, and the bot 3 in the second.
	if p := send(2); p == nil {
		t.Fatalf("a fourth send within a second was accepted")
	}
	if n := len(f.RateLimited()); n != 2 {
		t.Fatalf("rate limited calls %d, want 2", n)
	}
	if len(f.Rejected()) != 2 {
		t.Fatalf("rate limited calls are rejections: %v", f.Rejected())
	}
	// An injected 429 is no rate limit.
	f.FailNext("sendMessage", Fault{Code: 429})
	c := newClient(t, f)
	_, err := c.SendMessage(t.Context(), &tgbot.SendMessageParams{ChatID: 3, Text: "x"})
	var tooMany *tgbot.TooManyRequestsError
	if !errors.As(err, &tooMany) || len(f.RateLimited()) != 2 {
		t.Fatalf("injected 429: %v, rate limited %d", err, len(f.RateLimited()))
	}
}
