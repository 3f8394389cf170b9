package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/internal/tgfake"
)

// demo runs the whole system in one process against the built-in fake Bot API with a temporary database
// and scripted people, and prints the conversation as a transcript.
//
// With --serve it then keeps serving until SIGINT/SIGTERM, for load tests of the real binary
// (bench/redirect.sh, bench/postbacks.sh): it prints "ready code=<a basket-link code> seller=<the demo
// seller's id> key=<their API key> addr=<host:port>", and after the ordered shutdown "final
// recorded=<clicks and bot visits written since ready> dropped=<clicks dropped>". --no-group-commit makes
// every order write pay its own fsync, to measure what group commit saves.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keranjang demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	verbose := fs.Bool("v", false, "also print the logs")
	serve := fs.Bool("serve", false, "keep serving after the script until SIGINT/SIGTERM (for load tests)")
	noGroupCommit := fs.Bool("no-group-commit", false, "one fsync per order write (for measuring group commit; with --serve)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "keranjang-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	log := zerolog.Nop()
	if *verbose {
		log = zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly, NoColor: !isTerminal(stderr)}).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	}
	const adminID = 1001
	sb, err := newSandbox(ctx, dir, log, map[string]string{
		"KERANJANG_ADMIN_IDS":       fmt.Sprint(adminID),
		"KERANJANG_TRUSTED_PROXIES": "127.0.0.0/8",
	}, Options{RateBurst: 50, NoGroupCommit: *noGroupCommit, // scripted people type faster than the inbound limit allows humans
		ProgressEvery: 100 * time.Millisecond}) // the admin's alert progress message need not keep the demo waiting
	if err != nil {
		return err
	}
	defer sb.close()
	d := &demoScript{sb: sb, out: stdout, names: map[int64]string{}}
	sb.fake.OnCall(d.record)
	if err := d.run(ctx, adminID); err != nil || !*serve {
		return err
	}
	return d.hold(ctx)
}

// hold keeps the demo system serving until ctx ends, then shuts it down in order and reports how many
// clicks were written and dropped while it served.
func (d *demoScript) hold(ctx context.Context) error {
	before := d.sb.app.http.Recorded() // the script's clicks are written: run waited for them
	key, err := d.sb.app.store.APIKey(ctx, demoSellerID)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "ready code=%s seller=%d key=%s addr=%s\n", d.codes["Wati"], demoSellerID, key, d.sb.app.HTTPAddr())
	<-ctx.Done()
	srv := d.sb.app.http
	if err := d.sb.stopApp(); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "final recorded=%d dropped=%d\n", srv.Recorded()-before, srv.Dropped())
	return nil
}

// demoSellerID is the Telegram id of the demo's seller.
const demoSellerID = 2002

type demoScript struct {
	sb     *sandbox
	out    io.Writer
	names  map[int64]string
	codes  map[string]string // basket-link code by affiliate name
	pushed float64           // updates the script has sent the bot
	web    *http.Client      // buyers' browsers and the shop's server; does not follow redirects
	err    error             // the first step that failed; the steps after it do nothing

	mu      sync.Mutex
	pending []tgfake.Call // recorded, not printed yet
	seen    []tgfake.Call // every call recorded, printed or not
}

// record keeps the bot's outgoing messages for the transcript.
func (d *demoScript) record(c tgfake.Call) {
	switch c.Method {
	case "sendMessage", "editMessageText", "sendPhoto", "sendDocument", "answerCallbackQuery":
		if c.Status == http.StatusOK {
			d.mu.Lock()
			d.pending = append(d.pending, c)
			d.seen = append(d.seen, c)
			d.mu.Unlock()
		}
	}
}

func (d *demoScript) user(id int64, first, username, lang string) tgfake.User {
	d.names[id] = first
	return tgfake.User{ID: id, FirstName: first, Username: username, LanguageCode: lang}
}

func (d *demoScript) heading(s string) { fmt.Fprintf(d.out, "\n━━ %s ━━\n", s) }

func (d *demoScript) note(s string) { fmt.Fprintf(d.out, "   · %s\n", s) }

// say sends text as u and prints what the bot answered.
func (d *demoScript) say(u tgfake.User, text string) {
	if d.err != nil {
		return
	}
	fmt.Fprintf(d.out, "\n👤 %s: %s\n", u.FirstName, text)
	d.sb.fake.SendText(u, tgfake.Chat{}, text)
	d.pushed++
	d.err = d.flush()
}

// press presses the button labelled label on the last message u got, and prints the result.
func (d *demoScript) press(u tgfake.User, label string) {
	if d.err != nil {
		return
	}
	for _, m := range reverse(d.sb.fake.Sent(u.ID)) {
		if b, ok := m.Button(label); ok {
			fmt.Fprintf(d.out, "\n👤 %s presses [%s]\n", u.FirstName, b.Text)
			d.sb.fake.PressButton(u, m, b.CallbackData)
			d.pushed++
			d.err = d.flush()
			return
		}
	}
	d.err = fmt.Errorf("demo: no button %q for %s", label, u.FirstName)
}

