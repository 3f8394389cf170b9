package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	reportFixture.close()
	os.Exit(code)
}

func benchLinks(b *testing.B, n int) (*fixture, []affiliate.Link) {
	f := newFixture(b)
	storetest.Seller(b, f.s, 1, "Toko")
	p := storetest.Product(b, f.s, 1, "Kopi", 1000)
	links := make([]affiliate.Link, n)
	for i := range links {
		storetest.User(b, f.s, int64(100+i), "A")
		links[i] = storetest.Join(b, f.s, int64(100+i), p.ID)
	}
	return f, links
}

// benchClickID is a click id as the redirect makes them: the time prefix, then random characters.
func benchClickID(rng *rand.Rand, at time.Time) string {
	var id [clickIDLen]byte
	affiliate.PutClickTime(id[:], at)
	for i := clickIDTimeLen; i < clickIDLen; i++ {
		id[i] = affiliate.Alphabet[rng.IntN(len(affiliate.Alphabet))]
	}
	return string(id[:])
}

// BenchmarkRecordClicks writes batches of clicks as the redirect's click writer does: ids from
// benchClickID, 100 links, 5000 visitors, one click in 20 a bot visit.
func BenchmarkRecordClicks(b *testing.B) {
	for _, size := range []int{1, 10, 100, 1000} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			f, links := benchLinks(b, 100)
			rng := rand.New(rand.NewPCG(1, 2))
			batch := make([]affiliate.Click, size)
			at := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
			seq := 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				for i := range batch {
					seq++
					at = at.Add(time.Second)
					l := links[rng.IntN(len(links))]
					batch[i] = storetest.Click(l, benchClickID(rng, at), at, rng.Uint64N(5000))
					batch[i].Bot = seq%20 == 0
				}
				b.StartTimer()
				if _, err := f.s.RecordClicks(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "clicks/s")
		})
	}
}

// BenchmarkRecordClicksBatch is the PostgreSQL backend's benchmark of the same name
// (store/postgres/clicks_bench_test.go) on bbolt, as its baseline in one run: the same batch sizes, the
// same 100 links (10 products of one seller, each joined by the same 10 affiliates), visitors, bot share
// and click ids.
//
//	KERANJANG_TEST_POSTGRES=... go test -run '^$' -bench RecordClicksBatch ./store/ ./store/postgres/
func BenchmarkRecordClicksBatch(b *testing.B) {
	for _, size := range []int{1, 16, 128, 1024, 10000} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			f := newFixture(b)
			storetest.Seller(b, f.s, 10, "Toko")
			for a := range int64(10) {
				storetest.User(b, f.s, 100+a, fmt.Sprint("A", a))
			}
			var links []affiliate.Link
			for p := range 10 {
				prod := storetest.Product(b, f.s, 10, fmt.Sprint("P", p), 1000)
				for a := range int64(10) {
					links = append(links, storetest.Join(b, f.s, 100+a, prod.ID))
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			batch := make([]affiliate.Click, size)
			at := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
			seq := 0
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				for i := range batch {
					seq++
					at = at.Add(time.Second)
					batch[i] = storetest.Click(links[rng.IntN(len(links))], benchClickID(rng, at), at, rng.Uint64N(5000))
					batch[i].Bot = seq%20 == 0
				}
				b.StartTimer()
				if _, err := f.s.RecordClicks(b.Context(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "clicks/s")
		})
	}
}

