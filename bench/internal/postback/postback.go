// Package postback is the one signed-postback sender of the load generators (bench/postbackload and
// bench/clusterload).
package postback

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/keranjang/keranjang/track"
)

// Send posts body as a signed conversion of seller (signed with key, at the current time) to url and
// returns how long the answer took. Anything but a 200 whose order changed is an error naming the
// transport error, or the status and the body.
func Send(client *http.Client, url string, seller int64, key string, body []byte) (time.Duration, error) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(track.HeaderSeller, strconv.FormatInt(seller, 10))
	req.Header.Set(track.HeaderTimestamp, ts)
	req.Header.Set(track.HeaderSignature, track.Sign(key, ts, body))
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return time.Since(t0), err
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	var res track.ConversionResult
	if resp.StatusCode == http.StatusOK && json.Unmarshal(out, &res) == nil && res.Changed {
		return d, nil
	}
	return d, fmt.Errorf("%d %s", resp.StatusCode, bytes.TrimSpace(out))
}