func reverse(ms []tgfake.Message) []tgfake.Message {
	out := make([]tgfake.Message, len(ms))
	for i, m := range ms {
		out[len(ms)-1-i] = m
	}
	return out
}

// flush waits until the bot has handled every update the script sent and the outbox has sent every
// notice the step queued, and prints its messages. The bot counts an update after its handler has
// returned and the button's spinner is stopped, the outbox marks a message sent after Telegram answered,
// and the fake records a call before it answers it, so by then every message of the step is recorded.
func (d *demoScript) flush() error {
	if err := waitUntil("the bot to handle update "+fmt.Sprint(d.pushed), func() bool { return d.handled() >= d.pushed }); err != nil {
		return err
	}
	if err := waitUntil("the outbox to empty", func() bool {
		st, err := d.sb.app.store.OutboxStats(context.Background())
		return err == nil && st.Queued == 0
	}); err != nil {
		return err
	}
	d.print()
	return nil
}

// awaitMessage waits until the bot has sent a message to chatID that the transcript has not printed yet,
// and prints what is pending. It is for messages no update of the script caused, such as an order notice
// after a shop's postback: the fake runs the record hook before it answers a call, so the message is in
// the pending list as soon as the bot's send has returned.
func (d *demoScript) awaitMessage(chatID int64) {
	if d.err != nil {
		return
	}
	d.err = waitUntil(fmt.Sprintf("a message to chat %d", chatID), func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, c := range d.pending {
			if c.Method != "answerCallbackQuery" && c.ChatID() == chatID {
				return true
			}
		}
		return false
	})
	if d.err == nil {
		d.print()
	}
}

// awaitCalls waits until the bot's calls recorded so far, printed or not, satisfy cond, and prints what
// is pending. It is for messages that work in the background sends, such as a policy alert's fan-out
// and the admin's report: the fake runs the record hook before it answers a call.
func (d *demoScript) awaitCalls(what string, cond func([]tgfake.Call) bool) {
	if d.err != nil {
		return
	}
	d.err = waitUntil(what, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return cond(d.seen)
	})
	if d.err == nil {
		d.print()
	}
}

// print prints the bot's calls recorded since the last print.
func (d *demoScript) print() {
	d.mu.Lock()
	calls := d.pending
	d.pending = nil
	d.mu.Unlock()
	for _, c := range calls {
		to := d.names[c.ChatID()]
		if to == "" {
			to = fmt.Sprint(c.ChatID())
		}
		switch c.Method {
		case "answerCallbackQuery":
			if t := c.Params["text"]; t != "" {
				fmt.Fprintf(d.out, "   🤖 (toast) %s\n", t)
			}
			continue
		case "sendPhoto":
			fmt.Fprintf(d.out, "   🤖 → %s: [photo] %s\n", to, indent(plain(c.Params["caption"])))
		case "sendDocument":
			name := ""
			for _, f := range c.Files {
				name = f.Filename
			}
			fmt.Fprintf(d.out, "   🤖 → %s: [document %s] %s\n", to, name, indent(plain(c.Params["caption"])))
		case "editMessageText":
			fmt.Fprintf(d.out, "   🤖 ✎ %s: %s\n", to, indent(plain(c.Params["text"])))
		default:
			fmt.Fprintf(d.out, "   🤖 → %s: %s\n", to, indent(plain(c.Params["text"])))
		}
		if kb := buttons(c.Params["reply_markup"]); kb != "" {
			fmt.Fprintf(d.out, "      %s\n", kb)
		}
	}
}

