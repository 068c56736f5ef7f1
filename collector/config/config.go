// Package config reads and checks the collector's YAML configuration. Its
// sections are the components' own configurations, with their defaults
// (vmclient, pipeline, status, spool, entitysync, one source.Config per source); this package composes them, fills in what a file leaves out
// from their DefaultConfig, and checks the whole. Every error names the
// field it is about, such as "sources[1].path", and where the file has it
// (FieldError).
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"

	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/entitysync"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/ledger"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/collector/spool"
	"github.com/vpcflow/vpcflow/collector/status"
	"github.com/vpcflow/vpcflow/vmclient"
)

// Config is the collector's configuration.
type Config struct {
	// StateDir holds the ledger and other state; relative paths are taken
	// from the configuration file's folder.
	StateDir string `yaml:"state_dir"`
	// Instance places this collector among several writing to the same
	// storage: each owns its own slots (docs/guarantees.md).
	Instance    Instance             `yaml:"instance"`
	Storage     vmclient.Config      `yaml:"storage"`
	Aggregation pipeline.Aggregation `yaml:"aggregation"`
	Decode      decode.Options       `yaml:"decode"`
	Batch       pipeline.Batch       `yaml:"batch"`
	// Overload pauses the most recently added sources when the collector
	// cannot keep up; Limits bounds the sources and exporters collected.
	Overload pipeline.Overload `yaml:"overload"`
	Limits   pipeline.Limits   `yaml:"limits"`
	Server   status.Config     `yaml:"server"`
	Log      Log               `yaml:"log"`
	Spool    spool.Config      `yaml:"spool"`
	// Sync is the entity sync's section (names of VPCs, subnets,
	// interfaces, instances and zones from the EC2 API).
	Sync entitysync.Config `yaml:"sync"`
	// Rank was the rank index's section; the index is gone (issue 13: the
	// address families are bounded and reports read them directly). A file
	// that still has the section loads, whatever it holds, and Warnings
	// says that it is ignored.
	Rank    Ignored         `yaml:"rank"`
	Sources []source.Config `yaml:"sources"`
}

// Ignored is a section the collector no longer has: it accepts any
// content and keeps only whether the file gave it.
type Ignored struct {
	// Given is true when the file has the section.
	Given bool
}

// UnmarshalYAML accepts any content.
func (i *Ignored) UnmarshalYAML([]byte) error {
	i.Given = true
	return nil
}

// Warnings returns, one message each, what the configuration has that the
// collector ignores (an obsolete section): run logs them once at start.
func (c *Config) Warnings() []string {
	var w []string
	if c.Rank.Given {
		w = append(w, "the configuration's rank section is ignored: the rank index was removed (reports read the bounded src, dst, app and pair families directly); remove the section")
	}
	return w
}

// Pipeline returns the pipeline's sections.
func (c *Config) Pipeline() pipeline.Config {
	return pipeline.Config{Aggregation: c.Aggregation, Decode: c.Decode, Batch: c.Batch, Overload: c.Overload, Limits: c.Limits}
}

// Share returns the part of the sources this instance takes (instance:
// index of count), by flow log (source.Share).
func (c *Config) Share() source.Share {
	return source.Share{Index: c.Instance.Index, Count: c.Instance.Count}
}

// LedgerPath returns the collector's ledger, <state_dir>/ledger.db.
func (c *Config) LedgerPath() string { return filepath.Join(c.StateDir, "ledger.db") }

// LedgerOptions returns the options of the collector's ledger: the slots
// of this instance.
func (c *Config) LedgerOptions() ledger.Options {
	return ledger.Options{Instance: c.Instance.Index, Instances: c.Instance.Count}
}

// DownloaderLedgerPath returns the downloader role's ledger of what it
// handed over, <state_dir>/downloader.db.
func (c *Config) DownloaderLedgerPath() string { return filepath.Join(c.StateDir, "downloader.db") }

// OpenLedger opens the collector's ledger (LedgerPath, with
// LedgerOptions), creating state_dir.
func (c *Config) OpenLedger() (*ledger.Ledger, error) {
	return c.openLedger(c.LedgerPath(), c.LedgerOptions())
}

