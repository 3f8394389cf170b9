package storetest

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// testRecordClicksAnyOrder checks that a batch is judged in time order whatever order its clicks come in,
// and that a click arriving in a batch after a newer click of the same visitor is not unique.
func testRecordClicksAnyOrder(t *testing.T, open Open) {
	t0 := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	type want struct {
		id     string
		unique bool
	}
	tests := []struct {
		name    string
		batches [][]struct {
			id      string
			hour    int
			visitor uint64
		}
		want    []want
		uniques int64
	}{
		{
			name: "one batch out of order",
			batches: [][]struct {
				id      string
				hour    int
				visitor uint64
			}{{{"o30", 30, 1}, {"o0", 0, 1}, {"o25", 25, 1}}},
			want:    []want{{"o0", true}, {"o25", true}, {"o30", false}},
			uniques: 2,
		},
		{
			name: "a late click in a later batch",
			batches: [][]struct {
				id      string
				hour    int
				visitor uint64
			}{{{"l30", 30, 1}}, {{"l0", 0, 1}, {"l60", 60, 1}}},
			want:    []want{{"l30", true}, {"l0", false}, {"l60", true}},
			uniques: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, open)
			f.seller(t, 10, "Toko")
			f.user(t, 20, "Ani")
			l := f.join(t, 20, f.product(t, 10, "Kopi", 1000).ID)
			got := map[string]bool{}
			for _, batch := range tt.batches {
				var clicks []affiliate.Click
				for _, c := range batch {
					clicks = append(clicks, click(l, c.id, h(c.hour), c.visitor))
				}
				for _, c := range f.record(t, clicks...) {
					got[c.ID] = c.Unique
				}
			}
			for _, w := range tt.want {
				if got[w.id] != w.unique {
					t.Errorf("click %s: unique %v, want %v", w.id, got[w.id], w.unique)
				}
				if c, err := f.s.GetClick(t.Context(), w.id); err != nil || c.Unique != w.unique {
					t.Errorf("stored click %s: %+v %v", w.id, c, err)
				}
			}
			if c, err := f.s.LinkCounts(t.Context(), l.Code, time.Time{}, time.Time{}); err != nil || c.UniqueClicks != tt.uniques {
				t.Fatalf("counts %+v %v, want %d unique", c, err, tt.uniques)
			}
		})
	}

	// A shuffled batch gives the same decisions and counts as the same clicks in time order.
	rng := rand.New(rand.NewPCG(5, 6))
	var sorted []affiliate.Click
	at := t0
	for i := range 300 {
		at = at.Add(time.Duration(rng.Int64N(int64(2 * time.Hour))))
		var id [affiliate.ClickIDLen]byte
		affiliate.PutClickTime(id[:], at)
		copy(id[affiliate.ClickIDTimeLen:], []byte{byte('A' + i/26/26%26), byte('A' + i/26%26), byte('A' + i%26)})
		for j := affiliate.ClickIDTimeLen + 3; j < affiliate.ClickIDLen; j++ {
			id[j] = 'x'
		}
		sorted = append(sorted, affiliate.Click{ID: string(id[:]), At: at, Visitor: rng.Uint64N(5), Bot: rng.IntN(10) == 0})
	}
	shuffled := append([]affiliate.Click(nil), sorted...)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	results := make([]map[string]bool, 2)
	counts := make([]affiliate.Counts, 2)
	for k, batch := range [][]affiliate.Click{sorted, shuffled} {
		f := newFixture(t, open)
		f.seller(t, 10, "Toko")
		f.user(t, 20, "Ani")
		l := f.join(t, 20, f.product(t, 10, "Kopi", 1000).ID)
		clicks := make([]affiliate.Click, len(batch))
		for i, c := range batch {
			clicks[i] = click(l, c.ID, c.At, c.Visitor)
			clicks[i].Bot = c.Bot
		}
		results[k] = map[string]bool{}
		for _, c := range f.record(t, clicks...) {
			results[k][c.ID] = c.Unique
		}
		var err error
		if counts[k], err = f.s.LinkCounts(t.Context(), l.Code, time.Time{}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	for id, u := range results[0] {
		if results[1][id] != u {
			t.Fatalf("click %s: unique %v in time order, %v shuffled", id, u, results[1][id])
		}
	}
	if counts[0] != counts[1] {
		t.Fatalf("counts %+v in time order, %+v shuffled", counts[0], counts[1])
	}
}
