// Command botgen writes track/bots_gen.go, the list of lower-case user-agent fragments that isBot looks
// for, from the crawler-user-agents package vendored in track/botdata and the project's own decisions
// below. It runs from the track directory through `go generate ./track/`; a test checks that the
// committed file is what it writes.
//
// Each upstream pattern is a regular expression. botgen parses it and reduces it to a small set of
// literal fragments such that every user agent the expression matches contains one of them, ignoring
// case: character classes that differ only in case ([wW]get) collapse, optional parts and short
// alternations are expanded, and of a sequence broken by a wildcard (A[\s\S]*B, \d) the most specific
// literal run is kept. A "^" or "$" becomes "\n", and isBot reads the user agent as if a "\n" stood at
// either end, so anchored patterns stay anchored. Patterns that reduce to nothing specific enough are
// left out, and so are those in skipPatterns. The generated file lists every pattern that was reduced
// rather than copied, and every pattern that was left out, with the reason.
//
// Finally a fragment that contains another fragment is dropped: it can never decide anything the shorter
// one does not (most upstream patterns end in "bot", "crawler" or "spider" and fold into the generic
// tokens).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"regexp/syntax"
	"slices"
	"strings"
)

// ownTokens are fragments the project adds to the upstream list, with the reason.
var ownTokens = map[string]string{
	// Generic words: they catch most crawlers, including ones no list knows yet.
	"bot":     "generic: TelegramBot, Twitterbot, Slackbot, Discordbot, LinkedInBot, Googlebot, bingbot, …",
	"crawl":   "generic: crawler, Crawl",
	"spider":  "generic: Baiduspider, 360Spider, …",
	"preview": "generic: link-preview fetchers (SkypeUriPreview, Google Web Preview, …)",
	// Fetchers and scripting clients that the upstream list misses or matches too narrowly.
	"cardyb":            "Bluesky's link-card fetcher (Bluesky Cardyb/1.1)",
	"undici":            "Node.js fetch (undici)",
	"java/":             "Java's built-in HTTP client (Java/17.0.2)",
	"postmanruntime":    "Postman",
	"slack-imgproxy":    "Slack's image proxy",
	"headlesschrome":    "headless Chrome, always a script",
	"python-requests":   "Python requests",
	"python-urllib":     "Python urllib",
	"go-http-client":    "Go net/http default client",
	"apache-httpclient": "Java Apache HttpClient anywhere in the user agent, not only at its start",
	"libwww-perl":       "Perl LWP",
	"scrapy":            "Scrapy",
	"vkshare":           "VK link previews",
	"iframely":          "Iframely embeds",
	"embedly":           "Embedly embeds",
}

// skipPatterns are upstream patterns left out on purpose, with the reason.
var skipPatterns = map[string]string{
	`^curl`:             `curl counts as a person: someone typed the link into a terminal`,
	`[wW]get`:           `Wget counts as a person: someone typed the link into a terminal`,
	`AP3A\.240617\.008`: `an Android build id; its sample is the Instagram in-app browser, a person`,
	`MetaIAB Facebook`:  `the Facebook in-app browser, a person; Facebook's fetcher is facebookexternalhit`,
	`Code\/1\.`:         `VS Code and other Electron apps named Code; too loose once case is ignored`,
}

// minFragment is the shortest fragment kept, an anchor counting as a byte: shorter ones ("ds9", "bw/")
// match too much once case is ignored, while "\nbw/" (a user agent that starts with "BW/") does not.
const minFragment = 4

// maxSet bounds how many strings an expanded pattern may produce.
const maxSet = 16

type entry struct {
	Pattern   string   `json:"pattern"`
	Instances []string `json:"instances"`
}

type pkg struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	License string `json:"license"`
}

func main() {
	dir := flag.String("data", "botdata", "directory with the vendored crawler-user-agents package")
	out := flag.String("out", "bots_gen.go", "file to write")
	flag.Parse()
	src, err := generateFromDir(*dir)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
}

