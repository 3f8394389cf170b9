package commands

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/bot"
	"github.com/keranjang/keranjang/internal/secret"
	"github.com/keranjang/keranjang/internal/tgfake"
	"github.com/keranjang/keranjang/store"
)

// wait bounds every wait for the bot; a wait ends as soon as its condition holds.
const wait = 15 * time.Second

// harness runs the commands on a real store in a temp dir and the real bot edge against the strict
// fake Bot API; tests act as Telegram users.
type harness struct {
	fake *tgfake.Server
	st   *store.Store
	h    *Handler
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	fake := tgfake.New()
	t.Cleanup(fake.Close)
	st, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{ShopHosts: cfg.ShopHosts, Now: cfg.Now,
		AttributionWindow: cfg.AttributionWindow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b, err := bot.New(bot.Config{Token: secret.Secret(fake.Token()), APIURL: fake.URL(), PollTimeout: time.Second,
		RateBurst: 1000, Logger: zerolog.Nop()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "https://keranjang.example"
	}
	if cfg.AttributionWindow == 0 {
		cfg.AttributionWindow = 7 * 24 * time.Hour
	}
	h := New(Deps{Accounts: st, Flows: st, Applications: st, Catalogue: st, Links: st, Reports: st, Keys: st,
		Feedback: st, Orders: st, Earnings: st, Messenger: b, Files: b, Downloads: b, Menus: b, Profile: b, Errors: b}, cfg)
	b.SetHandler(h)
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = b.Stop(sctx)
		fake.CheckNoRejections(t)
	})
	return &harness{fake: fake, st: st, h: h}
}

func user(id int64, lang string) tgfake.User {
	return tgfake.User{ID: id, LanguageCode: lang}
}

// say sends text as u in their private chat and returns the bot's next message there.
func (x *harness) say(t *testing.T, u tgfake.User, text string) tgfake.Message {
	t.Helper()
	n := len(x.fake.Sent(u.ID))
	x.fake.SendText(u, tgfake.Chat{}, text)
	return x.next(t, u.ID, n)
}

// next waits for the bot's message number n+1 in a chat.
func (x *harness) next(t *testing.T, chatID int64, n int) tgfake.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	msgs, err := x.fake.WaitSent(ctx, chatID, n+1)
	if err != nil {
		t.Fatalf("no reply in chat %d: %v", chatID, err)
	}
	return msgs[n]
}

// press presses a button with data on msg as u and returns the toast text the bot answered with.
func (x *harness) press(t *testing.T, u tgfake.User, msg tgfake.Message, data string) string {
	t.Helper()
	id := x.fake.PressButton(u, msg, data)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	call, err := x.fake.WaitCall(ctx, "answerCallbackQuery", func(c tgfake.Call) bool { return c.Params["callback_query_id"] == id })
	if err != nil {
		t.Fatalf("button %q not answered: %v", data, err)
	}
	return call.Params["text"]
}

// seller registers u and makes them a seller of shop directly in the store.
func (x *harness) seller(t *testing.T, u tgfake.User, shop string) {
	t.Helper()
	x.say(t, u, "/start")
	if _, err := x.st.ApplySeller(t.Context(), u.ID, shop); err != nil {
		t.Fatal(err)
	}
	if _, _, err := x.st.DecideApplication(t.Context(), u.ID, true, 1); err != nil {
		t.Fatal(err)
	}
}

// product adds an active product of sellerID.
func (x *harness) product(t *testing.T, sellerID int64, name string) affiliate.Product {
	t.Helper()
	p, err := x.st.CreateProduct(t.Context(), affiliate.Product{SellerID: sellerID, Name: name, Price: 150000, Rate: 1000,
		URL: "https://toko.example.com/p"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustContain(t *testing.T, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("%q does not contain %q", got, want)
	}
}

// tgfakeBlocked makes the next message to chatID fail as it does when the user blocked the bot.
func tgfakeBlocked(chatID int64) tgfake.Fault {
	return tgfake.Fault{Method: "sendMessage", ChatID: chatID, Code: 403}
}

// edited waits for the bot's first editMessageText in a chat.
func (x *harness) edited(t *testing.T, chatID int64) tgfake.Call {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := x.fake.WaitCall(ctx, "editMessageText", func(c tgfake.Call) bool { return c.ChatID() == chatID })
	if err != nil {
		t.Fatal(err)
	}
	return c
}
