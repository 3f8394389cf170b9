package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
	"github.com/keranjang/keranjang/internal/pgtest"
	"github.com/keranjang/keranjang/store"
	"github.com/keranjang/keranjang/store/dump"
	"github.com/keranjang/keranjang/store/dump/dumptest"
	"github.com/keranjang/keranjang/store/postgres"
)

// exporter is what both backends export with.
type exporter interface {
	Export(ctx context.Context, w *dump.Writer) error
}

// exportAll exports s into memory.
func exportAll(t *testing.T, s exporter, source string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := dump.NewWriter(&buf, dump.Header{Source: source})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Export(t.Context(), w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func reader(t *testing.T, data []byte) *dump.Reader {
	t.Helper()
	r, err := dump.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// items reads every item of a dump.
func items(t *testing.T, data []byte) []dump.Item {
	t.Helper()
	r := reader(t, data)
	var out []dump.Item
	for {
		it, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, it)
	}
}

// filledBolt returns a bbolt store filled by dumptest.Fill, and the fixture.
func filledBolt(t *testing.T) (*store.Store, dumptest.Fixture) {
	t.Helper()
	clock := dumptest.NewClock()
	b, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b, dumptest.Fill(t, b, clock)
}

// TestImportFromBolt loads a bbolt database's dump into PostgreSQL and compares every read method's
// answers, then checks that both go on alike; exports the PostgreSQL database and loads that into a
// second one, which must answer alike too, and whose own export is item for item the first's.
func TestImportFromBolt(t *testing.T) {
	b, fx := filledBolt(t)
	pg := open(t, pgtest.URL(t), fx.Clock.Now)
	res, err := pg.Import(t.Context(), reader(t, exportAll(t, b, "bbolt")))
	if err != nil {
		t.Fatal(err)
	}
	held := res.Held
	if res.NULs != 0 {
		t.Fatalf("%d items had NUL characters", res.NULs)
	}
	if c, err := pg.DumpCounts(t.Context()); err != nil || !c.Equal(held) || held[dump.KindClick] != int64(len(fx.Clicks)) {
		t.Fatalf("dump counts %v %v; import held %v", c, err, held)
	}
	dumptest.Compare(t, fx, b, pg)
	// A store opened afterwards reads the imported salt as well.
	if again := open(t, pgtest.WithSchema(t, pgtest.Base(t), schemaOf(t, pg)), fx.Clock.Now); !bytes.Equal(again.VisitorSalt(), b.VisitorSalt()) {
		t.Fatal("the imported salt did not persist")
	}

	first := exportAll(t, pg, "postgres")
	pg2 := open(t, pgtest.URL(t), fx.Clock.Now)
	if _, err := pg2.Import(t.Context(), reader(t, first)); err != nil {
		t.Fatal(err)
	}
	dumptest.Compare(t, fx, b, pg2)
	if a, c := items(t, first), items(t, exportAll(t, pg2, "postgres")); !reflect.DeepEqual(a, c) {
		t.Fatalf("a restored database exports otherwise than its source (%d and %d items)", len(a), len(c))
	}
	dumptest.CompareNext(t, fx, b, pg)
}

// schemaOf is the schema a store's connections use.
func schemaOf(t *testing.T, s *postgres.Store) string {
	t.Helper()
	var schema string
	if err := s.Pool().QueryRow(t.Context(), `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	return schema
}

// TestImportRefusesData: a database with any data, counters included, is not loaded into, and keeps
// what it had.
func TestImportRefusesData(t *testing.T) {
	b, _ := filledBolt(t)
	data := exportAll(t, b, "bbolt")
	for _, tc := range []struct {
		name string
		fill func(*postgres.Store) error
	}{
		{"a user", func(s *postgres.Store) error {
			_, _, err := s.RegisterUser(t.Context(), affiliate.User{ID: 5, ChatID: 5, FirstName: "X"})
			return err
		}},
		{"orphan visits", func(s *postgres.Store) error { return s.AddOrphans(t.Context(), 2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, pgtest.URL(t), time.Now)
			if err := tc.fill(s); err != nil {
				t.Fatal(err)
			}
			salt := s.VisitorSalt()
			before, _ := s.DumpCounts(t.Context())
			if _, err := s.Import(t.Context(), reader(t, data)); !errors.Is(err, postgres.ErrNotEmpty) {
				t.Fatalf("import into a database with data: %v", err)
			}
			if after, _ := s.DumpCounts(t.Context()); !after.Equal(before) || !bytes.Equal(s.VisitorSalt(), salt) {
				t.Fatalf("a refused import changed the database: %v → %v", before, after)
			}
		})
	}
}

// TestImportAtomic: a dump that cannot be loaded whole (here a digest entry that matches no user's
// schedule, found after every table was copied) leaves the database empty.
func TestImportAtomic(t *testing.T) {
	var buf bytes.Buffer
	w, _ := dump.NewWriter(&buf, dump.Header{Source: "test"})
	for _, it := range []dump.Item{
		dump.Meta{Salt: bytes.Repeat([]byte{7}, 32), Clicks: 1},
		dump.User{User: affiliate.User{ID: 20, ChatID: 20, FirstName: "Ani", TimeZone: "Asia/Jakarta", DigestMinute: 1260}},
		dump.Digest{Zone: "Asia/Jakarta", Minute: 600, UserID: 20, Handled: "2024-03-09"},
	} {
		if err := w.Write(it); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s := open(t, pgtest.URL(t), time.Now)
	salt := s.VisitorSalt()
	if _, err := s.Import(t.Context(), reader(t, buf.Bytes())); err == nil {
		t.Fatal("a digest entry off its user's schedule was imported")
	}
	if c, _ := s.DumpCounts(t.Context()); c[dump.KindUser] != 0 || !bytes.Equal(s.VisitorSalt(), salt) {
		t.Fatalf("a failed import left %v", c)
	}
	st, _ := s.Stats(t.Context())
	if st != (affiliate.Stats{}) {
		t.Fatalf("a failed import left stats %+v", st)
	}

	// A cut dump is refused the same way, at its end.
	good := exportAll(t, func() exporter { b, _ := filledBolt(t); return b }(), "bbolt")
	if _, err := s.Import(t.Context(), reader(t, good[:len(good)-30])); err == nil {
		t.Fatal("a cut dump was imported")
	}
	if c, _ := s.DumpCounts(t.Context()); c[dump.KindUser] != 0 {
		t.Fatalf("a cut dump left %v", c)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Import(ctx, reader(t, good)); !errors.Is(err, context.Canceled) {
		t.Fatalf("import with a cancelled context: %v", err)
	}
	if err := s.Export(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("export with a cancelled context: %v", err)
	}
}

// TestImportDropsNUL: a bbolt database may hold text with NUL characters (written before every input
// went through affiliate.CleanText), which PostgreSQL refuses; the import drops them and says how many
// records had some.
func TestImportDropsNUL(t *testing.T) {
	b, err := store.Open(filepath.Join(t.TempDir(), "k.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	if _, _, err := b.RegisterUser(ctx, affiliate.User{ID: 20, ChatID: 20, FirstName: "A\x00ni", TimeZone: "Asia/Jakarta", DigestMinute: -1}); err != nil {
		t.Fatal(err)
	}
	if err := b.SaveFlow(ctx, affiliate.Flow{UserID: 20, Name: "addproduct", Step: "name", Data: map[string]string{"na\x00me": "Kopi\x00"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Enqueue(ctx, []affiliate.OutboxMessage{{Key: "k", UserID: 20, ChatID: 20, Text: "Halo A\x00ni",
		Buttons: [][]affiliate.Button{{{Text: "O\x00K", Data: "ok"}}}}}); err != nil {
		t.Fatal(err)
	}
	pg := open(t, pgtest.URL(t), time.Now)
	res, err := pg.Import(ctx, reader(t, exportAll(t, b, "bbolt")))
	if err != nil {
		t.Fatal(err)
	}
	if res.NULs != 3 {
		t.Errorf("%d records with NULs, want 3", res.NULs)
	}
	if u, err := pg.GetUser(ctx, 20); err != nil || u.FirstName != "Ani" {
		t.Errorf("user %+v %v", u, err)
	}
	if f, _, err := pg.GetFlow(ctx, 20); err != nil || !reflect.DeepEqual(f.Data, map[string]string{"name": "Kopi"}) {
		t.Errorf("flow %+v %v", f, err)
	}
	if m, err := pg.GetOutboxMessage(ctx, 1); err != nil || m.Text != "Halo Ani" || m.Buttons[0][0].Text != "OK" {
		t.Errorf("message %+v %v", m, err)
	}
}
