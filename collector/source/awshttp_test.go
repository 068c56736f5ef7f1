package source

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// sdkBody behaves like smithy-go's request body (a safeReadCloser over a
// WriterTo): once closed, WriteTo answers io.EOF. Its WriteTo also waits
// for the close, as happens when the answer comes back before the
// transport has checked the body for bytes beyond its Content-Length.
type sdkBody struct {
	r      *bytes.Reader
	once   sync.Once
	closed chan struct{}
}

func (b *sdkBody) Read(p []byte) (int, error) {
	select {
	case <-b.closed:
		return 0, io.EOF
	default:
		return b.r.Read(p)
	}
}

func (b *sdkBody) WriteTo(w io.Writer) (int64, error) {
	<-b.closed
	return 0, io.EOF
}

func (b *sdkBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// TestBufferRequestBodies sends a request whose body the caller closes as
// soon as the answer's headers arrive, as the AWS SDK does, and wants the
// whole answer: the transport must not close the connection under it.
// The server sends the answer's second half only once the client has
// closed the connection, or after a quarter second.
func TestBufferRequestBodies(t *testing.T) {
	const half = "<a>" + "é" + "</a>"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil || string(body) != "Action=DescribeVpcs" {
			http.Error(w, fmt.Sprintf("body %q: %v", body, err), http.StatusBadRequest)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(rw, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\nContent-Type: text/xml\r\n\r\n%s", 2*len(half), half)
		rw.Flush()
		closed := make(chan struct{})
		go func() {
			io.Copy(io.Discard, bufio.NewReader(conn)) // returns when the client closes
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(250 * time.Millisecond):
		}
		rw.WriteString(half)
		rw.Flush()
	}))
	defer srv.Close()

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := BufferRequestBodies(&http.Client{Transport: tr})
	for i := range 3 {
		body := &sdkBody{r: bytes.NewReader([]byte("Action=DescribeVpcs")), closed: make(chan struct{})}
		req, err := http.NewRequest(http.MethodPost, srv.URL, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = int64(body.r.Len())
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body.Close() // as smithy-go does once Do returns
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(got) != half+half {
			t.Fatalf("request %d: answer %q, %v; want %q", i, got, err, half+half)
		}
	}
}

// TestBufferRequestBodiesPassThrough checks which requests go as they
// are (none, an empty body, one of unknown length, one over the bound)
// and which as a copy, and that a body shorter than its Content-Length
// is an error naming the request.
func TestBufferRequestBodiesPassThrough(t *testing.T) {
	var sent *http.Request
	c := BufferRequestBodies(doFunc(func(r *http.Request) (*http.Response, error) {
		sent = r
		return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}, nil
	}))
	big := strings.Repeat("x", MaxBufferedRequestBody+1)
	for _, tc := range []struct {
		name string
		body io.ReadCloser
		n    int64
		copy bool
	}{
		{"no body", nil, 0, false},
		{"NoBody", http.NoBody, 0, false},
		{"unknown length", io.NopCloser(strings.NewReader("abc")), -1, false},
		{"over the bound", io.NopCloser(strings.NewReader(big)), int64(len(big)), false},
		{"small", &sdkBody{r: bytes.NewReader([]byte("abc")), closed: make(chan struct{})}, 3, true},
		{"at the bound", io.NopCloser(strings.NewReader(big[1:])), int64(len(big) - 1), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
			req.Body, req.ContentLength = tc.body, tc.n
			if _, err := c.Do(req); err != nil {
				t.Fatal(err)
			}
			if copied := sent.Body != tc.body; copied != tc.copy {
				t.Fatalf("body copied %v, want %v", copied, tc.copy)
			}
			if !tc.copy {
				return
			}
			for i := range 2 { // the body, then GetBody's
				got, err := io.ReadAll(sent.Body)
				if err != nil || int64(len(got)) != tc.n {
					t.Errorf("copy %d: %d bytes, %v; want %d", i, len(got), err, tc.n)
				}
				if sent.Body, err = sent.GetBody(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	t.Run("short body", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/bucket", strings.NewReader("ab"))
		req.ContentLength = 5
		_, err := c.Do(req)
		if err == nil || !strings.Contains(err.Error(), "POST /bucket request body: 2 of 5 bytes") {
			t.Errorf("error %v, want one naming the request and the bytes", err)
		}
	})
}

type doFunc func(*http.Request) (*http.Response, error)

func (f doFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }
