package scheduler

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/rs/zerolog"

	"github.com/keranjang/keranjang/affiliate"
)

// JobPolicyFeeds is the job that reads the policy feeds (KERANJANG_POLICY_FEEDS) every 15 minutes.
const JobPolicyFeeds = "policy_feeds"

// Limits of one feed read.
const (
	FeedTimeout  = 20 * time.Second
	MaxFeedBytes = 2 << 20
)

// FeedStore keeps what each feed showed and turns new items into alerts (RecordFeedItems does both in one
// transaction).
type FeedStore interface {
	FeedItems(ctx context.Context, feedURL string) (map[string]bool, bool, error)
	RecordFeedItems(ctx context.Context, feedURL string, items []affiliate.FeedItem) ([]affiliate.Alert, error)
}

// NewFeedClient is the HTTP client of feed reads: a whole-request timeout and at most a few redirects.
func NewFeedClient() *http.Client {
	return &http.Client{Timeout: FeedTimeout, CheckRedirect: func(_ *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// PolicyFeeds is the job that reads every feed. The first successful read of a feed only remembers its
// items; on later reads each new item becomes one alert to all users, and fanOut (Trigger of
// JobFanOutAlerts) is called when any was made. A feed that fails is logged and read again next time;
// its items are recorded only after a successful read, so nothing is lost or alerted twice.
func PolicyFeeds(st FeedStore, client *http.Client, feeds []string, fanOut func()) Job {
	if client == nil {
		client = NewFeedClient()
	}
	return func(ctx context.Context) error {
		log := zerolog.Ctx(ctx)
		failed, created := 0, 0
		for _, url := range feeds {
			n, err := pollFeed(ctx, st, client, url)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				failed++
				log.Warn().Err(err).Str("feed", url).Msg("policy feed not read; tried again next time")
				continue
			}
			created += n
		}
		if created > 0 && fanOut != nil {
			fanOut()
		}
		log.Info().Int("feeds", len(feeds)).Int("failed", failed).Int("alerts", created).Msg("policy feeds read")
		return nil
	}
}

// pollFeed reads one feed and records its items; it returns how many alerts were made.
func pollFeed(ctx context.Context, st FeedStore, client *http.Client, url string) (int, error) {
	feed, err := fetchFeed(ctx, client, url)
	if err != nil {
		return 0, err
	}
	seen, polled, err := st.FeedItems(ctx, url)
	if err != nil {
		return 0, err
	}
	var items []affiliate.FeedItem
	// Feeds list the newest first; alerts go out oldest first.
	for i := len(feed.Items) - 1; i >= 0; i-- {
		it := feed.Items[i]
		if it == nil {
			continue
		}
		var date time.Time
		if it.PublishedParsed != nil {
			date = *it.PublishedParsed
		} else if it.UpdatedParsed != nil {
			date = *it.UpdatedParsed
		}
		id := affiliate.FeedItemID(it.GUID, it.Link, it.Title, date)
		if id == "" || seen[id] {
			continue
		}
		item := affiliate.FeedItem{ID: id}
		if polled {
			item.Alert = feedAlert(url, it)
		}
		items = append(items, item)
	}
	if polled && len(items) == 0 {
		return 0, nil
	}
	created, err := st.RecordFeedItems(ctx, url, items)
	return len(created), err
}

// feedAlert is the alert a feed item becomes: its title (or the start of its text), its text as plain
// text, and its link when that is a valid https URL.
func feedAlert(feedURL string, it *gofeed.Item) affiliate.Alert {
	body := it.Description
	if body == "" {
		body = it.Content
	}
	body = affiliate.PlainText(body, affiliate.MaxAlertBodyLen)
	title := affiliate.PlainText(it.Title, affiliate.MaxAlertTitleLen)
	if title == "" {
		title = affiliate.PlainText(body, 80)
	}
	a, err := affiliate.NewAlert(title, body, it.Link, affiliate.AudienceAll, "feed:"+feedURL)
	if err != nil { // a link that is not https: the alert goes without it
		a, _ = affiliate.NewAlert(title, body, "", affiliate.AudienceAll, "feed:"+feedURL)
	}
	if a.Title == "" {
		a = affiliate.Alert{Title: "…", Body: body, Audience: affiliate.AudienceAll, Source: "feed:" + feedURL}
	}
	return a
}

// fetchFeed downloads and parses one feed, refusing bodies over MaxFeedBytes.
func fetchFeed(ctx context.Context, client *http.Client, url string) (*gofeed.Feed, error) {
	ctx, cancel := context.WithTimeout(ctx, FeedTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("feed request: %w", err)
	}
	req.Header.Set("User-Agent", "Keranjang policy feed reader")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch feed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("fetch feed: status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxFeedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read feed: %w", err)
	}
	if len(data) > MaxFeedBytes {
		return nil, fmt.Errorf("read feed: larger than %d bytes", MaxFeedBytes)
	}
	feed, err := gofeed.NewParser().ParseString(string(data))
	if err != nil {
		return nil, fmt.Errorf("parse feed: %w", err)
	}
	return feed, nil
}
