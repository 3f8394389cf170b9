package track

import (
	"log"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// statusWriter records the status and size of a response for metrics and the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

var statusWriterPool = sync.Pool{New: func() any { return new(statusWriter) }}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (the backup route extends its write deadline).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument wraps one route's handler: it counts the request by route pattern and status, observes its
// latency and logs it at debug level. The log names the request id, method, route, status, duration and
// size; never the client address, headers or query (which may carry credentials).
func (s *Server) instrument(route string, h http.HandlerFunc, codes ...int) http.Handler {
	rm := s.m.route(route, codes...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := statusWriterPool.Get().(*statusWriter)
		*sw = statusWriter{ResponseWriter: w}
		defer func() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			rm.observe(status, d.Seconds())
			if e := s.log.Debug(); e.Enabled() {
				e.Str("request_id", requestIDFrom(w)).Str("method", r.Method).Str("route", route).
					Int("status", status).Float64("duration_ms", float64(d.Microseconds())/1000).
					Int64("bytes", sw.bytes).Msg("http request")
			}
			*sw = statusWriter{}
			statusWriterPool.Put(sw)
		}()
		h(sw, r)
	})
}

// requestIDHeader carries each request's id in the response (and, from a proxy that sets it, in the
// request).
const requestIDHeader = "X-Request-Id"

// requestID gives every request a short id: the one a proxy in front already set when it looks sane,
// otherwise a new random one. The id goes into the X-Request-Id response header, where the access log,
// the error log and the panic log of the request read it (request_id).
//
// Basket-link redirects (/r/…) get no X-Request-Id: the answer goes to a buyer's browser, which has no use
// for it, and the redirect is the hot path. Their rare log lines (debug access lines, errors, panics)
// still carry a request_id, made when the line is written (see logRequestID).
func (s *Server) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/r/") {
			next.ServeHTTP(w, r)
			return
		}
		id := r.Header.Get(requestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header()[requestIDHeader] = []string{id}
		next.ServeHTTP(w, r)
	})
}

// withRequestLogger puts the server's logger with the request id into the request's context
// (zerolog.Ctx), for handlers that log through it. The basket-link routes skip it: it costs six
// allocations a request, and their log lines take the id from the response header.
func withRequestLogger(l zerolog.Logger, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rl := l.With().Str("request_id", requestIDFrom(w)).Logger()
		h(w, r.WithContext(rl.WithContext(r.Context())))
	}
}

// requestIDFrom returns the id requestID put in the response header, or a new one for a request that
// has none (a basket-link redirect), so that every log line of a request names an id.
func requestIDFrom(w http.ResponseWriter) string {
	if v := w.Header()[requestIDHeader]; len(v) > 0 {
		return v[0]
	}
	return newRequestID()
}

// newRequestID returns 12 random hex characters: enough to tell requests apart in a log, not a secret.
func newRequestID() string {
	const hex = "0123456789abcdef"
	var b [12]byte
	v := rand.Uint64()
	for i := range b {
		b[i] = hex[v&15]
		v >>= 4
	}
	return string(b[:])
}

// validRequestID accepts an incoming id of 1-64 letters, digits, '-', '_' or '.'.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c == '-' || c == '_' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// recoverer turns a panic in a handler into a logged 500 instead of a dropped connection with a stack on
// stderr. http.ErrAbortHandler passes through: it deliberately aborts a response already under way.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error().Interface("panic", v).Str("request_id", requestIDFrom(w)).Str("method", r.Method).
				Bytes("stack", debug.Stack()).Msg("handler panicked")
			writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal_error"})
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses bodies over MaxBodyBytes: at once with 413 when Content-Length says so, and through
// http.MaxBytesReader (which handlers map to 413) for bodies of unknown length.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			w.Header().Set("Connection", "close")
			writeError(w, s.log, errBodyTooLarge)
			return
		}
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// newStdLogger routes net/http's own error log (TLS handshakes, malformed requests) into zerolog.
func newStdLogger(l zerolog.Logger) *log.Logger {
	return log.New(stdWriter{l}, "", 0)
}

type stdWriter struct{ l zerolog.Logger }

func (w stdWriter) Write(p []byte) (int, error) {
	w.l.Debug().Str("source", "net/http").Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// promLogger routes promhttp's errors into zerolog.
type promLogger struct{ l zerolog.Logger }

func (p promLogger) Println(v ...any) { p.l.Error().Msgf("metrics: %v", v) }
