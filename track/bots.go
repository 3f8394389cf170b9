package track

import "bytes"

// botTokens are lower-case fragments of the user agents of crawlers, link-preview fetchers and scripted
// HTTP clients. A visit whose user agent contains one of them (case-insensitively) is redirected but kept
// as a bot visit, never as a click.
//
// The generic tokens "bot", "crawl", "spider" and "preview" catch TelegramBot, Twitterbot, Slackbot,
// Discordbot, LinkedInBot, Googlebot, bingbot, Applebot, YandexBot, Baiduspider, DuckDuckBot, Facebot,
// redditbot, SkypeUriPreview and most unknown crawlers. The others name fetchers that do not say "bot".
//
// curl and wget are deliberately not listed: someone typing a basket link into a terminal is a person
// following the link, and both tools send a user agent of their own (an empty one is a bot, see isBot).
// Scripting libraries (python-requests, Go-http-client, …) are listed because no person clicks through
// them.
var botTokens = [][]byte{
	[]byte("bot"),
	[]byte("crawl"),
	[]byte("spider"),
	[]byte("preview"),
	[]byte("whatsapp"),
	[]byte("facebookexternalhit"),
	[]byte("facebookcatalog"),
	[]byte("slack-imgproxy"),
	[]byte("pinterest"),
	[]byte("vkshare"),
	[]byte("embedly"),
	[]byte("iframely"),
	[]byte("headlesschrome"),
	[]byte("python-requests"),
	[]byte("python-urllib"),
	[]byte("go-http-client"),
	[]byte("apache-httpclient"),
	[]byte("libwww-perl"),
	[]byte("scrapy"),
}

// botExceptions are fragments of human user agents that contain a bot token by accident, such as the
// Android phone brand CUBOT. A user agent with an exception is a bot only when a token also occurs
// outside the exception; for simplicity the exception's bytes are blanked before matching.
var botExceptions = [][]byte{
	[]byte("cubot"),
}

// uaWindow is how many bytes of the user agent are lower-cased and searched at a time. Windows overlap
// by maxTokenLen-1 bytes so that a token across a window boundary is still found.
const (
	uaWindow    = 256
	maxTokenLen = 32
)

// isBot reports whether a user agent belongs to a crawler, a link-preview fetcher or a script. An empty
// user agent counts as a bot: every browser sends one. The match is case-insensitive, allocation-free and
// linear in the length of ua times the number of tokens.
func isBot(ua string) bool {
	if len(ua) == 0 {
		return true
	}
	var buf [uaWindow]byte
	for start := 0; start < len(ua); start += uaWindow - (maxTokenLen - 1) {
		end := min(start+uaWindow, len(ua))
		n := end - start
		for i := 0; i < n; i++ {
			c := ua[start+i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		w := buf[:n]
		for _, ex := range botExceptions {
			for {
				i := bytes.Index(w, ex)
				if i < 0 {
					break
				}
				for j := i; j < i+len(ex); j++ {
					w[j] = ' '
				}
			}
		}
		for _, tok := range botTokens {
			if bytes.Contains(w, tok) {
				return true
			}
		}
		if end == len(ua) {
			break
		}
	}
	return false
}
