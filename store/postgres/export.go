package postgres

import (
	"context"

	"github.com/keranjang/keranjang/store/dump"
)

// Export writes the whole database to w as a portable dump.
func (s *Store) Export(ctx context.Context, w *dump.Writer) error {
	return errNotImplemented
}

// DumpCounts returns the number of items of each kind the database holds.
func (s *Store) DumpCounts(ctx context.Context) (dump.Counts, error) {
	return nil, errNotImplemented
}