// handled is how many updates the running app has finished handling, of every type.
func (d *demoScript) handled() float64 {
	families, err := d.sb.app.reg.Gather()
	if err != nil {
		return 0
	}
	n := 0.0
	for _, f := range families {
		if f.GetName() == "keranjang_updates_total" {
			for _, m := range f.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// waitUntil polls cond until it holds, for at most ten seconds.
func waitUntil(what string, cond func() bool) error {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// plain strips the HTML tags and entities of a message for the terminal.
func plain(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&amp;", "&").Replace(b.String())
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n      ") }

// buttons renders an inline keyboard as "[A] [B] / [C]".
func buttons(markup string) string {
	if markup == "" {
		return ""
	}
	var rows []string
	for _, row := range strings.Split(markup, "],[") {
		var labels []string
		for _, part := range strings.Split(row, `"text":"`)[1:] {
			if i := strings.Index(part, `"`); i >= 0 {
				labels = append(labels, "["+part[:i]+"]")
			}
		}
		if len(labels) > 0 {
			rows = append(rows, strings.Join(labels, " "))
		}
	}
	return strings.Join(rows, " / ")
}

func (d *demoScript) run(ctx context.Context, adminID int64) error {
	fmt.Fprintln(d.out, "Keranjang demo — the real bot, HTTP server and database, talking to a built-in fake Telegram.")
	fmt.Fprintf(d.out, "Basket links are served at %s/r/<code>.\n", d.sb.baseURL())
	fmt.Fprintln(d.out, "Legend: 👤 a person acts · 🤖 → the bot sends a message · 🤖 ✎ the bot edits one · "+
		"(toast) a button's pop-up answer · [Label] a button · 🌐 a buyer's browser · 🏪 a shop's server.")

	admin := d.user(adminID, "Sari", "sari_admin", "id")
	seller := d.user(demoSellerID, "Budi", "budi_batik", "id")
	aff1 := d.user(3003, "Wati", "wati_reseller", "id")
	aff2 := d.user(3004, "Joko", "joko_jualan", "en")

	d.heading("An admin and a would-be seller start the bot (Indonesian by default)")
	d.say(admin, "/start")
	d.say(seller, "/start")
	d.say(seller, "/lang en")
	d.say(seller, "/seller Batik Budi Pekalongan")
	d.heading("The admin approves with the button")
	d.press(admin, "Setujui")
	d.say(seller, "/lang id")

	d.heading("The seller adds a product, step by step")
	d.say(seller, "/addproduct")
	d.say(seller, "Kemeja Batik Tulis Lasem")
	d.say(seller, "Rp350.000")
	d.say(seller, "120")
	d.note("a bad answer is explained and asked again")
	d.say(seller, "12,5")
	d.say(seller, "http://shop.example.id/kemeja")
	d.say(seller, "https://shop.example.id/kemeja-lasem?ref=bot")
	d.press(seller, "Lewati")
	d.press(seller, "Simpan")
	d.note("or in one line")
	d.say(seller, "/addproduct Selendang Sutra | 175.000 | 15 | https://shop.example.id/selendang")

	d.heading("Two affiliates find products and join")
	d.say(aff1, "/start")
	d.say(aff1, "/products batik")
	d.press(aff1, "Kemeja")
	d.say(aff2, "/start p_1")
	if d.err != nil {
		return d.err
	}

	links := map[string]string{}
	d.codes = links
	for _, u := range []tgfake.User{aff1, aff2} {
		for _, m := range d.sb.fake.Sent(u.ID) {
			if i := strings.Index(m.PlainText, "/r/"); i >= 0 {
				links[u.FirstName] = m.PlainText[i+3 : i+11]
			}
		}
	}
	if links["Wati"] == "" || links["Joko"] == "" {
		return errors.New("demo: affiliates got no basket links")
	}

	d.heading("Buyers click the basket links")
	d.web = &http.Client{Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	steps := []struct{ code, ip, ua, method string }{
		{links["Wati"], "203.0.113.10", phone, http.MethodGet},
		{links["Wati"], "203.0.113.10", phone, http.MethodGet}, // the same buyer again: not unique
		{links["Wati"], "198.51.100.7", laptop, http.MethodGet},
		{links["Wati"], "149.154.167.99", "TelegramBot (like TwitterBot)", http.MethodGet}, // link preview
		{links["Joko"], "203.0.113.55", phone, http.MethodGet},
		{"NoSuchXy", "203.0.113.55", phone, http.MethodGet},
	}
	recorded := d.sb.app.http.Recorded()
	for _, s := range steps {
		if _, err := d.visit(ctx, s.code, s.ip, s.ua, s.method); err != nil {
			return err
		}
	}
	d.note("the Telegram link preview was redirected but kept apart as a bot visit, not a click")
	// The click buffer writes in the background; the numbers below need the five visits of known links.
	if err := waitUntil("the clicks to be written", func() bool { return d.sb.app.http.Recorded() >= recorded+5 }); err != nil {
		return err
	}

	d.heading("Everyone looks at the numbers")
	d.say(aff1, "/links")
	d.say(seller, "/affiliates")
	d.say(seller, "/myproducts")

	d.heading("Wati sends feedback; a non-admin tries an admin command")
	d.say(aff1, "/feedback 1 Kak, ukuran XL ready lagi kapan?")
	d.say(aff2, "/approve 2002")
	if d.err != nil {
		return d.err
	}

	if err := d.orders(ctx, seller, aff1, aff2); err != nil {
		return err
	}
	if err := d.digestAndPolicy(admin, seller, aff1, aff2); err != nil {
		return err
	}

	if rej := d.sb.fake.Rejected(); len(rej) > 0 {
		return fmt.Errorf("demo: the fake Bot API rejected %d calls, first: %s", len(rej), rej[0].Reason)
	}
	fmt.Fprintf(d.out, "\n✔ Demo finished: %d Bot API calls, none rejected.\n", len(d.sb.fake.Calls()))
	return nil
}

// Browsers of the demo's buyers.
const (
	phone  = "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
	laptop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
)

// visit opens a basket link as a buyer's browser from ip (the demo trusts the loopback proxy), prints
// the answer and returns where it redirects.
func (d *demoScript) visit(ctx context.Context, code, ip, ua, method string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, method, d.sb.baseURL()+"/r/"+code, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("X-Forwarded-For", ip)
	resp, err := d.web.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	fmt.Fprintf(d.out, "   🌐 %s %s from %s (%s) → %d %s\n", method, "/r/"+code, ip, shortUA(ua), resp.StatusCode, loc)
	return loc, nil
}

func shortUA(ua string) string {
	switch {
	case strings.Contains(ua, "TelegramBot"):
		return "Telegram link preview"
	case strings.Contains(ua, "Android"):
		return "phone"
	}
	return "laptop"
}