// OpenDownloaderLedger opens the downloader role's ledger
// (DownloaderLedgerPath), creating state_dir.
func (c *Config) OpenDownloaderLedger() (*ledger.Ledger, error) {
	return c.openLedger(c.DownloaderLedgerPath(), ledger.Options{})
}

func (c *Config) openLedger(path string, opts ledger.Options) (*ledger.Ledger, error) {
	if err := os.MkdirAll(c.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	return ledger.Open(path, opts)
}

// Log configures the collector's logs.
type Log struct {
	// File receives the main log (JSON lines unless --log-format says
	// otherwise); default stderr.
	File string `yaml:"file"`
	// SourceDir holds one JSON-lines log per source of the problems on the
	// source's side (access errors, quarantined objects), for the bucket's
	// owners; default <state_dir>/source-logs.
	SourceDir string `yaml:"source_dir"`
	// SourceMaxMB rotates a source log when it grows past this many
	// megabytes; default 10. SourceFiles rotated files are kept; default 3.
	SourceMaxMB int `yaml:"source_max_mb"`
	SourceFiles int `yaml:"source_files"`
}

// Instance is this collector's place among Count collectors.
type Instance struct {
	Index int `yaml:"index"`
	Count int `yaml:"count"`
}

// MaxSourceName bounds a source's name in bytes: it names the source's
// spool folder and log file (with a rotation time stamp when rotated),
// which file systems allow 255 bytes.
const MaxSourceName = 200

// Load reads and checks the configuration file at path. Its errors are
// *FieldError values (joined), each naming the file, line and field.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(data, filepath.Dir(path), path)
}

// Parse reads and checks a configuration; relative paths are taken from
// dir. Its errors are *FieldError values (joined), each naming the field
// and, when the configuration has it, its line.
func Parse(data []byte, dir string) (*Config, error) {
	return parse(data, dir, "")
}

// parse reads and checks a configuration; file names it in errors.
func parse(data []byte, dir, file string) (*Config, error) {
	s := newShape()
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey()) // shape names a key given twice
	if err != nil {
		// The library's message, without the source lines around the
		// error: they may hold a secret.
		return nil, joinProblems(s.collect(err, file))
	}
	s.document(f)
	if len(s.problems) > 0 {
		for _, p := range s.problems {
			p.File = file
		}
		return nil, joinProblems(s.problems)
	}
	// aggregation.top_k and overload.max_lag are preset: their zero values
	// mean keep every label set and never pause, not the default.
	c := Config{Aggregation: pipeline.Aggregation{TopK: pipeline.DefaultTopK}, Overload: pipeline.DefaultConfig().Overload}
	if err := yaml.UnmarshalWithOptions(data, &c, yaml.DisallowUnknownField()); err != nil {
		return nil, joinProblems(s.collect(err, file))
	}
	if _, ok := s.keys["rank"]; ok {
		c.Rank.Given = true // also when empty, which the decoder skips
	}
	c.setDefaults(dir)
	if err := c.check(); err != nil {
		return nil, joinProblems(s.collect(err, file))
	}
	return &c, nil
}

