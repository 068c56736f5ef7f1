package vmclient

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
)

// RequiredDedupInterval is the -dedup.minScrapeInterval the exactly-once
// scheme needs: replayed batches write byte-identical samples, which it
// collapses, and distinct batches write samples 1 ms apart, which it keeps.
const RequiredDedupInterval = time.Millisecond

const dedupFlag = "dedup.minScrapeInterval"

// DedupUnknownError is CheckDedup's error when the setting could not be
// read (no /flags, refused credentials, unreachable). The caller may choose
// to go on (skip_dedup_check) after checking the setting by hand.
type DedupUnknownError struct {
	// URL is the /flags URL that was read.
	URL string
	// Err is why it could not be read.
	Err error
}

// Error implements error.
func (e *DedupUnknownError) Error() string {
	return fmt.Sprintf("cannot check VictoriaMetrics' -%s at %s (%v): the collector needs -%s=1ms; "+
		"check it by hand and set skip_dedup_check to start anyway", dedupFlag, e.URL, e.Err, dedupFlag)
}

// Unwrap returns the cause.
func (e *DedupUnknownError) Unwrap() error { return e.Err }

// CheckDedup reads the storage's -dedup.minScrapeInterval from /flags and
// returns nil when it is exactly 1ms. A smaller or absent setting (off)
// would count replayed batches twice; a larger one would merge the samples
// of distinct batches and drop data; both are errors saying what to set.
// When /flags cannot be read, the error is a *DedupUnknownError.
//
// For a cluster, the flags are read from the vmselect root
// (scheme://host:port/flags of QueryURL), where the setting deduplicates
// at query time, and from the /metrics of every storage node
// (Config.StorageNodes), where it deduplicates the stored samples.
func (c *Client) CheckDedup(ctx context.Context) error {
	flagsURL := c.rootURL + "/flags"
	body, err := c.get(ctx, flagsURL)
	if err != nil {
		return &DedupUnknownError{URL: flagsURL, Err: err}
	}
	where := c.rootURL
	if c.cluster {
		where = "vmselect " + where
	}
	// An answer that is not the flags page is quoted in the error: without
	// the secrets a proxy might echo.
	if err := CheckDedupFlags([]byte(c.redact(string(body))), flagsURL, where); err != nil || !c.cluster {
		return err
	}
	for _, node := range c.nodes {
		st, err := c.readNode(ctx, node, true)
		if err != nil {
			return &DedupUnknownError{URL: node + "/metrics", Err: err}
		}
		if err := checkDedupValue(st.dedup, st.dedup != "", node+"/metrics", "vmstorage "+node); err != nil {
			return err
		}
	}
	return nil
}

// CheckDedupFlags is CheckDedup on the text of a /flags page already read
// from flagsURL, for callers with their own HTTP client (the report
// engine); where names the server in errors. It returns nil when
// -dedup.minScrapeInterval is exactly 1ms, a *DedupUnknownError when the
// text does not say, and an error saying what to set otherwise.
func CheckDedupFlags(flags []byte, flagsURL, where string) error {
	value, found, err := flagValue(flags, dedupFlag)
	if err != nil {
		return &DedupUnknownError{URL: flagsURL, Err: err}
	}
	return checkDedupValue(value, found, flagsURL, where)
}

// checkDedupValue checks the value of -dedup.minScrapeInterval read from
// flagsURL (found is false when the page did not list it: the default,
// off).
func checkDedupValue(value string, found bool, flagsURL, where string) error {
	var err error
	interval := time.Duration(0)
	if found {
		if interval, err = time.ParseDuration(value); err != nil {
			return &DedupUnknownError{URL: flagsURL, Err: fmt.Errorf("-%s=%q: %w", dedupFlag, value, err)}
		}
	}
	// VictoriaMetrics works in whole milliseconds: below 1ms is off.
	switch interval = interval.Truncate(time.Millisecond); {
	case interval == RequiredDedupInterval:
		return nil
	case interval <= 0:
		return fmt.Errorf("VictoriaMetrics at %s: -%s is 0 (off): replayed batches would be counted twice; start it with -%s=1ms",
			where, dedupFlag, dedupFlag)
	default:
		return fmt.Errorf("VictoriaMetrics at %s: -%s is %s: it merges samples less than %s apart, which would drop data; set -%s=1ms",
			where, dedupFlag, interval, interval, dedupFlag)
	}
}

// flagValue finds `-name="value"` in the text of /flags. A flag left at its
// default may be missing (found is false).
func flagValue(flags []byte, name string) (value string, found bool, err error) {
	sc := bufio.NewScanner(bytes.NewReader(flags))
	sawFlag := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "-") {
			continue
		}
		sawFlag = true
		v, ok := strings.CutPrefix(line, "-"+name+"=")
		if !ok {
			continue
		}
		return strings.Trim(v, `"`), true, nil
	}
	if err := sc.Err(); err != nil {
		return "", false, err
	}
	if !sawFlag && len(bytes.TrimSpace(flags)) > 0 {
		return "", false, fmt.Errorf("the answer does not list flags: %.80q", flags)
	}
	return "", false, nil
}
