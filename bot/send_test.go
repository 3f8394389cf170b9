package bot

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/internal/secret"
	"github.com/keranjang/keranjang/internal/tgfake"
)

var alice = tgfake.User{ID: 42, FirstName: "Alice", Username: "alice", LanguageCode: "id"}

// newFake starts a fake Bot API that is closed when the test ends.
func newFake(t *testing.T) *tgfake.Server {
	t.Helper()
	f := tgfake.New()
	t.Cleanup(f.Close)
	return f
}

// newTestBot builds the bot edge against the fake; edit may change the config first. It is not started:
// sending needs no Start.
func newTestBot(t *testing.T, f *tgfake.Server, h Handler, edit func(*Config)) *Bot {
	t.Helper()
	cfg := Config{Token: secret.Secret(f.Token()), APIURL: f.URL(), Workers: 2, Logger: zerolog.Nop()}
	if edit != nil {
		edit(&cfg)
	}
	if h == nil {
		h = HandlerFunc(func(context.Context, *Request) {})
	}
	b, err := New(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSendFile(t *testing.T) {
	f := newFake(t)
	b := newTestBot(t, f, nil, nil)
	ctx := testCtx(t)
	f.SendText(alice, tgfake.Chat{}, "hi")

	for _, tc := range []struct {
		name   string
		u      Upload
		method string
	}{
		{"photo bytes", Upload{Kind: UploadPhoto, Name: "qr.png", Data: []byte("png"), Caption: "<b>QR</b>"}, "sendPhoto"},
		{"document", Upload{Kind: UploadDocument, Name: "data.json", Data: []byte("{}"), Caption: "data"}, "sendDocument"},
		{"document without caption", Upload{Kind: UploadDocument, Data: []byte("x")}, "sendDocument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := b.SendFile(ctx, alice.ID, tc.u)
			if err != nil {
				t.Fatal(err)
			}
			m, ok := f.LastSent(alice.ID)
			if !ok || int(m.ID) != id || m.Method != tc.method || m.Media == nil {
				t.Fatalf("sent %+v (id %d), want %s", m, id, tc.method)
			}
			if string(m.Media.Data) != string(tc.u.Data) {
				t.Errorf("data %q, want %q", m.Media.Data, tc.u.Data)
			}
		})
	}

	// A photo sent again by its file_id.
	first, _ := f.LastSent(alice.ID)
	sent := f.Sent(alice.ID)
	photo := sent[len(sent)-3].Media.FileID
	if _, err := b.SendFile(ctx, alice.ID, Upload{Kind: UploadPhoto, FileID: photo}); err != nil {
		t.Fatal(err)
	}
	if m, _ := f.LastSent(alice.ID); m.ID == first.ID || m.Media.FileID != photo {
		t.Errorf("resent photo = %+v", m.Media)
	}

	for _, u := range []Upload{{Data: []byte("x")}, {Kind: UploadKind(9), Data: []byte("x")}, {Kind: UploadPhoto}} {
		if _, err := b.SendFile(ctx, alice.ID, u); !errors.Is(err, ErrBadMessage) {
			t.Errorf("SendFile(%+v) = %v, want ErrBadMessage", u, err)
		}
	}
	f.CheckNoRejections(t)
}