func (c *Config) setDefaults(dir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	if c.StateDir == "" {
		c.StateDir = "state"
	}
	c.StateDir = abs(c.StateDir)
	if c.Instance.Count == 0 {
		c.Instance.Count = 1
	}
	fillZeros(&c.Storage, vmclient.DefaultConfig())
	p := pipeline.DefaultConfig()
	topK := c.Aggregation.TopK // preset (parse): 0 is a choice, not a gap
	fillZeros(&c.Aggregation, p.Aggregation)
	c.Aggregation.TopK = topK
	fillZeros(&c.Decode, p.Decode)
	fillZeros(&c.Batch, p.Batch)
	fillZeros(&c.Server, status.DefaultConfig())
	c.Log.File = abs(c.Log.File)
	if c.Log.SourceDir == "" {
		c.Log.SourceDir = filepath.Join(c.StateDir, "source-logs")
	}
	c.Log.SourceDir = abs(c.Log.SourceDir)
	orDefault(&c.Log.SourceMaxMB, pipeline.DefaultSourceLogMaxMB)
	orDefault(&c.Log.SourceFiles, pipeline.DefaultSourceLogFiles)
	if c.Spool.Dir == "" {
		c.Spool.Dir = filepath.Join(c.StateDir, "spool")
	}
	c.Spool.Dir = abs(c.Spool.Dir)
	fillZeros(&c.Spool, spool.DefaultConfig())
	fillZeros(&c.Sync, entitysync.DefaultConfig())
	if c.Sync.Enabled == nil {
		// On where there is AWS to ask (accounts listed, an EC2 endpoint
		// given, or an s3 source reading AWS itself, not an S3-compatible
		// server), on one instance: the others would sync the same accounts
		// again.
		aws := len(c.Sync.Accounts) > 0 || c.Sync.Endpoint != "" ||
			slices.ContainsFunc(c.Sources, func(s source.Config) bool { return s.Type == source.TypeS3 && s.Endpoint == "" })
		on := c.Instance.Index == 0 && aws
		c.Sync.Enabled = &on
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		s.Path = abs(s.Path)
		fillZeros(s, source.DefaultConfig())
		if s.OnFirstRun == "" {
			// An s3 source that deletes is left without: its first run
			// purges, which the configuration must say (check).
			switch {
			case s.Type == source.TypeDir:
				s.OnFirstRun = sourcestate.FirstRunBackfill
			case !s.Deletes():
				s.OnFirstRun = sourcestate.FirstRunSkip
			}
		}
	}
}

