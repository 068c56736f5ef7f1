package source

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/internal/testserver"
)

// TestS3ErrorsHideEchoedCredentials runs list, get and delete through a
// proxy that answers with an S3 error whose message dumps the request's
// headers (the SDK quotes S3's <Message>): the session token and the
// Authorization header's signature must not show, whatever the status
// makes of the error (access problem, retried, other).
func TestS3ErrorsHideEchoedCredentials(t *testing.T) {
	const token = "FwoGZXIvYXdzEBYaDSessionToken0123456789"
	srv := testserver.S3(t)
	srv.CreateBucket(t, bucket)
	key := awsKey("", acct, "us-east-1", false, day("2026-11-27 10:00"), ".log.gz")
	srv.Put(t, bucket, key, []byte("data"))
	dump := func(status int, code string, oneLine bool) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			sep := "\n"
			if oneLine {
				sep = " "
			}
			msg := "request refused:" + sep + "Authorization: " + r.Header.Get("Authorization") + sep +
				"X-Amz-Security-Token: " + r.Header.Get("X-Amz-Security-Token") + sep + "session=" + r.Header.Get("X-Amz-Security-Token")
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(status)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>r</RequestId></Error>`, code, html.EscapeString(msg))
		}
	}
	for _, c := range []struct {
		status  int
		code    string
		oneLine bool
	}{
		{http.StatusBadRequest, "InvalidRequest", false},
		{http.StatusBadRequest, "InvalidRequest", true},
		{http.StatusInternalServerError, "InternalError", true},
		{http.StatusForbidden, "AccessDenied", true},
	} {
		p := newFaultProxy(t, srv.Endpoint(), dump(c.status, c.code, c.oneLine))
		p.faults.Store(1 << 20)
		s := newS3(t, srv, "", func(cfg *S3Config) {
			cfg.Endpoint = p.URL
			cfg.Credentials.SessionToken = token
			cfg.MaxAttempts = 2
		})
		name := fmt.Sprintf("%d %s (one line %v)", c.status, c.code, c.oneLine)
		check := func(op string, err error) {
			t.Helper()
			if err == nil {
				t.Fatalf("%s: %s: no error", name, op)
			}
			msg := err.Error()
			for _, secret := range []string{token[:8], "Signature=", srv.SecretKey} {
				if strings.Contains(msg, secret) {
					t.Errorf("%s: %s: the error shows %q: %s", name, op, secret, msg)
				}
			}
			if !strings.Contains(msg, "s3://"+bucket+"/") || !strings.Contains(msg, fmt.Sprint(c.status)) {
				t.Errorf("%s: %s: the error does not name the bucket and status: %s", name, op, msg)
			}
			if c.code != "AccessDenied" && !strings.Contains(msg, "request refused:") {
				t.Errorf("%s: %s: the error does not quote S3's message: %s", name, op, msg)
			}
		}
		_, err := s.List(context.Background())
		check("list", err)
		rc, err := s.Open(context.Background(), Object{Key: key})
		if err == nil {
			_, err = rc.Read(make([]byte, 1))
			rc.Close()
		}
		check("get", err)
		check("delete", s.Delete(context.Background(), Object{Key: key}))
	}
}
