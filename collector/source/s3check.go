package source

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// CheckResult is the outcome of one check of the bucket test.
type CheckResult string

// Check results, from best to worst. SKIP is a check not run because one it
// depends on failed.
const (
	CheckPass CheckResult = "PASS"
	CheckWarn CheckResult = "WARN"
	CheckSkip CheckResult = "SKIP"
	CheckFail CheckResult = "FAIL"
)

// Names of the bucket test's checks, in the order they run.
const (
	CheckCredentials  = "credentials"   // the credentials resolve
	CheckBucket       = "bucket"        // the bucket answers in the configured region
	CheckList         = "list"          // listing under the prefix is allowed
	CheckGet          = "get"           // reading the newest flow log is allowed
	CheckVersioning   = "versioning"    // versioning is off (deleted logs would pile up)
	CheckDelete       = "delete"        // deleting under the prefix is allowed
	CheckHeader       = "header"        // the newest flow log has the fields the reports need
	CheckOtherWriters = "other-writers" // nothing but flow logs under the prefix
)

// Check is one check of the bucket test.
type Check struct {
	Name   string
	Result CheckResult
	Detail string
}

// CheckOptions tune the bucket test.
type CheckOptions struct {
	// KeepObjects is for a source that leaves objects after ingest
	// (delete_after_ingest: false): deleting and versioning do not matter.
	KeepObjects bool
	// MaxKeys bounds the keys read under the prefix looking for other
	// writers and the newest flow log; default 10000. The newest flow log
	// is also looked for with ListSince over the last two days.
	MaxKeys int
	// Now is the time the test runs at; zero means time.Now().
	Now time.Time
}

// markerPrefix starts the name of the object the delete check writes and
// deletes under the prefix.
const markerPrefix = "vpcflow-access-check-"

// WorstResult returns the worst result of the checks: FAIL, then SKIP,
// WARN, PASS.
func WorstResult(checks []Check) CheckResult {
	rank := map[CheckResult]int{CheckPass: 0, CheckWarn: 1, CheckSkip: 2, CheckFail: 3}
	worst := CheckPass
	for _, c := range checks {
		if rank[c.Result] > rank[worst] {
			worst = c.Result
		}
	}
	return worst
}

// Check runs the bucket test behind `vpcflow-collector test`: do the
// credentials resolve, does the bucket answer in the configured region, may
// the collector list, get and delete under the prefix, is versioning off,
// does the newest flow log carry the fields the reports need, and does
// nothing else write under the prefix. It returns every check, in order;
// a check that cannot run because an earlier one failed is SKIP. The delete
// check writes an object named PREFIXvpcflow-access-check-RANDOM and
// deletes it (or, when writing is not allowed, deletes a key that does not
// exist, which S3 answers like a real delete).
func (s *S3) Check(ctx context.Context, opts CheckOptions) []Check {
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = 10000
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	c := &checker{s: s, opts: opts}
	c.credentials(ctx)
	c.bucket(ctx)
	c.list(ctx)
	c.get(ctx)
	c.versioning(ctx)
	c.delete(ctx)
	c.header()
	c.otherWriters()
	return c.out
}

// checker runs the checks and holds what they learn.
type checker struct {
	s    *S3
	opts CheckOptions
	out  []Check

	failed        string // the first failed check that stops the others
	getFailed     bool
	keys          []s3types.Object
	truncated     bool
	newest        *Object
	stats         *decode.Stats
	decodeErr     error
	versionStatus s3types.BucketVersioningStatus
}

func (c *checker) add(name string, r CheckResult, format string, args ...any) {
	c.out = append(c.out, Check{Name: name, Result: r, Detail: fmt.Sprintf(format, args...)})
}

// skipped adds a SKIP when an earlier check failed.
func (c *checker) skipped(name string) bool {
	if c.failed == "" {
		return false
	}
	c.add(name, CheckSkip, "not run: the %s check failed", c.failed)
	return true
}