func (c *Config) check() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	switch {
	case c.Instance.Count < 1 || c.Instance.Index < 0 || c.Instance.Index >= c.Instance.Count:
		add(fieldError("instance", "index %d of count %d: want 0 ≤ index < count", c.Instance.Index, c.Instance.Count))
	case c.Instance.Count > ledger.MaxInstances:
		add(fieldError("instance", "count %d: at most %d collectors may share a storage", c.Instance.Count, ledger.MaxInstances))
	}
	add(checkStorage(&c.Storage))
	if c.Aggregation.TopK < 0 {
		add(fieldError("aggregation.top_k", "%d: want 0 (keep every label set) or more", c.Aggregation.TopK))
	}
	if c.Batch.MaxObjects < 1 {
		add(fieldError("batch.max_objects", "%d: want at least 1", c.Batch.MaxObjects))
	}
	if c.Batch.MaxBytes < 1 {
		add(fieldError("batch.max_bytes", "%d: want at least 1", c.Batch.MaxBytes))
	}
	if c.Batch.MaxWait < 0 {
		add(fieldError("batch.max_wait", "%v: want a positive duration", c.Batch.MaxWait))
	}
	if c.Overload.MaxLag < 0 {
		add(fieldError("overload.max_lag", "%v: want a positive duration (0 never pauses a source)", c.Overload.MaxLag))
	}
	if c.Limits.MaxSources < 0 {
		add(fieldError("limits.max_sources", "%d: want 0 (no limit) or more", c.Limits.MaxSources))
	}
	if c.Limits.MaxExporters < 0 {
		add(fieldError("limits.max_exporters", "%d: want 0 (no limit) or more", c.Limits.MaxExporters))
	}
	for _, f := range []struct {
		field string
		v     int64
	}{{"aggregation.max_object_cells", int64(c.Aggregation.MaxObjectCells)}, {"aggregation.max_learned_interfaces", int64(c.Aggregation.MaxLearnedInterfaces)},
		{"aggregation.max_learned_addresses", int64(c.Aggregation.MaxLearnedAddresses)}, {"batch.max_cells", int64(c.Batch.MaxCells)},
		{"decode.max_object_bytes", c.Decode.MaxObjectBytes}, {"decode.max_expansion", c.Decode.MaxExpansion}} {
		if f.v < 0 {
			add(fieldError(f.field, "%d: want a positive number (0 or left out: the default)", f.v))
		}
	}
	if len(c.Sources) == 0 {
		add(fieldError("sources", "none configured: add at least one"))
	}
	names := map[string]bool{}
	for i, s := range c.Sources {
		f := fmt.Sprintf("sources[%d]", i)
		switch {
		case s.Name == "":
			add(fieldError(f+".name", "required"))
		case names[s.Name]:
			add(fieldError(f+".name", "%q is used twice", s.Name))
		case strings.ContainsAny(s.Name, "/\\\x00") || s.Name == "." || s.Name == "..":
			add(fieldError(f+".name", "%q: not a file name (it names the source's spool folder and log file): no '/' or '\\', not '.' or '..'", s.Name))
		case len(s.Name) > MaxSourceName:
			add(fieldError(f+".name", "%d bytes: at most %d please", len(s.Name), MaxSourceName))
		}
		names[s.Name] = true
		switch s.Type {
		case source.TypeDir:
			if s.Path == "" {
				add(fieldError(f+".path", "required for a dir source"))
			}
			if s.Notify != nil {
				add(fieldError(f+".notify", "belongs to s3 sources: a dir source is listed"))
			}
		case source.TypeS3:
			add(checkS3(&s, f))
		case "":
			add(fieldError(f+".type", "required: s3 or dir"))
		default:
			add(fieldError(f+".type", "%q: want s3 or dir", s.Type))
		}
		switch s.OnFirstRun {
		case sourcestate.FirstRunPurge:
			if !s.Deletes() {
				add(fieldError(f+".on_first_run", "purge deletes flow logs, which a source with delete_after_ingest: false must not do: use skip or backfill"))
			}
		case sourcestate.FirstRunBackfill, sourcestate.FirstRunSkip:
		case "":
			if s.Type == source.TypeS3 {
				add(fieldError(f+".on_first_run", "required for an s3 source that deletes (delete_after_ingest, default true): "+
					"its first run purges, unread, the flow logs older than purge_older_than (%s); write on_first_run: purge to confirm, "+
					"or backfill to collect them, or skip to leave them (once the source's first run is done, the ledger remembers it "+
					"and this setting changes nothing)", sourcestate.ShortDuration(s.PurgeOlderThan)))
			}
		default:
			add(fieldError(f+".on_first_run", "%q: want purge, backfill or skip", s.OnFirstRun))
		}
		if s.PurgeOlderThan < 0 {
			add(fieldError(f+".purge_older_than", "%v: want a positive duration", s.PurgeOlderThan))
		}
		if s.Downloaders < 1 {
			add(fieldError(f+".downloaders", "%d: want at least 1", s.Downloaders))
		}
		if s.Format != "" {
			if _, err := flowlog.ParseFormat(s.Format); err != nil {
				add(fieldError(f+".format", "%v", err))
			}
		}
	}
	if c.Log.SourceMaxMB < 1 {
		add(fieldError("log.source_max_mb", "%d: want at least 1", c.Log.SourceMaxMB))
	}
	if c.Log.SourceFiles < 1 {
		add(fieldError("log.source_files", "%d: want at least 1", c.Log.SourceFiles))
	}
	if c.Spool.MaxBytes < 1 {
		add(fieldError("spool.max_bytes", "%d: want at least 1", c.Spool.MaxBytes))
	}
	add(c.checkSync())
	return errors.Join(errs...)
}

