package vmclient

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Placeholder replaces every secret, and the value of every credential
// header, in the text a Redactor returns.
const Placeholder = "<redacted>"

// MaxErrorRead bounds how much of an HTTP error answer ReadErrorBody reads:
// the whole of it is redacted before it is cut to the (much smaller) bound
// an error shows, so that a cut never leaves the start of a secret.
const MaxErrorRead = 64 << 10

// credentialHeader matches the name of a header that carries credentials,
// with its separator, as a server or proxy that dumps the request prints
// it: "Authorization: Basic …", `"Authorization":["Bearer …"]`,
// "map[Cookie:[…]]", "x-amz-security-token=…".
const credentialHeader = `(?:proxy-)?authorization|(?:set-)?cookie|x-amz-security-token|x-api-key|x-auth-token`

var (
	// credentialLine is a line that starts with a credential header
	// (after indentation, quotes and curl's "> "): it is dropped.
	credentialLine = regexp.MustCompile(`(?im)^[ \t>*<"'{\[,]*(?:` + credentialHeader + `)["']?[ \t]*[:=].*(?:\r?\n|$)`)
	// credentialInLine is a credential header within a line: the rest of
	// the line is replaced.
	credentialInLine = regexp.MustCompile(`(?i)\b((?:` + credentialHeader + `)["']?[ \t]*[:=]).*`)
)

// Redactor removes secrets from text that came from a server (an error
// answer, an error message) before it is shown: every known secret, as
// sent and as a server may echo it (URL-encoded, JSON- or Go-quoted,
// HTML-escaped), and the value of every credential header a server or
// proxy echoes (Authorization, Proxy-Authorization, Cookie, Set-Cookie,
// X-Amz-Security-Token, X-Api-Key, X-Auth-Token), known or not. Each is
// replaced with Placeholder; a line that starts with such a header is
// dropped. A nil *Redactor knows no secret but still removes the headers.
type Redactor struct {
	forms []string // every secret in every form, longest first
}

// NewRedactor returns a Redactor of the given secrets (the password, the
// bearer token, the base64 text of a basic auth header …); empty ones are
// ignored.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		r.forms = append(r.forms, s, url.QueryEscape(s), url.PathEscape(s), html.EscapeString(s))
		if q := strconv.Quote(s); len(q) >= 2 {
			r.forms = append(r.forms, q[1:len(q)-1])
		}
		for _, escapeHTML := range []bool{true, false} {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(escapeHTML)
			if enc.Encode(s) == nil {
				if q := strings.TrimSpace(b.String()); len(q) >= 2 {
					r.forms = append(r.forms, q[1:len(q)-1])
				}
			}
		}
	}
	slices.SortFunc(r.forms, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	r.forms = slices.Compact(r.forms)
	return r
}

// String returns s without its secrets: every occurrence of a secret is
// replaced with Placeholder (overlapping ones as one), a line that starts
// with a credential header is dropped, and the rest of a line after a
// credential header is replaced with Placeholder.
func (r *Redactor) String(s string) string {
	if r != nil {
		s = r.replace(s)
	}
	s = credentialLine.ReplaceAllString(s, "")
	return credentialInLine.ReplaceAllString(s, "${1} "+Placeholder)
}

// replace replaces every occurrence of a secret's form with Placeholder.
// The spans are found in s as it is and merged, so that overlapping
// secrets leave nothing and a placeholder is never searched.
func (r *Redactor) replace(s string) string {
	type span struct{ from, to int }
	var spans []span
	for _, f := range r.forms {
		for i := 0; i < len(s); {
			j := strings.Index(s[i:], f)
			if j < 0 {
				break
			}
			spans = append(spans, span{i + j, i + j + len(f)})
			i += j + 1
		}
	}
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int { return a.from - b.from })
	var b strings.Builder
	last := 0 // s[:last] is written
	for i := 0; i < len(spans); {
		from, to := spans[i].from, spans[i].to
		for i++; i < len(spans) && spans[i].from <= to; i++ {
			to = max(to, spans[i].to)
		}
		b.WriteString(s[last:from])
		b.WriteString(Placeholder)
		last = to
	}
	b.WriteString(s[last:])
	return b.String()
}

// Error returns err with its message redacted (see String), still
// unwrapping to err; err itself when nothing was removed, nil for nil.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := r.String(msg); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}

// Cut returns text redacted (see String), without surrounding space, and
// then cut to at most limit bytes (ending in "…" when cut). truncated says
// that text is the start of a longer answer (ReadErrorBody): its end, if it
// is the start of a secret that the read bound cut, is dropped first.
// Redacting before cutting means a cut only ever splits a placeholder or
// plain text, never a secret.
func (r *Redactor) Cut(text string, truncated bool, limit int) string {
	if truncated {
		text = r.trimSecretStart(text) + "…"
	}
	text = strings.TrimSpace(r.String(text))
	if len(text) <= limit {
		return text
	}
	const ellipsis = "…"
	n := max(limit-len(ellipsis), 0)
	for n > 0 && !utf8.RuneStart(text[n]) {
		n--
	}
	return text[:n] + ellipsis
}

// trimSecretStart drops the end of s when it is the start of a secret (in
// any of its forms).
func (r *Redactor) trimSecretStart(s string) string {
	if r == nil {
		return s
	}
	cut := 0
	for _, f := range r.forms {
		for n := min(len(f)-1, len(s)); n > cut; n-- {
			if strings.HasSuffix(s, f[:n]) {
				cut = n
				break
			}
		}
	}
	return s[:len(s)-cut]
}

// ReadErrorBody reads the start of an HTTP error answer, at most
// MaxErrorRead bytes; truncated says that there was more. It then discards
// up to 1 MiB more, so that the connection can be reused. Pass the result
// to Redactor.Cut before showing it.
func ReadErrorBody(body io.Reader) (head []byte, truncated bool) {
	head, _ = io.ReadAll(io.LimitReader(body, MaxErrorRead+1))
	if len(head) > MaxErrorRead {
		head, truncated = head[:MaxErrorRead], true
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 1<<20))
	return head, truncated
}

// redactedError is an error whose message had its secrets removed; it still
// unwraps to its cause (for errors.Is(err, context.DeadlineExceeded) and
// the like).
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