// fail adds a FAIL. When the check is one the later ones need
// (credentials, bucket, list), they are skipped.
func (c *checker) fail(name, format string, args ...any) {
	c.add(name, CheckFail, format, args...)
	switch name {
	case CheckCredentials, CheckBucket, CheckList:
		if c.failed == "" {
			c.failed = name
		}
	case CheckGet:
		c.getFailed = true
	}
}

// where names the bucket and prefix.
func (c *checker) where() string {
	return "s3://" + c.s.cfg.Bucket + "/" + c.s.cfg.Prefix
}

func (c *checker) credentials(ctx context.Context) {
	creds, err := c.s.credentials.Retrieve(ctx)
	if err != nil {
		// The SDK's credential errors name providers, files and roles,
		// never a secret.
		c.fail(CheckCredentials, "no usable credentials from %s: %v", c.s.credsKind, err)
		return
	}
	detail := fmt.Sprintf("from %s (provider %s, access key %s)", c.s.credsKind, creds.Source, maskKey(creds.AccessKeyID))
	if creds.CanExpire {
		detail += ", expiring " + creds.Expires.UTC().Format(time.RFC3339)
	}
	c.add(CheckCredentials, CheckPass, "%s", detail)
}

func (c *checker) bucket(ctx context.Context) {
	if c.skipped(CheckBucket) {
		return
	}
	out, err := c.s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(c.s.cfg.Bucket)})
	if st := Classify(err); httpStatus(err) != 0 && st != StatusNoSuchBucket && st != StatusTransient {
		// A HEAD answer has no error code: a list request tells a
		// denial from rejected credentials or a wrong region.
		_, lerr := c.s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(c.s.cfg.Bucket), Prefix: aws.String(c.s.cfg.Prefix), MaxKeys: aws.Int32(1)})
		switch lst := Classify(lerr); {
		case lerr == nil && st == StatusAccessDenied:
			// Listing works: HeadBucket alone is denied.
		case lerr == nil:
			err = nil
		case lst.Access() || st != StatusAccessDenied:
			err = lerr
		}
	}
	switch st := Classify(err); {
	case err == nil:
		region := c.s.region
		if out != nil && aws.ToString(out.BucketRegion) != "" {
			region = aws.ToString(out.BucketRegion)
		}
		c.add(CheckBucket, CheckPass, "bucket %s answers in region %s", c.s.cfg.Bucket, region)
	case st == StatusAccessDenied:
		c.add(CheckBucket, CheckWarn, "bucket %s exists, but HeadBucket is denied (it needs s3:ListBucket)", c.s.cfg.Bucket)
	case st.Access():
		c.fail(CheckBucket, "%v", c.s.wrapErr("check", "", err))
	default:
		c.fail(CheckBucket, "bucket %s does not answer: %v", c.s.cfg.Bucket, err)
	}
}

func (c *checker) list(ctx context.Context) {
	if c.skipped(CheckList) {
		return
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(c.s.cfg.Bucket), Prefix: aws.String(c.s.cfg.Prefix)}
	if c.s.cfg.PageSize > 0 {
		in.MaxKeys = aws.Int32(c.s.cfg.PageSize)
	}
	p := s3.NewListObjectsV2Paginator(c.s.client, in)
	for p.HasMorePages() {
		if len(c.keys) >= c.opts.MaxKeys {
			c.truncated = true
			break
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			c.fail(CheckList, "%v", c.s.wrapErr("list", c.s.cfg.Prefix, err))
			return
		}
		c.keys = append(c.keys, page.Contents...)
	}
	flowLogs := 0
	for _, o := range c.keys {
		if key := aws.ToString(o.Key); IsFlowLog(key) {
			flowLogs++
			c.consider(objectOf(o))
		}
	}
	// The newest objects are in the latest date folders, which a
	// truncated listing may not have reached.
	recent, err := c.s.ListSince(ctx, c.opts.Now.AddDate(0, 0, -2))
	if err != nil {
		c.fail(CheckList, "%v", err)
		return
	}
	for _, o := range recent {
		c.consider(o)
	}
	read := fmt.Sprintf("%d keys", len(c.keys))
	if c.truncated {
		read = fmt.Sprintf("the first %d keys", len(c.keys))
	}
	detail := fmt.Sprintf("listed %s under %s: %d flow logs", read, c.where(), flowLogs)
	if len(recent) > 0 {
		detail += fmt.Sprintf(", %d in the last two days' folders", len(recent))
	}
	if c.newest == nil {
		c.add(CheckList, CheckWarn, "%s; no flow log yet (AWS delivers every 5 or 10 minutes; check the flow log's destination and prefix)", detail)
		return
	}
	c.add(CheckList, CheckPass, "%s", detail)
}