// checkSync checks the sync section.
func (c *Config) checkSync() error {
	var errs []error
	add := func(field, format string, args ...any) { errs = append(errs, fieldError(field, format, args...)) }
	s := c.Sync
	if s.Interval < entitysync.MinInterval {
		add("sync.interval", "%v: want at least %v (every sync sends requests to the EC2 API, whose request rate is limited per account)", s.Interval, entitysync.MinInterval)
	}
	if s.Timeout < 0 {
		add("sync.timeout", "%v: want a positive duration", s.Timeout)
	}
	if s.Concurrency < 0 {
		add("sync.concurrency", "%d: want at least 1", s.Concurrency)
	}
	if s.MaxAttempts < 0 {
		add("sync.max_attempts", "%d: want at least 1", s.MaxAttempts)
	}
	if s.MaxBackoff < 0 {
		add("sync.max_backoff", "%v: want a positive duration", s.MaxBackoff)
	}
	labels := map[string]string{}
	for i, k := range s.Tags {
		f := fmt.Sprintf("sync.tags[%d]", i)
		l := awssync.TagLabel(k)
		switch prev, dup := labels[l]; {
		case k == "":
			add(f, "empty tag key")
		case len(k) > awssync.MaxTagKeyBytes:
			add(f, "a tag key of %d bytes: at most %d", len(k), awssync.MaxTagKeyBytes)
		case dup:
			add(f, "%q: its label %s is also tag %q's", k, l, prev)
		}
		labels[l] = k
	}
	if err := checkEndpoint(s.Endpoint, "sync.endpoint"); err != nil {
		errs = append(errs, err)
	}
	accounts := map[string]bool{}
	for i, a := range s.Accounts {
		f := fmt.Sprintf("sync.accounts[%d]", i)
		switch {
		case a.AccountID == "":
			add(f+".account_id", "required: the account's id, 12 digits")
		case len(a.AccountID) != 12 || !flowlog.ValidString(flowlog.AccountID, []byte(a.AccountID)):
			add(f+".account_id", "%q: want 12 digits", a.AccountID)
		case accounts[a.AccountID]:
			add(f+".account_id", "%s is listed twice", a.AccountID)
		}
		accounts[a.AccountID] = true
		regions := map[string]bool{}
		for j, r := range a.Regions {
			rf := fmt.Sprintf("%s.regions[%d]", f, j)
			switch {
			case !flowlog.ValidString(flowlog.Region, []byte(r)):
				add(rf, "%q: want a region name such as us-east-1", r)
			case regions[r]:
				add(rf, "%s is listed twice", r)
			}
			regions[r] = true
		}
		errs = append(errs, checkCredentials(a.Credentials, f+".credentials")...)
		if err := checkEndpoint(a.Endpoint, f+".endpoint"); err != nil {
			errs = append(errs, err)
		}
	}
	if s.IsEnabled() && len(s.Accounts) == 0 && !slices.ContainsFunc(c.Sources, func(s source.Config) bool { return s.Type == source.TypeS3 }) {
		add("sync.enabled", "nothing to sync: no s3 source (whose flow logs and credentials give the accounts and regions) and no sync.accounts; list the accounts, or turn the sync off")
	}
	return errors.Join(errs...)
}

// checkEndpoint checks an endpoint URL (empty: none); field names it.
func checkEndpoint(endpoint, field string) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Host == "" {
		return fieldError(field, "want an http or https URL without credentials")
	}
	return nil
}

// checkS3 checks the fields of an s3 source; f is its field path.
func checkS3(s *source.Config, f string) error {
	var errs []error
	if s.Bucket == "" {
		errs = append(errs, fieldError(f+".bucket", "required for an s3 source"))
	} else if strings.ContainsAny(s.Bucket, "/ ") {
		errs = append(errs, fieldError(f+".bucket", "%q: a bucket name, without s3:// or a key", s.Bucket))
	}
	if s.Region == "" {
		errs = append(errs, fieldError(f+".region", "required for an s3 source: the bucket's region, e.g. us-east-1"))
	}
	if s.Endpoint != "" {
		u, err := url.Parse(s.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
			errs = append(errs, fieldError(f+".endpoint", "want an http or https URL without credentials"))
		}
	}
	if s.Path != "" {
		errs = append(errs, fieldError(f+".path", "belongs to dir sources; an s3 source has bucket and prefix"))
	}
	errs = append(errs, checkCredentials(s.Credentials, f+".credentials")...)
	if n := s.Notify; n != nil {
		errs = append(errs, checkNotify(n, f+".notify")...)
	}
	return errors.Join(errs...)
}

