package track

import (
	"net/http"
	"net/url"
	"testing"
)

// discardWriter is a minimal ResponseWriter for in-process benchmarks: it keeps the status and reuses
// its header map, so the benchmark measures the handler and not the recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func newDiscardWriter() *discardWriter { return &discardWriter{h: make(http.Header, 4)} }

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(b), nil
}
func (w *discardWriter) reset() {
	clear(w.h)
	w.status = 0
}

func benchRequest(path string) *http.Request {
	return &http.Request{
		Method:     http.MethodGet,
		URL:        &url.URL{Path: path},
		Header:     http.Header{"User-Agent": {browserUA}},
		RemoteAddr: "203.0.113.9:1234",
		Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: http.NoBody,
	}
}

// BareHandler is the floor BenchmarkRedirect is compared with: a plain handler that only sets Location
// and answers 302.
func bareHandler(w http.ResponseWriter, r *http.Request) {
	w.Header()["Location"] = []string{"https://shop.example.com/p/batik?ref=abc&x=1&kclid=AbCdEfGh12345678"}
	w.WriteHeader(http.StatusFound)
}

// BenchmarkRedirect runs GET /r/{code} through the server's whole handler chain (mux, metrics, recover,
// body limit) with a real store, in parallel. The click writer runs as in production; clicks it could not
// take are reported as dropped/op.
func BenchmarkRedirect(b *testing.B) {
	f := newFixture(b, nil)
	h := f.srv.Handler()
	path := "/r/" + f.linkAX.Code
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := newDiscardWriter()
		r := benchRequest(path)
		for pb.Next() {
			w.reset()
			h.ServeHTTP(w, r)
			if w.status != http.StatusFound {
				b.Errorf("status %d", w.status)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(f.srv.Dropped())/float64(b.N), "dropped/op")
}

// BenchmarkBareRedirect is the bare handler through a ServeMux with the same pattern, for comparison.
func BenchmarkBareRedirect(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /r/{code}", bareHandler)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := newDiscardWriter()
		r := benchRequest("/r/AbCdEfGh")
		for pb.Next() {
			w.reset()
			mux.ServeHTTP(w, r)
		}
	})
}