// generateFromDir reads the vendored package in dir and returns the Go source of bots_gen.go.
func generateFromDir(dir string) ([]byte, error) {
	pj, err := os.ReadFile(dir + "/package.json")
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(dir + "/crawler-user-agents.json")
	if err != nil {
		return nil, err
	}
	var p pkg
	if err := json.Unmarshal(pj, &p); err != nil {
		return nil, fmt.Errorf("package.json: %w", err)
	}
	return generate(p, data)
}

// note is a line of the generated report: an upstream pattern and what became of it.
type note struct{ pattern, what string }

func generate(p pkg, data []byte) ([]byte, error) {
	var entries []entry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("crawler-user-agents.json: %w", err)
	}
	frags := map[string]bool{}
	for t := range ownTokens {
		frags[t] = true
	}
	var reduced, skipped []note
	used := map[string]bool{}
	for _, e := range entries {
		if why, ok := skipPatterns[e.Pattern]; ok {
			used[e.Pattern] = true
			skipped = append(skipped, note{e.Pattern, why})
			continue
		}
		fs, err := fragments(e.Pattern)
		if err != nil {
			skipped = append(skipped, note{e.Pattern, err.Error()})
			continue
		}
		for _, inst := range e.Instances {
			if !containsAny("\n"+lower(inst)+"\n", fs) {
				return nil, fmt.Errorf("pattern %q reduced to %q misses its own sample %q", e.Pattern, fs, inst)
			}
		}
		if !plain(e.Pattern) {
			reduced = append(reduced, note{e.Pattern, fmt.Sprintf("%q", fs)})
		}
		for _, f := range fs {
			frags[f] = true
		}
	}
	for pat := range skipPatterns {
		if !used[pat] {
			return nil, fmt.Errorf("skipPatterns has %q, which the data no longer has", pat)
		}
	}

	all := make([]string, 0, len(frags))
	for f := range frags {
		all = append(all, f)
	}
	slices.Sort(all)
	var tokens []string
	for _, f := range all {
		subsumed := false
		for _, g := range all {
			if g != f && strings.Contains(f, g) {
				subsumed = true
				break
			}
		}
		if !subsumed {
			tokens = append(tokens, f)
		}
	}
	return render(p, tokens, reduced, skipped)
}

func render(p pkg, tokens []string, reduced, skipped []note) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by botgen from %s %s; DO NOT EDIT.\n\n", p.Name, p.Version)
	b.WriteString("package track\n\n")
	fmt.Fprintf(&b, "// botSource names the list the bot tokens come from.\nconst botSource = %q\n\n", p.Name+" "+p.Version+" ("+p.License+")")
	b.WriteString("// botTokens are the lower-case fragments isBot looks for; \"\\n\" stands for the start or the end of\n")
	b.WriteString("// the user agent. No token contains another.\n")
	b.WriteString("var botTokens = []string{\n")
	for _, t := range tokens {
		fmt.Fprintf(&b, "\t%q,\n", t)
	}
	b.WriteString("}\n\n")
	b.WriteString("// Upstream patterns reduced to fragments rather than copied:\n//\n")
	for _, n := range reduced {
		fmt.Fprintf(&b, "//\t%q → %s\n", n.pattern, n.what)
	}
	b.WriteString("//\n// Upstream patterns left out:\n//\n")
	for _, n := range skipped {
		fmt.Fprintf(&b, "//\t%q: %s\n", n.pattern, n.what)
	}
	return format.Source(b.Bytes())
}

// plain reports whether a pattern is a literal string, perhaps with escaped punctuation.
func plain(pattern string) bool {
	re, err := syntax.Parse(pattern, syntax.Perl)
	return err == nil && re.Op == syntax.OpLiteral && re.Flags&syntax.FoldCase == 0
}

