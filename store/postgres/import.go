package postgres

import (
	"context"

	"github.com/keranjang/keranjang/store/dump"
)

// Import loads a dump into an empty database.
func (s *Store) Import(ctx context.Context, r *dump.Reader) (dump.Counts, error) {
	return nil, errNotImplemented
}
