package storetest

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/keranjang/keranjang/affiliate"
)

// stallWait bounds how long the backup test waits for something that must not depend on the backup's
// writer. It is generous so that a slow machine does not fail the test; a store that waits for the
// writer never gets there.
const stallWait = 2 * time.Minute

// signalWriter closes started at the first write, then passes writes on to w.
type signalWriter struct {
	once    sync.Once
	started chan struct{}
	w       io.Writer
}

func (s *signalWriter) Write(p []byte) (int, error) {
	s.once.Do(func() { close(s.started) })
	return s.w.Write(p)
}

// testBackupDoesNotBlockWriters starts a backup into a writer nobody reads and checks that, while it is
// stuck there, a few megabytes of clicks (enough to make a file-backed store grow its file and remap it)
// are recorded and the store closes.
func testBackupDoesNotBlockWriters(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.seller(t, 10, "Toko")
	f.user(t, 20, "Ani")
	l := f.join(t, 20, f.product(t, 10, "Kopi", 1000).ID)

	pr, pw := io.Pipe()
	w := &signalWriter{started: make(chan struct{}), w: pw}
	backupDone := make(chan error, 1)
	unblock := sync.OnceFunc(func() {
		_ = pr.CloseWithError(errors.New("reader gone"))
	})
	t.Cleanup(unblock) // before the store is closed, whatever happens
	go func() {
		_, err := f.s.Backup(t.Context(), w)
		backupDone <- err
	}()
	select {
	case <-w.started:
	case err := <-backupDone:
		t.Fatalf("backup ended before writing: %v", err)
	case <-time.After(stallWait):
		t.Fatal("backup wrote nothing")
	}

	// The backup is now stuck in a write that nobody reads.
	writes := make(chan error, 1)
	go func() {
		at := f.clock.Now()
		for b := range 20 {
			batch := make([]affiliate.Click, 1000)
			for i := range batch {
				at = at.Add(time.Second)
				batch[i] = click(l, fmt.Sprintf("%s%05d%04d", "b", b, i), at, uint64(i))
			}
			if _, err := f.s.RecordClicks(t.Context(), batch); err != nil {
				writes <- err
				return
			}
		}
		writes <- nil
	}()
	select {
	case err := <-writes:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(stallWait):
		t.Fatal("clicks were not recorded while a backup waited for its reader")
	}
	if c, err := f.s.LinkCounts(t.Context(), l.Code, time.Time{}, time.Time{}); err != nil || c.Clicks != 20000 {
		t.Fatalf("counts %+v %v", c, err)
	}
	select {
	case err := <-backupDone:
		t.Fatalf("backup ended though nobody read it: %v", err)
	default:
	}

	closed := make(chan error, 1)
	go func() { closed <- f.s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("close: %v", err)
		}
	case <-time.After(stallWait):
		t.Fatal("close waited for a backup's reader")
	}

	unblock()
	select {
	case err := <-backupDone:
		if err == nil {
			t.Fatal("backup to a closed reader succeeded")
		}
	case <-time.After(stallWait):
		t.Fatal("backup did not end after its reader went away")
	}
}
