package bot

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWholeBody checks that a streamed body arrives intact, with a Content-Length up to maxWholeBody and
// chunked above it, and that the caller's request is not changed.
func TestWholeBody(t *testing.T) {
	type seen struct {
		length  int64
		chunked bool
		body    []byte
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{length: r.ContentLength, chunked: len(r.TransferEncoding) > 0, body: body}
	}))
	defer srv.Close()
	client := &http.Client{Transport: wholeBody{next: http.DefaultTransport}}

	for _, tc := range []struct {
		name    string
		size    int
		chunked bool
	}{
		{name: "form", size: 700},
		{name: "limit", size: maxWholeBody},
		{name: "large upload", size: maxWholeBody + 1, chunked: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := bytes.Repeat([]byte("x"), tc.size)
			pr, pw := io.Pipe()
			go func() { _, _ = pw.Write(want); _ = pw.Close() }()
			req, err := http.NewRequest(http.MethodPost, srv.URL, pr)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			s := <-got
			if !bytes.Equal(s.body, want) {
				t.Errorf("body: got %d bytes, want %d", len(s.body), len(want))
			}
			if s.chunked != tc.chunked {
				t.Errorf("chunked = %v, want %v", s.chunked, tc.chunked)
			}
			if !tc.chunked && s.length != int64(tc.size) {
				t.Errorf("Content-Length = %d, want %d", s.length, tc.size)
			}
			if req.ContentLength != 0 || req.GetBody != nil {
				t.Error("the caller's request was changed")
			}
		})
	}

	// A body with a known length goes through untouched.
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("offset=1"))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := <-got; string(s.body) != "offset=1" || s.length != 8 {
		t.Errorf("known length: got %q, length %d", s.body, s.length)
	}
}