// BenchmarkRecordClicksRedirectLoad writes batches shaped like the click writer's under bench/redirect.sh
// load: 5000 clicks per batch (100 ms at 50,000 redirects a second), 20 µs apart, on 10 links from 1000
// visitors, ids from benchClickID. The click log grows by 5000 entries per batch, so the later batches
// write into a log of hundreds of thousands of clicks.
func BenchmarkRecordClicksRedirectLoad(b *testing.B) {
	const size = 5000
	f, links := benchLinks(b, 10)
	rng := rand.New(rand.NewPCG(3, 4))
	batch := make([]affiliate.Click, size)
	at := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for i := range batch {
			at = at.Add(20 * time.Microsecond)
			batch[i] = storetest.Click(links[rng.IntN(len(links))], benchClickID(rng, at), at, rng.Uint64N(1000))
		}
		b.StartTimer()
		if _, err := f.s.RecordClicks(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "clicks/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*size), "ns/click")
}

func BenchmarkTarget(b *testing.B) {
	f, links := benchLinks(b, 100)
	for _, l := range links {
		if _, err := f.s.Target(b.Context(), l.Code); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := f.s.Target(b.Context(), links[i%len(links)].Code); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// reportFixture is a seller with 10 products and 10,000 affiliates, one link each, active 3 hours a day
// for the 30 days before reportEnd. It is built once per test binary with direct bulk writes.
type sharedFixture struct {
	once sync.Once
	dir  string
	s    *Store
	err  error
}

var reportFixture sharedFixture

var reportEnd = time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)

const (
	reportSeller     = 1
	reportProducts   = 10
	reportAffiliates = 10_000
	reportDays       = 30
)

func (r *sharedFixture) close() {
	if r.s != nil {
		_ = r.s.Close()
	}
	if r.dir != "" {
		_ = os.RemoveAll(r.dir)
	}
}

func buildReportFixture() (*Store, error) {
	dir, err := os.MkdirTemp("", "keranjang-bench")
	if err != nil {
		return nil, err
	}
	reportFixture.dir = dir
	s, err := Open(filepath.Join(dir, "k.db"), Options{})
	if err != nil {
		return nil, err
	}
	created := reportEnd.AddDate(0, 0, -60)
	codes := make([]string, reportAffiliates)
	for i := range codes {
		codes[i] = reportCode(i)
	}
	err = s.db.Update(func(tx *bolt.Tx) error { return writeReportCatalogue(tx, reportAffiliates, created) })
	if err != nil {
		return nil, err
	}
	// Hourly aggregates in code order (so appends fill pages), a few thousand links per transaction.
	first := hourOf(reportEnd.AddDate(0, 0, -reportDays))
	rng := rand.New(rand.NewPCG(3, 4))
	const perTx = 2000
	for start := 0; start < reportAffiliates; start += perTx {
		err := s.db.Update(func(tx *bolt.Tx) error {
			agg := tx.Bucket(bAggLink)
			agg.FillPercent = 1
			for i := start; i < min(start+perTx, reportAffiliates); i++ {
				for d := range reportDays {
					for _, h := range [3]uint32{3, 11, 14} {
						k := binary.BigEndian.AppendUint32([]byte(codes[i]), first+uint32(d*24)+h)
						n := int64(rng.IntN(20) + 1)
						v := appendCounts(nil, affiliate.Counts{Clicks: n, UniqueClicks: n / 2, BotVisits: 1})
						if err := agg.Put(k, v); err != nil {
							return err
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

func BenchmarkAffiliateReport30d10k(b *testing.B) {
	reportFixture.once.Do(func() {
		start := time.Now()
		reportFixture.s, reportFixture.err = buildReportFixture()
		b.Logf("fixture built in %v", time.Since(start).Round(time.Millisecond))
	})
	if reportFixture.err != nil {
		b.Fatal(reportFixture.err)
	}
	s := reportFixture.s
	from := reportEnd.AddDate(0, 0, -reportDays)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rows, err := s.AffiliateReport(b.Context(), reportSeller, 0, from, reportEnd)
		if err != nil {
			b.Fatal(err)
		}
		if len(rows) != reportAffiliates || rows[0].Clicks == 0 {
			b.Fatalf("%d rows, first %+v", len(rows), rows[0])
		}
	}
}

// The report fixtures' affiliates: affiliate i has id 1000+i and link L<i, 7 digits> on product
// i%reportProducts+1 of reportSeller.
func reportCode(i int) string      { return fmt.Sprintf("L%07d", i) }
func reportAffiliate(i int) int64  { return int64(1000 + i) }
func reportProductOf(i int) uint64 { return uint64(i%reportProducts + 1) }

// writeReportCatalogue writes the report fixtures' seller, reportProducts products, and affiliates users
// with one link each, with every index, in tx: the same catalogue under the click and the order fixtures.
func writeReportCatalogue(tx *bolt.Tx, affiliates int, created time.Time) error {
	seller := affiliate.User{ID: reportSeller, FirstName: "Seller", Seller: true, ShopName: "Toko", Lang: affiliate.LangID, CreatedAt: created}
	if err := writeUser(tx, seller); err != nil {
		return err
	}
	products := tx.Bucket(bProducts)
	for i := range reportProducts {
		id, _ := products.NextSequence()
		p := affiliate.Product{ID: id, SellerID: reportSeller, Name: fmt.Sprintf("Produk %d", i), Price: 100000, Rate: 1000, URL: "https://shop.example.com/p", Status: affiliate.ProductActive, CreatedAt: created}
		if err := putJSON(products, u64(id), p); err != nil {
			return err
		}
		if err := tx.Bucket(bSellerProducts).Put(key2(reportSeller, id), nil); err != nil {
			return err
		}
	}
	users, links := tx.Bucket(bUsers), tx.Bucket(bLinks)
	users.FillPercent, links.FillPercent = 1, 1 // appended in key order
	for i := range affiliates {
		affID, productID, code := reportAffiliate(i), reportProductOf(i), reportCode(i)
		u := affiliate.User{ID: affID, FirstName: "Affiliate " + strconv.Itoa(i), Lang: affiliate.LangID, CreatedAt: created}
		if err := putJSON(users, idKey(affID), u); err != nil {
			return err
		}
		l := affiliate.Link{Code: code, AffiliateID: affID, ProductID: productID, SellerID: reportSeller, CreatedAt: created}
		if err := putJSON(links, []byte(code), l); err != nil {
			return err
		}
		if err := tx.Bucket(bAffLinks).Put(key2(uint64(affID), productID), []byte(code)); err != nil {
			return err
		}
		if err := tx.Bucket(bProductLinks).Put(append(u64(productID), code...), nil); err != nil {
			return err
		}
	}
	return nil
}
