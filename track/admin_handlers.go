package track

import (
	"io"
	"net/http"
	"time"
)

// handleBackup streams a consistent copy of the database to the admin. With no admin token configured
// the route does not exist (404).
func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request) {
	if s.cfg.AdminToken == "" {
		writeError(w, s.log, errRouteNotFound)
		return
	}
	if !s.isAdminToken(bearer(r)) {
		s.unauthorized(w, errUnauthorized)
		return
	}
	// A large database takes longer than the server's write timeout to send.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(30 * time.Minute))
	ext := s.cfg.BackupExt
	if ext == "" {
		ext = ".db"
	}
	name := "keranjang-" + s.now().UTC().Format("20060102T150405Z") + ext
	cw := &countingWriter{w: w, header: func() {
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		h.Set("Cache-Control", "no-store")
	}}
	n, err := s.store.Backup(r.Context(), cw)
	if err != nil {
		if cw.n == 0 {
			writeError(w, s.log, err)
			return
		}
		// The status is already sent; abort so the client sees a broken transfer, not a short file.
		s.log.Error().Err(err).Int64("bytes", cw.n).Msg("backup failed")
		panic(http.ErrAbortHandler)
	}
	s.log.Info().Int64("bytes", n).Msg("backup sent")
}

// countingWriter sets the response headers just before the first byte and counts what was written.
type countingWriter struct {
	w      io.Writer
	header func()
	n      int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.n == 0 && c.header != nil {
		c.header()
		c.header = nil
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
