package source

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// MaxBufferedRequestBody is the largest request body BufferRequestBodies
// reads into memory; larger ones (an upload) go to the transport as the
// SDK built them.
const MaxBufferedRequestBody = 1 << 20

// HTTPClient is the interface of the AWS SDK's HTTP clients
// (aws.HTTPClient, smithyhttp.ClientDo).
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

// BufferRequestBodies wraps next so that every request body of at most
// MaxBufferedRequestBody bytes reaches the transport as an in-memory copy.
//
// It works around a race between smithy-go and net/http (aws-sdk-go-v2
// issue 2737): the SDK closes the request body as soon as the response
// headers arrive, and its closed body answers io.EOF from WriteTo, which
// the transport's writer, still checking the body for bytes beyond its
// Content-Length, takes for a write error: it closes the connection
// under the response. The answer then fails as "use of closed network
// connection" (retried), or, when the XML decoder stops inside a
// character, as "invalid UTF-8" (not retried). On loopback, where the
// answer comes back at once, about one request in a few hundred hit it.
// The SDK's own reference to the body is left to the SDK: it reads and
// closes its copy; the transport gets a bytes.Reader it alone owns.
func BufferRequestBodies(next HTTPClient) HTTPClient {
	return bufferedBodies{next}
}

type bufferedBodies struct{ next HTTPClient }

// Do sends r with its body read into memory (see BufferRequestBodies).
func (c bufferedBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength <= 0 || r.ContentLength > MaxBufferedRequestBody {
		return c.next.Do(r)
	}
	b := make([]byte, r.ContentLength)
	n, err := io.ReadFull(r.Body, b)
	if err != nil {
		return nil, fmt.Errorf("read the %s %s request body: %d of %d bytes: %w", r.Method, r.URL.Path, n, r.ContentLength, err)
	}
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(b))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return c.next.Do(r2)
}
