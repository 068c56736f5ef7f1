package decode

import (
	"fmt"
	"strings"
)

// Reason classifies why an object failed as a whole.
type Reason string

// Reasons an object fails as a whole.
const (
	// Truncated: the compressed stream ends before its end marker.
	Truncated Reason = "truncated"
	// Corrupt: the compressed stream is damaged (bad header, bad data, bad
	// checksum).
	Corrupt Reason = "corrupt"
	// BadHeader: the header line (or the configured format) is unusable:
	// duplicate names, fields that traffic accounting needs are missing, or
	// a first line that reads as a header is longer than
	// Options.MaxLineBytes.
	BadHeader Reason = "bad header"
	// Unreadable: a Parquet object cannot be read (bad footer, bad pages).
	Unreadable Reason = "unreadable"
	// TooLarge: the object decodes to more than Options.MaxObjectBytes, or
	// more than Options.MaxExpansion times its stored size.
	TooLarge Reason = "too large"
)

// ObjectError reports an object that cannot be decoded to its end. None of
// its records may count: the pipeline quarantines the object instead of
// retrying it. Errors of the source itself (a failed read from disk or S3)
// are not ObjectErrors: they are worth retrying.
type ObjectError struct {
	Object string // the object's name: a path or s3://bucket/key
	Reason Reason
	// Offset is the byte offset in the object (as stored, before
	// decompression) where decoding stopped.
	Offset int64
	// Line is the number of text lines read before decoding stopped (for
	// BadHeader: the header's line); zero for Parquet objects.
	Line int64
	Err  error
}

// Error names the object, the reason and the byte offset.
func (e *ObjectError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s at byte %d", e.Object, e.Reason, e.Offset)
	switch {
	case e.Line > 0 && e.Reason == BadHeader:
		fmt.Fprintf(&b, " (line %d)", e.Line)
	case e.Line > 0:
		fmt.Fprintf(&b, " (after line %d)", e.Line)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *ObjectError) Unwrap() error { return e.Err }
