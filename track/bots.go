package track

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
)

//go:generate go run ./internal/botgen -data botdata -out bots_gen.go

// Bot detection. A visit whose user agent contains one of botTokens, ignoring ASCII case, is redirected
// but kept as a bot visit, never as a click. botTokens (bots_gen.go) are generated from the
// crawler-user-agents list vendored in botdata/, plus the project's own tokens, by internal/botgen, which
// also records every upstream pattern it simplified or left out and why.
//
// What counts as a person, on purpose:
//   - curl and Wget: someone typing a basket link into a terminal is a person following the link. Both
//     send a user agent of their own; an empty user agent is a bot, since every browser sends one.
//   - In-app browsers (Instagram, Facebook, TikTok, LINE, Telegram, Pinterest, …): a person tapped the
//     link. Fetchers that build link previews for these apps (facebookexternalhit, TelegramBot, WhatsApp,
//     Pinterestbot) are bots. WhatsApp opens links in the phone's browser, so a user agent naming
//     WhatsApp is always its preview fetcher.
//   - Scripting libraries (python-requests, okhttp, axios, Go-http-client, …) are bots: no person clicks
//     through them.
//
// botExceptions are fragments of human user agents that contain a bot token by accident, such as the
// Android phone brand CUBOT. An occurrence of a token that lies wholly inside an occurrence of an
// exception does not count.
var botExceptions = []string{
	"cubot",
}

// isBot reports whether a user agent belongs to a crawler, a link-preview fetcher or a script. An empty
// user agent counts as a bot. The user agent is read as if it began and ended with "\n", which is how the
// tokens of anchored upstream patterns are written. A user agent seen recently is answered from
// botCache; otherwise the matcher reads each byte once. isBot allocates only when it caches a verdict.
func isBot(ua string) bool {
	if len(ua) == 0 {
		return true
	}
	if len(ua) > maxCachedUA {
		return botMatcher().match(ua)
	}
	slot := &botCache[maphash.String(botCacheSeed, ua)&(botCacheSize-1)]
	if v := slot.Load(); v != nil && v.ua == ua {
		return v.bot
	}
	bot := botMatcher().match(ua)
	slot.Store(&uaVerdict{ua: strings.Clone(ua), bot: bot})
	return bot
}

// botCache remembers the verdicts of recent user agents: most visits come from a few browser builds, and
// hashing a user agent and comparing it with the cached one costs a fraction of matching it. It is
// direct-mapped (a user agent has one slot, picked by its hash; a newer one evicts the older) and
// lock-free: a slot holds a pointer to an entry that is never changed once stored. A flood of distinct
// user agents only replaces entries, so the cache never holds more than botCacheSize of them, each at
// most maxCachedUA bytes; longer ones are matched every time.
var (
	botCache     [botCacheSize]atomic.Pointer[uaVerdict]
	botCacheSeed = maphash.MakeSeed()
)

const (
	botCacheSize = 4096 // a power of two
	maxCachedUA  = 512
)

// uaVerdict is one entry of botCache.
type uaVerdict struct {
	ua  string
	bot bool
}

// botMatcher builds the matcher on first use (a few milliseconds), so that commands that never
// redirect, such as healthcheck, do not pay for it.
var botMatcher = sync.OnceValue(func() *tokenMatcher { return newTokenMatcher(botTokens, botExceptions) })

// tokenMatcher finds tokens in a string in one pass: an Aho–Corasick automaton, turned into a complete
// table of transitions over byte classes. Bytes that occur in no token share one class, and so do the
// two cases of a letter.
type tokenMatcher struct {
	class  [256]uint8
	nclass int
	// next[s+class] is the state after state s reads a byte of that class. States are stored as the
	// offset of their row, and the row of a state where a token ends has matchFlag set.
	next  []uint32
	start uint32
	// ends[row/nclass] is the index of the token that ends in that state, or -1.
	ends   []int32
	tokens []string
	// covers[t] lists the exceptions that contain token t, and where.
	covers [][]cover
}

type cover struct {
	exception string
	offset    int // where the token starts inside the exception
}

const matchFlag = 1 << 31