func (c *checker) consider(o Object) {
	if c.newest == nil || o.ModTime.After(c.newest.ModTime) || o.ModTime.Equal(c.newest.ModTime) && o.Key > c.newest.Key {
		c.newest = &o
	}
}

// errStop stops decoding after the first record.
var errStop = errors.New("first record read")

func (c *checker) get(ctx context.Context) {
	if c.skipped(CheckGet) {
		return
	}
	if c.newest == nil {
		c.add(CheckGet, CheckWarn, "no flow log to read under %s", c.where())
		return
	}
	o := *c.newest
	rc, err := c.s.Open(ctx, o)
	if err != nil {
		c.fail(CheckGet, "%v", err)
		return
	}
	defer rc.Close()
	st, err := decode.Stream("s3://"+c.s.cfg.Bucket+"/"+o.Key, rc, decode.Options{MaxSamples: -1}, func(*flowlog.Record) error { return errStop })
	c.stats = st
	var oe *decode.ObjectError
	switch {
	case err == nil || errors.Is(err, errStop):
	case errors.As(err, &oe):
		c.decodeErr = err // the object was read: the header check tells
	default:
		c.fail(CheckGet, "%v", err)
		return
	}
	c.add(CheckGet, CheckPass, "read the newest flow log, %s (%d bytes, %s)", o.Key, o.Size, o.ModTime.UTC().Format(time.RFC3339))
}

func (c *checker) versioning(ctx context.Context) {
	if c.skipped(CheckVersioning) {
		return
	}
	out, err := c.s.client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(c.s.cfg.Bucket)})
	if err != nil {
		if c.opts.KeepObjects {
			c.add(CheckVersioning, CheckPass, "not read (%s); objects are kept after ingest, so versions do not pile up", Classify(err))
			return
		}
		c.add(CheckVersioning, CheckWarn, "cannot read the bucket's versioning (%v): if it is enabled, every deleted flow log stays as a noncurrent version and storage keeps growing", c.s.wrapErr("get versioning of", "", err))
		return
	}
	c.versionStatus = out.Status
	switch {
	case c.opts.KeepObjects:
		c.add(CheckVersioning, CheckPass, "versioning %q; objects are kept after ingest, so versions do not pile up", statusName(out.Status))
	case out.Status == s3types.BucketVersioningStatusEnabled:
		if rule := c.noncurrentExpiry(ctx); rule != "" {
			c.add(CheckVersioning, CheckWarn, "versioning is enabled: each deleted flow log stays as a noncurrent version, but lifecycle rule %s expires them", rule)
			return
		}
		c.add(CheckVersioning, CheckFail, "versioning is enabled on bucket %s: every flow log the collector deletes stays as a noncurrent version and storage keeps growing; suspend versioning, or add a lifecycle rule expiring noncurrent versions under the prefix, or set delete_after_ingest: false", c.s.cfg.Bucket)
	case out.Status == s3types.BucketVersioningStatusSuspended:
		c.add(CheckVersioning, CheckWarn, "versioning is suspended: deletes now remove objects, but versions made while it was enabled remain")
	default:
		c.add(CheckVersioning, CheckPass, "versioning was never enabled: deleted flow logs are gone")
	}
}