// fragments reduces a pattern to lower-case literal fragments, one of which occurs in every string the
// pattern matches.
func fragments(pattern string) ([]string, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("does not parse: %v", err)
	}
	r := reduce(re.Simplify())
	fs := r.exact
	if fs == nil {
		fs = r.factors
	}
	if fs == nil {
		return nil, fmt.Errorf("has no literal part")
	}
	slices.Sort(fs)
	fs = slices.Compact(fs)
	for _, f := range fs {
		if len(f) < minFragment {
			return nil, fmt.Errorf("reduces to %q, shorter than %d bytes", f, minFragment)
		}
	}
	return fs, nil
}

// info describes a piece of a regular expression: exact is the set of all strings it matches, when that
// is small; otherwise factors, when known, is a set of strings one of which occurs in every match.
type info struct {
	exact   []string
	factors []string
}

func reduce(re *syntax.Regexp) info {
	switch re.Op {
	case syntax.OpLiteral:
		return info{exact: []string{lower(string(re.Rune))}}
	case syntax.OpCharClass:
		set := map[string]bool{}
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i+1]-re.Rune[i] > maxSet {
				return info{}
			}
			for c := re.Rune[i]; c <= re.Rune[i+1]; c++ {
				set[lower(string(c))] = true
			}
		}
		if len(set) > 4 {
			return info{}
		}
		return info{exact: keys(set)}
	case syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return info{exact: []string{""}}
	case syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine:
		return info{exact: []string{"\n"}}
	case syntax.OpCapture:
		return reduce(re.Sub[0])
	case syntax.OpQuest:
		if s := reduce(re.Sub[0]); s.exact != nil {
			return info{exact: append(s.exact, "")}
		}
		return info{}
	case syntax.OpPlus:
		s := reduce(re.Sub[0])
		if s.exact != nil {
			return info{factors: s.exact}
		}
		return s
	case syntax.OpRepeat:
		if re.Min == 0 {
			return info{}
		}
		s := reduce(re.Sub[0])
		if s.exact != nil {
			return info{factors: s.exact}
		}
		return s
	case syntax.OpConcat:
		return reduceConcat(re.Sub)
	case syntax.OpAlternate:
		var exact, factors []string
		allExact := true
		for _, sub := range re.Sub {
			s := reduce(sub)
			switch {
			case s.exact != nil:
				exact = append(exact, s.exact...)
				factors = append(factors, s.exact...)
			case s.factors != nil:
				allExact = false
				factors = append(factors, s.factors...)
			default:
				return info{}
			}
		}
		if allExact && len(exact) <= maxSet {
			return info{exact: exact}
		}
		if len(factors) <= maxSet {
			return info{factors: factors}
		}
		return info{}
	}
	return info{}
}

// reduceConcat keeps exact runs of a sequence as a cross product; where a piece is not exact, the run
// so far becomes a candidate, and the most specific candidate is the sequence's factor set.
func reduceConcat(subs []*syntax.Regexp) info {
	run := []string{""}
	var cands [][]string
	exact := true
	for _, sub := range subs {
		s := reduce(sub)
		if s.exact != nil {
			if x := cross(run, s.exact); len(x) <= maxSet {
				run = x
				continue
			}
			exact = false
			cands = append(cands, run)
			run = s.exact
			continue
		}
		exact = false
		cands = append(cands, run)
		if s.factors != nil {
			cands = append(cands, s.factors)
		}
		run = []string{""}
	}
	if exact {
		return info{exact: run}
	}
	cands = append(cands, run)
	best, bestScore := []string(nil), 0
	for _, c := range cands {
		score := 1 << 30
		for _, s := range c {
			score = min(score, len(strings.Trim(s, "\n")))
		}
		if score > bestScore {
			best, bestScore = c, score
		}
	}
	return info{factors: best}
}

func cross(a, b []string) []string {
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func containsAny(s string, fs []string) bool {
	for _, f := range fs {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

// lower lower-cases ASCII letters only, as isBot does.
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