// checkNotify checks an s3 source's notify section; f is its field path.
func checkNotify(n *source.NotifyConfig, f string) []error {
	var errs []error
	if n.QueueURL == "" {
		errs = append(errs, fieldError(f+".queue_url", "required: the SQS queue's URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)"))
	} else if u, err := url.Parse(n.QueueURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		errs = append(errs, fieldError(f+".queue_url", "%q: want the queue's https URL, without credentials", n.QueueURL))
	}
	if err := checkEndpoint(n.Endpoint, f+".endpoint"); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, checkCredentials(n.Credentials, f+".credentials")...)
	if n.WaitTime < 0 || n.WaitTime > 20*time.Second || n.WaitTime%time.Second != 0 {
		errs = append(errs, fieldError(f+".wait_time", "%v: want whole seconds from 1s to 20s (0 or left out: %v)", n.WaitTime, source.DefaultNotifyWaitTime))
	}
	if n.VisibilityTimeout != 0 && (n.VisibilityTimeout < 2*time.Second || n.VisibilityTimeout > 12*time.Hour || n.VisibilityTimeout%time.Second != 0) {
		errs = append(errs, fieldError(f+".visibility_timeout", "%v: want whole seconds from 2s to 12h (0 or left out: %v)", n.VisibilityTimeout, source.DefaultNotifyVisibility))
	}
	if n.InFlightTimeout != 0 && (n.InFlightTimeout < 2*time.Second || n.InFlightTimeout > 12*time.Hour || n.InFlightTimeout%time.Second != 0 ||
		n.VisibilityTimeout != 0 && n.InFlightTimeout < n.VisibilityTimeout) {
		errs = append(errs, fieldError(f+".in_flight_timeout", "%v: want whole seconds from visibility_timeout to 12h (0 or left out: %v)", n.InFlightTimeout, source.DefaultNotifyInFlight))
	}
	if n.MaxMessages < 0 {
		errs = append(errs, fieldError(f+".max_messages", "%d: want at least 1 (0 or left out: %d)", n.MaxMessages, source.DefaultNotifyMaxMessages))
	}
	if n.Receivers < 0 || n.Receivers > 64 {
		errs = append(errs, fieldError(f+".receivers", "%d: want 1 to 64 (0 or left out: %d)", n.Receivers, source.DefaultNotifyReceivers))
	}
	return errs
}

// checkCredentials checks credentials given as a source's (f is their
// field path: sources[0].credentials, sync.accounts[0].credentials).
func checkCredentials(c source.Credentials, f string) []error {
	var errs []error
	count := func(vs ...string) int {
		n := 0
		for _, v := range vs {
			if v != "" {
				n++
			}
		}
		return n
	}
	for _, k := range []struct {
		name string
		n    int
	}{
		{"access_key_id", count(c.AccessKeyID, c.AccessKeyIDEnv, c.AccessKeyIDFile)},
		{"secret_access_key", count(c.SecretAccessKey, c.SecretAccessKeyEnv, c.SecretAccessKeyFile)},
		{"session_token", count(c.SessionToken, c.SessionTokenEnv, c.SessionTokenFile)},
	} {
		if k.n > 1 {
			errs = append(errs, fieldError(f+"."+k.name, "give one of %[1]s, %[1]s_env and %[1]s_file", k.name))
		}
	}
	hasKey := count(c.AccessKeyID, c.AccessKeyIDEnv, c.AccessKeyIDFile) > 0
	hasSecret := count(c.SecretAccessKey, c.SecretAccessKeyEnv, c.SecretAccessKeyFile) > 0
	if hasKey != hasSecret {
		errs = append(errs, fieldError(f, "access_key_id and secret_access_key go together"))
	}
	if c.ExternalID != "" && c.RoleARN == "" {
		errs = append(errs, fieldError(f+".external_id", "only with role_arn"))
	}
	if c.RoleARN != "" && !strings.HasPrefix(c.RoleARN, "arn:") {
		errs = append(errs, fieldError(f+".role_arn", "%q: want a role ARN (arn:aws:iam::ACCOUNT:role/NAME)", c.RoleARN))
	}
	return errs
}

