package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/tgfake"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/track"
)

// TestKillNineKeepsAcknowledgedOrders runs the real binary, sends signed postbacks from several senders at
// once (so that their writes share commits), kills the process with SIGKILL right after the last 200 and
// reopens the database: every order answered with 200 must be there with its commission.
func TestKillNineKeepsAcknowledgedOrders(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t)
	dbPath := filepath.Join(dir, "k.db")
	code := seedLink(t, dbPath) // seller 10, product at 10%, affiliate 20
	st, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key, err := st.APIKey(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	fake := tgfake.New()
	defer fake.Close()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"KERANJANG_BOT_TOKEN="+fake.Token(), "KERANJANG_BOT_API_URL="+fake.URL(), "KERANJANG_DB="+dbPath,
		"KERANJANG_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port), "KERANJANG_LOG_LEVEL=warn", "KERANJANG_METRICS_ADDR=")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	waitHTTP(t, base+"/readyz")

	client := &http.Client{Timeout: 10 * time.Second}
	post := func(id string) int {
		body := fmt.Sprintf(`{"order_id":%q,"link_code":%q,"amount":120000,"status":"pending"}`, id, code)
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/conversions", strings.NewReader(body))
		req.Header.Set(track.HeaderSeller, "10")
		req.Header.Set(track.HeaderTimestamp, ts)
		req.Header.Set(track.HeaderSignature, track.Sign(key, ts, []byte(body)))
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const senders, each = 8, 10
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("K-%d-%d", w, i)
				if status := post(id); status == http.StatusOK {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				} else {
					t.Errorf("%s: status %d", id, status)
				}
			}
		}()
	}
	wg.Wait()
	// One more, and the kill the moment its 200 is in.
	if post("K-last") != http.StatusOK {
		t.Fatal("last postback refused")
	}
	acked = append(acked, "K-last")
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	st, err = store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatalf("the database must open cleanly after kill -9: %v", err)
	}
	defer st.Close()
	for _, id := range acked {
		o, err := st.GetOrder(t.Context(), 10, id)
		if err != nil || o.Commission != 12000 || o.AffiliateID != 20 || o.Status != affiliate.OrderPending {
			t.Fatalf("acknowledged order %s after kill -9: %+v %v", id, o, err)
		}
	}
	if len(acked) != senders*each+1 {
		t.Fatalf("%d of %d postbacks acknowledged", len(acked), senders*each+1)
	}
}
