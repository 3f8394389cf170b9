package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// TestClickRecordMerge builds random records, adds random clicks to them with merge, and checks that
// the result reads back as the sorted union, with a header that counts it and names its latest click.
func TestClickRecordMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	t0 := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	mk := func(id string) affiliate.Click {
		l := rng.IntN(5)
		return affiliate.Click{ID: id, Code: fmt.Sprintf("code%04d", l), ProductID: uint64(l + 1), AffiliateID: int64(l + 10),
			SellerID: int64(l + 20), At: t0.Add(time.Duration(rng.Int64N(int64(48 * time.Hour)))), Visitor: rng.Uint64(),
			Unique: rng.IntN(2) == 0}
	}
	var e recEncoder
	for round := range 300 {
		ids := map[string]bool{}
		var old, add []affiliate.Click
		for range 1 + rng.IntN(40) {
			id := fmt.Sprintf("%c%03d", 'a'+rng.IntN(3), rng.IntN(200))
			if ids[id] {
				continue
			}
			ids[id] = true
			if len(old) == 0 || rng.IntN(3) > 0 {
				old = append(old, mk(id))
			} else {
				add = append(add, mk(id))
			}
		}
		if len(add) == 0 {
			continue
		}
		ptrs := func(cs []affiliate.Click) []*affiliate.Click {
			var p []*affiliate.Click
			for i := range cs {
				p = append(p, &cs[i])
			}
			sortByID(p)
			return p
		}
		v := slices.Clone(e.encode(ptrs(old)))
		got, err := e.merge(v, ptrs(add))
		if err != nil {
			t.Fatal(err)
		}
		want := append(slices.Clone(old), add...)
		slices.SortFunc(want, func(x, y affiliate.Click) int { return strings.Compare(x.ID, y.ID) })
		clicks, err := recordClicks(got)
		if err != nil || !slices.Equal(clicks, want) {
			t.Fatalf("round %d: merged %+v %v, want %+v", round, clicks, err, want)
		}
		n, latest, err := clickRecHeader(got)
		wantLatest := slices.MaxFunc(want, func(x, y affiliate.Click) int { return x.At.Compare(y.At) }).At.UnixNano()
		if err != nil || n != len(want) || latest != wantLatest {
			t.Fatalf("round %d: header %d %d %v, want %d %d", round, n, latest, err, len(want), wantLatest)
		}
		for _, c := range want {
			if got, ok, err := findInRecord(got, c.ID); err != nil || !ok || got != c {
				t.Fatalf("round %d: find %s: %+v %v %v", round, c.ID, got, ok, err)
			}
		}
	}
}