func statusName(s s3types.BucketVersioningStatus) string {
	if s == "" {
		return "never enabled"
	}
	return string(s)
}

// noncurrentExpiry returns the ID of an enabled lifecycle rule expiring
// noncurrent versions under the prefix, or "".
func (c *checker) noncurrentExpiry(ctx context.Context) string {
	out, err := c.s.client.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String(c.s.cfg.Bucket)})
	if err != nil {
		return ""
	}
	for _, r := range out.Rules {
		if r.Status != s3types.ExpirationStatusEnabled || r.NoncurrentVersionExpiration == nil {
			continue
		}
		//lint:ignore SA1019 rules written before filters existed still use Prefix
		prefix := aws.ToString(r.Prefix)
		if r.Filter != nil && r.Filter.Prefix != nil {
			prefix = aws.ToString(r.Filter.Prefix)
		}
		if strings.HasPrefix(c.s.cfg.Prefix, prefix) {
			if id := aws.ToString(r.ID); id != "" {
				return id
			}
			return "(unnamed)"
		}
	}
	return ""
}

func (c *checker) delete(ctx context.Context) {
	if c.skipped(CheckDelete) {
		return
	}
	if c.opts.KeepObjects {
		c.add(CheckDelete, CheckPass, "not needed: objects are kept after ingest (delete_after_ingest: false)")
		return
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	key := c.s.cfg.Prefix + markerPrefix + hex.EncodeToString(rnd[:])
	put, err := c.s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(c.s.cfg.Bucket), Key: aws.String(key),
		Body: bytes.NewReader([]byte("written and deleted by vpcflow-collector test\n")),
	})
	if err != nil {
		if Classify(err) != StatusAccessDenied {
			c.fail(CheckDelete, "%v", c.s.wrapErr("put marker", key, err))
			return
		}
		// Not allowed to write (the collector does not need to): S3
		// answers a delete of a missing key as it would a real one.
		if err := c.s.Delete(ctx, Object{Key: key}); err != nil {
			c.fail(CheckDelete, "%v", err)
			return
		}
		c.add(CheckDelete, CheckPass, "delete allowed under %s (checked on a key that does not exist: writing the marker %s is denied, which the collector does not need)", c.where(), key)
		return
	}
	if err := c.s.Delete(ctx, Object{Key: key, Version: strings.Trim(aws.ToString(put.ETag), `"`)}); err != nil {
		c.fail(CheckDelete, "wrote the marker %s but %v", key, err)
		return
	}
	if _, err := c.s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(c.s.cfg.Bucket), Key: aws.String(key)}); Classify(err) != StatusNotFound {
		c.fail(CheckDelete, "deleted the marker %s, yet it is still there (%v)", key, err)
		return
	}
	detail := fmt.Sprintf("wrote and deleted the marker %s", key)
	if c.versionStatus != "" {
		detail += c.removeVersions(ctx, key)
	}
	c.add(CheckDelete, CheckPass, "%s", detail)
}

// removeVersions deletes the marker's versions and delete markers in a
// versioned bucket, and says how that went.
func (c *checker) removeVersions(ctx context.Context, key string) string {
	out, err := c.s.client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(c.s.cfg.Bucket), Prefix: aws.String(key)})
	if err != nil {
		return fmt.Sprintf("; its versions remain (%s)", Classify(err))
	}
	var ids []*string
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == key {
			ids = append(ids, v.VersionId)
		}
	}
	for _, m := range out.DeleteMarkers {
		if aws.ToString(m.Key) == key {
			ids = append(ids, m.VersionId)
		}
	}
	for _, id := range ids {
		if _, err := c.s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(c.s.cfg.Bucket), Key: aws.String(key), VersionId: id}); err != nil {
			return fmt.Sprintf("; its versions remain (%s)", Classify(err))
		}
	}
	return fmt.Sprintf("; removed its %d versions and delete markers", len(ids))
}

