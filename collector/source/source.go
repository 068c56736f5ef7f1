// Package source lists, opens and deletes flow log objects where they
// arrive: a local folder (Dir) or an S3 bucket (S3), each built from its
// configuration by New.
package source

import (
	"context"
	"io"
	"strings"
	"time"
)

// Object is one flow log object of a source.
type Object struct {
	// Key names the object within its source: a '/'-separated path, as S3
	// keys are.
	Key string
	// Version tells two objects under the same key apart (an S3 ETag, or a
	// file's size and modification time).
	Version string
	Size    int64
	ModTime time.Time
}

// Source is a place flow log objects arrive.
type Source interface {
	// Name is the source's configured name.
	Name() string
	// List returns the flow log objects there now, ordered by key.
	List(ctx context.Context) ([]Object, error)
	// Open opens an object for reading, failing (with ErrChanged) when it
	// is no longer the version listed. For a local file the reader is an
	// *os.File, which Parquet decoding reads at random offsets.
	Open(ctx context.Context, o Object) (io.ReadCloser, error)
	// Delete removes an object once its data is stored, unless it is no
	// longer the version listed (then its new data is still to be read).
	Delete(ctx context.Context, o Object) error
}

// IsFlowLog reports whether a key names a flow log object as AWS writes
// them: .log.gz, .log or .log.parquet. Other objects (and ".partial" files
// still being written) are ignored.
func IsFlowLog(key string) bool {
	return strings.HasSuffix(key, ".log.gz") || strings.HasSuffix(key, ".log") || strings.HasSuffix(key, ".log.parquet")
}

// KeyContext returns the account and region an AWS key layout names:
// AWSLogs/{account}/vpcflowlogs/{region}/… or the Hive-compatible
// AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/….
// Either is empty when the key does not say.
func KeyContext(key string) (account, region string) {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		if p != "AWSLogs" || i+3 >= len(parts) {
			continue
		}
		if acct, ok := strings.CutPrefix(parts[i+1], "aws-account-id="); ok {
			reg, _ := strings.CutPrefix(parts[i+3], "aws-region=")
			if strings.HasPrefix(parts[i+2], "aws-service=vpcflowlogs") {
				return acct, reg
			}
			return acct, ""
		}
		if parts[i+2] == "vpcflowlogs" {
			return parts[i+1], parts[i+3]
		}
		return parts[i+1], ""
	}
	return "", ""
}

// KeyTime returns the time an AWS flow log key names: the end of its
// delivery interval, written as _YYYYMMDDTHHmmZ_ in the file name
// (…_vpcflowlogs_us-east-1_fl-0123_20260101T0005Z_1d8cb872.log.gz). It
// returns false when the key has none.
func KeyTime(key string) (time.Time, bool) {
	name := key[strings.LastIndexByte(key, '/')+1:]
	for i := 0; i+15 <= len(name); i++ {
		j := strings.IndexByte(name[i:], '_')
		if j < 0 {
			break
		}
		i += j
		if i+15 < len(name) && name[i+14] == 'Z' && name[i+9] == 'T' && (name[i+15] == '_' || name[i+15] == '.') {
			if t, err := time.Parse("20060102T1504Z", name[i+1:i+15]); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// CompareByKeyTime orders objects by the time their keys name (objects
// whose keys name none first), then by key: oldest first, the same way in
// every listing of the same keys.
func CompareByKeyTime(a, b Object) int {
	ta, _ := KeyTime(a.Key)
	tb, _ := KeyTime(b.Key)
	if c := ta.Compare(tb); c != 0 {
		return c
	}
	return strings.Compare(a.Key, b.Key)
}
