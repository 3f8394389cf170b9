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
// linear in the length of ua.
func isBot(ua string) bool {
	if len(ua) == 0 {
		return true
	}
	var buf [uaWindow]byte
	for start := 0; start < len(ua); start += uaWindow - (maxTokenLen - 1) {
		end := min(start+uaWindow, len(ua))
		n := end - start
		for i, c := range []byte(ua[start:end]) {
			buf[i] = lowerASCII[c]
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
		if containsToken(w) {
			return true
		}
		if end == len(ua) {
			break
		}
	}
	return false
}

// lowerASCII maps every byte to itself, except A–Z to a–z.
var lowerASCII = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if 'A' <= i && i <= 'Z' {
			t[i] += 'a' - 'A'
		}
	}
	return t
}()

// tokensByFirst lists, for each byte, the bot tokens that begin with it.
var tokensByFirst = func() (t [256][][]byte) {
	for _, tok := range botTokens {
		t[tok[0]] = append(t[tok[0]], tok)
	}
	return t
}()

// tokenPairs has a bit for the first two bytes of every bot token: a token can only start where the bit
// of the two bytes there is set, which rules out nearly every position of a browser's user agent.
var tokenPairs = func() (set [1 << 16 / 64]uint64) {
	for _, tok := range botTokens {
		if len(tok) < 2 {
			panic("bot token shorter than two bytes: " + string(tok))
		}
		k := uint16(tok[0])<<8 | uint16(tok[1])
		set[k/64] |= 1 << (k % 64)
	}
	return set
}()

// containsToken reports whether the lower-cased w contains one of botTokens. It looks at each position
// once, through tokenPairs, and compares whole tokens only where a pair matches.
func containsToken(w []byte) bool {
	for i := 0; i+1 < len(w); i++ {
		k := uint16(w[i])<<8 | uint16(w[i+1])
		if tokenPairs[k/64]&(1<<(k%64)) == 0 {
			continue
		}
		for _, tok := range tokensByFirst[w[i]] {
			if tok[1] == w[i+1] && bytes.HasPrefix(w[i:], tok) {
				return true
			}
		}
	}
	return false
}