func checkStorage(s *vmclient.Config) error {
	var errs []error
	switch {
	case s.URL != "" && (s.WriteURL != "" || s.QueryURL != ""):
		errs = append(errs, fieldError("storage", "set url (single node) or write_url and query_url (cluster), not both"))
	case s.URL == "" && s.WriteURL == "":
		errs = append(errs, fieldError("storage.url", "required (or storage.write_url and storage.query_url for a cluster)"))
	case s.WriteURL != "" && s.QueryURL == "":
		errs = append(errs, fieldError("storage.query_url", "required with storage.write_url"))
	}
	for _, f := range []struct{ field, url string }{{"storage.url", s.URL}, {"storage.write_url", s.WriteURL}, {"storage.query_url", s.QueryURL}} {
		if f.url == "" {
			continue
		}
		p, err := url.Parse(f.url)
		switch {
		case err != nil:
			errs = append(errs, fieldError(f.field, "not a URL")) // the error would repeat it, secrets and all
		case p.User != nil:
			errs = append(errs, fieldError(f.field, "credentials do not belong in the URL: use storage.username and storage.password"))
		case p.Scheme != "http" && p.Scheme != "https":
			errs = append(errs, fieldError(f.field, "%q: want an http or https URL", p.Redacted()))
		}
	}
	if s.PasswordSecret.IsSet() && s.Username == "" {
		errs = append(errs, fieldError("storage.username", "required with storage.password"))
	}
	if s.PasswordSecret.IsSet() && s.BearerTokenSecret.IsSet() {
		errs = append(errs, fieldError("storage.bearer_token", "set a password or a bearer token, not both"))
	}
	if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
		errs = append(errs, fieldError("storage.tls", "cert_file and key_file go together"))
	}
	if s.Timeout < 0 {
		errs = append(errs, fieldError("storage.timeout", "%v: want a positive duration", s.Timeout))
	}
	if s.DurableAfter < 0 {
		errs = append(errs, fieldError("storage.durable_after", "%v: want a positive duration", s.DurableAfter))
	}
	switch {
	case s.WriteURL != "" && len(s.StorageNodes) == 0:
		errs = append(errs, fieldError("storage.storage_nodes", "required with storage.write_url: the HTTP address of each vmstorage "+
			"(e.g. http://vmstorage-1:8482), whose /metrics say when acknowledged samples are saved to disk"))
	case s.URL != "" && len(s.StorageNodes) > 0:
		errs = append(errs, fieldError("storage.storage_nodes", "only for a cluster (write_url): a single node is read at storage.url"))
	}
	if len(s.InsertNodes) > 0 && s.WriteURL == "" {
		errs = append(errs, fieldError("storage.insert_nodes", "only for a cluster (write_url)"))
	}
	nodes := map[string][]string{"storage.storage_nodes": s.StorageNodes, "storage.insert_nodes": s.InsertNodes}
	for _, key := range []string{"storage.storage_nodes", "storage.insert_nodes"} {
		for i, n := range nodes[key] {
			field := fmt.Sprintf("%s[%d]", key, i)
			p, err := url.Parse(n)
			switch {
			case err != nil:
				errs = append(errs, fieldError(field, "not a URL"))
			case p.User != nil:
				errs = append(errs, fieldError(field, "credentials do not belong in the URL: use storage.username and storage.password"))
			case p.Scheme != "http" && p.Scheme != "https", p.Host == "":
				errs = append(errs, fieldError(field, "%q: want an http or https URL, e.g. http://vmstorage-1:8482", p.Redacted()))
			}
		}
	}
	return errors.Join(errs...)
}

// orDefault sets *v to def when it is the zero value: left out, or 0,
// which means the default.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// fillZeros sets each field of the struct *v that is zero (left out, or
// 0, which means the default) to def's: the defaults are the components'
// (their DefaultConfig), declared once.
func fillZeros[T any](v *T, def T) {
	dst, src := reflect.ValueOf(v).Elem(), reflect.ValueOf(def)
	for i := range dst.NumField() {
		if f := dst.Field(i); f.CanSet() && f.IsZero() {
			f.Set(src.Field(i))
		}
	}
}
