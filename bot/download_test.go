package bot

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/keranjang/keranjang/internal/tgfake"
)

func TestDownload(t *testing.T) {
	f := newFake(t)
	b := newTestBot(t, f, nil, nil)
	ctx := testCtx(t)
	data := bytes.Repeat([]byte("order_id,ref,amount,status\n"), 100)
	u := f.SendDocument(alice, tgfake.Chat{}, "orders januari.csv", "text/csv", data, "")

	got, err := b.Download(ctx, u.FileID, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes, want the %d sent", len(got), len(data))
	}
	if _, err := b.Download(ctx, u.FileID, int64(len(data))-1); !errors.Is(err, ErrFileTooLarge) {
		t.Fatalf("over the cap: %v, want ErrFileTooLarge", err)
	}
	_, err = b.Download(ctx, "no-such-file", 1<<20)
	if err == nil {
		t.Fatal("an unknown file_id downloaded")
	}
	if _, secretPart, _ := strings.Cut(f.Token(), ":"); strings.Contains(err.Error(), secretPart) {
		t.Fatalf("the error shows the token: %v", err)
	}
	if len(f.CallsTo("getFile")) != 3 {
		t.Errorf("%d getFile calls, want 3", len(f.CallsTo("getFile")))
	}
}
