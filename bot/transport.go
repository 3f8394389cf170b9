package bot

import (
	"bytes"
	"io"
	"net/http"
)

// maxWholeBody is the largest request body wholeBody sends in one piece; longer ones (big uploads) are
// streamed as before, their first part from memory.
const maxWholeBody = 1 << 20

// wholeBody sends a request body of unknown length with a Content-Length. go-telegram streams every
// multipart form through an io.Pipe, so without this each call goes out as a chunked body, and the
// transport flushes every chunk: one write system call (and one pipe hand-off) per form part instead
// of one for the whole request.
type wholeBody struct{ next http.RoundTripper }

func (t wholeBody) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength != 0 {
		return t.next.RoundTrip(req)
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, maxWholeBody+1))
	if err != nil {
		_ = req.Body.Close()
		return nil, err
	}
	r := req.WithContext(req.Context()) // a shallow copy: a RoundTripper must not change the caller's request
	if len(data) > maxWholeBody {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(data), req.Body), req.Body}
		return t.next.RoundTrip(r)
	}
	_ = req.Body.Close()
	r.ContentLength = int64(len(data))
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return t.next.RoundTrip(r)
}
