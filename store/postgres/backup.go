package postgres

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/keranjang/keranjang/internal/safeio"
	"github.com/keranjang/keranjang/store/dump"
)

// Backup writes the whole database to w as a portable dump (package dump), which
// `keranjang migrate --from` restores into an empty database, and returns the number of bytes written.
// Operators of a large database use pg_dump; this is the contract's Backup, behind `keranjang backup`
// and GET /admin/backup.
//
// The dump is first written to a temporary file by Export, in one read-only snapshot transaction that
// lasts only as long as that local write and blocks no writer. The copy to w, which may be a slow
// network client, then runs outside any transaction and holds no connection, so neither writers nor
// Close ever wait for w; ctx is checked between writes. The temporary file is removed before Backup
// returns.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	n, err := s.backup(ctx, w)
	if err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

func (s *Store) backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp("", "keranjang-backup-*.dump")
	if err != nil {
		return 0, err
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	dw, err := dump.NewWriter(tmp, dump.Header{Source: "postgres", Schema: SchemaLatest(), CreatedAt: s.now()})
	if err != nil {
		return 0, err
	}
	if err := s.Export(ctx, dw); err != nil {
		return 0, err
	}
	if err := dw.Close(); err != nil {
		return 0, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(safeio.CtxWriter{Ctx: ctx, W: w}, tmp)
}