// reportsWithout names, for each field the header should carry, the
// reports that are empty without it.
var reportsWithout = []struct {
	field   flowlog.Field
	reports string
}{
	{flowlog.LogStatus, "log status and the SKIPDATA (lost records) health"},
	{flowlog.VPCID, "VPCs and exporters"},
	{flowlog.InterfaceID, "interface, pair interface and action with interface"},
	{flowlog.FlowDirection, "traffic path, pair direction and application direction"},
}

func (c *checker) header() {
	if c.skipped(CheckHeader) {
		return
	}
	if c.getFailed {
		c.add(CheckHeader, CheckSkip, "not run: the get check failed")
		return
	}
	if c.stats == nil || c.stats.Format == nil {
		if c.newest == nil {
			c.add(CheckHeader, CheckWarn, "no flow log to read the fields of")
		} else {
			c.add(CheckHeader, CheckWarn, "the fields of %s could not be read: %v", c.newest.Key, c.decodeErr)
		}
		return
	}
	format := c.stats.Format
	if !c.stats.Header {
		c.add(CheckHeader, CheckWarn, "%s has no header line: its records are decoded with the source's format (default v2); make sure it matches", c.newest.Key)
		return
	}
	required := flowlog.SetOf(flowlog.Required()...)
	var fails, warns []string
	for _, r := range reportsWithout {
		if format.Has(r.field) {
			continue
		}
		msg := fmt.Sprintf("without %s, these reports are empty: %s", r.field, r.reports)
		if required.Has(r.field) {
			fails = append(fails, msg)
		} else {
			warns = append(warns, msg)
		}
	}
	if missing := format.MissingRequired(); len(missing) > 0 {
		fails = append([]string{fmt.Sprintf("the decoder rejects every object lacking %s", flowlog.FieldList(missing, false))}, fails...)
	}
	switch {
	case len(fails) > 0:
		c.add(CheckHeader, CheckFail, "%s: %s", c.newest.Key, strings.Join(append(fails, warns...), "; "))
	case len(warns) > 0:
		c.add(CheckHeader, CheckWarn, "%s: %s; add the fields to the flow log's format", c.newest.Key, strings.Join(warns, "; "))
	default:
		c.add(CheckHeader, CheckPass, "%s has %s (%d fields)", c.newest.Key, "log-status, vpc-id, interface-id and flow-direction", format.Len())
	}
}

func (c *checker) otherWriters() {
	if c.skipped(CheckOtherWriters) {
		return
	}
	var foreign []string
	for _, o := range c.keys {
		key := aws.ToString(o.Key)
		if strings.HasPrefix(key, c.s.cfg.Prefix+markerPrefix) || strings.HasSuffix(key, "/") && aws.ToInt64(o.Size) == 0 {
			continue // our marker, a console "folder"
		}
		if _, region := KeyContext(key); !IsFlowLog(key) || region == "" {
			foreign = append(foreign, key)
		}
	}
	read := fmt.Sprintf("the %d keys", len(c.keys))
	if c.truncated {
		read = fmt.Sprintf("the first %d keys", len(c.keys))
	}
	if len(foreign) == 0 {
		c.add(CheckOtherWriters, CheckPass, "%s under %s are all flow logs in the AWS layout", read, c.where())
		return
	}
	examples := foreign[:min(len(foreign), 3)]
	detail := fmt.Sprintf("%d of %s under %s are not flow logs in the AWS layout (e.g. %s): something else writes there",
		len(foreign), read, c.where(), strings.Join(examples, ", "))
	if !c.opts.KeepObjects {
		detail += "; objects named like flow logs (.log, .log.gz, .log.parquet) would be ingested and deleted, others are left alone; narrow the prefix to the flow log's folder"
	}
	c.add(CheckOtherWriters, CheckWarn, "%s", detail)
}