// newTokenMatcher builds the automaton. Tokens must be lower-case, non-empty and none may contain
// another; bots_gen.go is written that way, and a token that breaks the rule is a programming error.
func newTokenMatcher(tokens, exceptions []string) *tokenMatcher {
	m := &tokenMatcher{tokens: tokens, covers: make([][]cover, len(tokens))}
	for ti, t := range tokens {
		if t == "" || t != lowerString(t) {
			panic("bot token must be lower-case and non-empty: " + t)
		}
		for _, e := range exceptions {
			for off := 0; off+len(t) <= len(e); off++ {
				if e[off:off+len(t)] == t {
					m.covers[ti] = append(m.covers[ti], cover{e, off})
				}
			}
		}
	}
	// Byte classes: class 0 is every byte that no token uses.
	m.nclass = 1
	for _, t := range append([]string{"\n"}, tokens...) {
		for i := 0; i < len(t); i++ {
			if c := t[i]; m.class[c] == 0 {
				if m.nclass == 256 {
					panic("too many byte classes")
				}
				m.class[c] = uint8(m.nclass)
				m.nclass++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		m.class[c] = m.class[c+'a'-'A']
	}
	n := m.nclass

	// The trie, one row of n edges per state, with -1 for a missing edge.
	states := 1
	for _, t := range tokens {
		states += len(t)
	}
	trie := newRow(make([]int32, 0, states*n), n)
	ends := make([]int32, 1, states)
	ends[0] = -1
	for ti, t := range tokens {
		s := 0
		for i := 0; i < len(t); i++ {
			e := s*n + int(m.class[t[i]])
			if trie[e] < 0 {
				trie[e] = int32(len(ends))
				trie = newRow(trie, n)
				ends = append(ends, -1)
			}
			s = int(trie[e])
		}
		if ends[s] >= 0 {
			panic("bot token listed twice: " + t)
		}
		ends[s] = int32(ti)
	}

	// Breadth first, fill each missing edge with the edge of the state's failure link. A state's own token
	// is the only one that can end there: every state is a prefix of some token, so a token on a state's
	// failure link (a proper suffix) or a token whose state goes on would be a token inside another.
	fail := make([]int32, len(ends))
	queue := make([]int32, 0, len(ends))
	for c := range n {
		if trie[c] < 0 {
			trie[c] = 0
		} else {
			queue = append(queue, trie[c])
		}
	}
	for len(queue) > 0 {
		s := int(queue[0])
		queue = queue[1:]
		if ends[fail[s]] >= 0 {
			panic("a bot token contains " + tokens[ends[fail[s]]])
		}
		f := int(fail[s])
		for c := range n {
			child := trie[s*n+c]
			if child >= 0 && ends[s] >= 0 {
				panic("a bot token starts with " + tokens[ends[s]])
			}
			if child < 0 {
				trie[s*n+c] = trie[f*n+c]
				continue
			}
			fail[child] = trie[f*n+c]
			queue = append(queue, child)
		}
	}

	m.ends = ends
	m.next = make([]uint32, len(trie))
	for e, t := range trie {
		v := uint32(int(t) * n)
		if ends[t] >= 0 {
			v |= matchFlag
		}
		m.next[e] = v
	}
	m.start = m.next[m.class['\n']] &^ matchFlag
	return m
}

// newRow appends a row of n missing edges to trie.
func newRow(trie []int32, n int) []int32 {
	for range n {
		trie = append(trie, -1)
	}
	return trie
}

// match reports whether "\n"+s+"\n" contains a token, ignoring ASCII case, outside the exceptions.
func (m *tokenMatcher) match(s string) bool {
	if m.next[m.class['\n']]&matchFlag != 0 && m.found(s, m.start, 0) {
		return true
	}
	st := m.start
	for i := 0; i < len(s); i++ {
		st = m.next[st+uint32(m.class[s[i]])]
		if st&matchFlag != 0 {
			st &^= matchFlag
			if m.found(s, st, i+1) {
				return true
			}
		}
	}
	st = m.next[st+uint32(m.class['\n'])]
	return st&matchFlag != 0 && m.found(s, st&^matchFlag, len(s)+1)
}

// found reports whether the token that ends in state st, at position end of "\n"+s+"\n", counts: that
// is, whether no exception around it occurs there too.
func (m *tokenMatcher) found(s string, st uint32, end int) bool {
	t := m.ends[int(st)/m.nclass]
	begin := end - len(m.tokens[t]) + 1
	for _, c := range m.covers[t] {
		if virtualHasAt(s, begin-c.offset, c.exception) {
			return false
		}
	}
	return true
}

// virtualHasAt reports whether "\n"+lower(s)+"\n" has the lower-case w at position at.
func virtualHasAt(s string, at int, w string) bool {
	if at < 0 || at+len(w) > len(s)+2 {
		return false
	}
	for i := 0; i < len(w); i++ {
		p := at + i
		var c byte = '\n'
		if p > 0 && p <= len(s) {
			c = lowerASCII[s[p-1]]
		}
		if c != w[i] {
			return false
		}
	}
	return true
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

func lowerString(s string) string {
	b := []byte(s)
	for i, c := range b {
		b[i] = lowerASCII[c]
	}
	return string(b)
}
