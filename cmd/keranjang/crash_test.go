package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/tgfake"
	"github.com/keranjang/keranjang/store"
)

// TestKillNineLosesAtMostOneFlush runs the real binary, clicks a basket link, kills the process with
// SIGKILL and reopens the database: it must open cleanly, every click the server had written before the
// kill must be there, and clicks in flight at the kill may only be missing, never half-written.
func TestKillNineLosesAtMostOneFlush(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t)
	dbPath := filepath.Join(dir, "k.db")
	code := seedLink(t, dbPath)

	fake := tgfake.New()
	defer fake.Close()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	const adminToken = "admin-token-for-tests-0123456789"
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(),
			"KERANJANG_BOT_TOKEN="+fake.Token(), "KERANJANG_BOT_API_URL="+fake.URL(), "KERANJANG_DB="+dbPath,
			"KERANJANG_HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port), "KERANJANG_ADMIN_TOKEN="+adminToken,
			"KERANJANG_LOG_LEVEL=warn", "KERANJANG_METRICS_ADDR=") // empty: no metrics listener to collide on
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitHTTP(t, base+"/readyz")
		return cmd
	}
	cmd := start()

	client := &http.Client{Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	click := func(i int) {
		req, _ := http.NewRequest(http.MethodGet, base+"/r/"+code, nil)
		req.Header.Set("User-Agent", fmt.Sprintf("Mozilla/5.0 visitor-%d", i))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("click %d: status %d", i, resp.StatusCode)
		}
	}
	const written = 40
	for i := 0; i < written; i++ {
		click(i)
	}
	// Wait until the server says it has written them (the flush interval is 100 ms).
	deadline := time.Now().Add(20 * time.Second)
	for linkClicks(t, client, base, code, adminToken) < written {
		if time.Now().After(deadline) {
			t.Fatal("clicks never reached the store")
		}
		time.Sleep(20 * time.Millisecond)
	}
	const inFlight = 25
	for i := 0; i < inFlight; i++ {
		click(written + i)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	st, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatalf("the database must open cleanly after kill -9: %v", err)
	}
	c, err := st.LinkCounts(t.Context(), code, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	agg, err := st.LinkCounts(t.Context(), code, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if c.Clicks < written || c.Clicks > written+inFlight {
		t.Fatalf("after kill -9: %d clicks, want between %d and %d", c.Clicks, written, written+inFlight)
	}
	if agg.Clicks != c.Clicks || c.UniqueClicks != c.Clicks {
		t.Fatalf("totals and hourly aggregates disagree (half-written batch?): totals %+v, hourly %+v", c, agg)
	}
	t.Logf("kill -9 kept %d of %d clicks (%d were written before the kill)", c.Clicks, written+inFlight, written)

	// The server starts again on the same file and keeps counting.
	cmd = start()
	click(1000)
	deadline = time.Now().Add(20 * time.Second)
	for linkClicks(t, client, base, code, adminToken) < c.Clicks+1 {
		if time.Now().After(deadline) {
			t.Fatal("the restarted server does not count")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("graceful stop after SIGTERM: %v", err)
	}
}

// seedLink creates a seller, a product and an affiliate link directly in the store.
// buildBinary builds the keranjang binary into the test's temporary directory, for the tests that run
// it as a process and kill it.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "keranjang")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func seedLink(t *testing.T, path string) string {
	t.Helper()
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, u := range []affiliate.User{{ID: 10, FirstName: "Seller", Seller: true, ShopName: "Toko"}, {ID: 20, FirstName: "Aff"}} {
		if _, _, err := st.RegisterUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	p, err := st.CreateProduct(t.Context(), affiliate.Product{SellerID: 10, Name: "Kaos", Price: 100000, Rate: 1000, URL: "https://tokoku.id/kaos"})
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := st.JoinProduct(t.Context(), 20, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return l.Code
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became ready", url)
}

func linkClicks(t *testing.T, c *http.Client, base, code, token string) int64 {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/api/v1/links/"+code+"/stats", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		Clicks int64 `json:"clicks"`
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("link stats: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s.Clicks
}
