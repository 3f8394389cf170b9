package postgres

import (
	"context"
	"io"
)

// Backup: see store.Store.Backup.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	return 0, errNotImplemented
}
